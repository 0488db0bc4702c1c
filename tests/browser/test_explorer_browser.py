"""TileExplorer in a real browser: JupyterLab on loopback, driven in headless Chromium.

The test writes a notebook, opens it in JupyterLab, runs the explorer cell and checks
the rendered grid and token text against the kernel's plan; then drags the scale
slider and the crop (and uses the keyboard), checks every number against what
js/tiles.js predicts (run separately in Node) and that the kernel's ``explorer.crop``
and ``explorer.plan`` follow. Screenshots go to artifacts/browser/. It prints the
redraw time per slider step measured in the page (a benchmark line, not asserted).

Chromium is Debian's package (``.ci/run`` installs it); Playwright is pointed at it
and never downloads a browser. A missing Chromium fails the test: it must run in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
TILES_JS = REPO / "grok_nb" / "notebook" / "js" / "tiles.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
RULE = "ceil"  # the rule under which the scale slider changes the token count
IMAGE_W, IMAGE_H = 4000, 3000

SETUP_CELL = f"""\
import json, os
import numpy as np
from PIL import Image
from grok_nb.notebook.explorer import TileExplorer

yy, xx = np.mgrid[0:{IMAGE_H}, 0:{IMAGE_W}]
checks = (xx // 250 + yy // 250) % 2 * 200
pixels = np.stack([xx * 255 // {IMAGE_W}, yy * 255 // {IMAGE_H}, checks], -1)
explorer = TileExplorer(Image.fromarray(pixels.astype("uint8")), rule="{RULE}", label="test card")
explorer"""

STATE_CELL = """\
_n = globals().get("_n", 0) + 1
print("STATE " + json.dumps({"n": _n, "crop": explorer.crop, "scale": explorer.scale,
      "plan": explorer.plan.to_dict(), "image": list(explorer.image().size),
      "mplbackend": os.environ.get("MPLBACKEND")}))"""

RESET_CELL = """\
explorer.reset()
explorer.detail = "high"
explorer.rule = "xai-guide"
"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        pytest.fail(
            "Chromium not found: install Debian's chromium package "
            "(apt-get install -y chromium; .ci/run does this) to run the browser test"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP_CELL, STATE_CELL, RESET_CELL)]
    path = folder / "explorer.ipynb"
    nbformat.write(nb, path)
    return path


@contextlib.contextmanager
def _jupyter_lab(tmp: Path) -> Iterator[tuple[str, str, Path]]:
    root = tmp / "notebooks"
    root.mkdir()
    _write_notebook(root)
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "MPLBACKEND" and not k.startswith(("JUPYTER_", "JPY_"))
    }
    for name in ("config", "data", "runtime", "ipython", "settings", "workspaces"):
        (tmp / name).mkdir()
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])]),
    )
    # no news/update toasts over the page, and no requests off the machine
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    log = (tmp / "jupyter.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={tmp / 'settings'}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            "--LabApp.news_url=",
        ],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited early:\n{(tmp / 'jupyter.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{(tmp / 'jupyter.log').read_text()}")
                time.sleep(0.3)
        yield base, token, tmp / "jupyter.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tiles(expression: str, **args: Any) -> Any:
    """Evaluate ``expression`` with js/tiles.js (as ``T``) and ``a`` = args, in Node."""
    script = (
        f"import * as T from {json.dumps(TILES_JS.as_uri())};"
        "const a = JSON.parse(process.argv[1]);"
        f"process.stdout.write(JSON.stringify({expression}));"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _expected_plan(crop: list[int], scale: float) -> dict[str, Any]:
    plan: dict[str, Any] = _tiles(
        "T.planForCrop(a.crop, a.scale, {rule: a.rule, detail: 'high'}).plan",
        crop=crop,
        scale=scale,
        rule=RULE,
    )
    return plan


def _grid_text(plan: dict[str, Any]) -> str:
    return f"{plan['grid'][0]}×{plan['grid'][1]} grid"


def _tokens_text(plan: dict[str, Any]) -> str:
    return f"{plan['tokens']:,} tokens"


class Notebook:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.runs = 0

    def wait_idle(self) -> None:
        self.page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(
            timeout=60_000
        )

    def run_cell(self, index: int) -> None:
        """Run one cell and wait until the kernel has finished it."""
        self.wait_idle()
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        prompt = cell.locator(".jp-InputArea-prompt")
        before = prompt.inner_text()
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        # the prompt goes from "[ ]:" or "[n]:" through "[*]:" to a new "[m]:"
        self.page.wait_for_function(
            "([el, before]) => { const t = el.textContent.trim();"
            " return t !== before.trim() && /\\[\\d+\\]/.test(t); }",
            arg=[prompt.element_handle(), before],
            timeout=60_000,
        )

    def kernel_state(self) -> dict[str, Any]:
        """Run the state cell and return what the kernel printed."""
        # let the widget send its last framing change first (it batches them)
        self.page.wait_for_function(
            "() => document.querySelector('.grok-tiles').dataset.syncPending !== '1'",
            timeout=10_000,
        )
        self.runs += 1
        self.run_cell(1)
        out = self.page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")
        text = out.inner_text()
        assert f'"n": {self.runs},' in text, text
        return dict(json.loads(text.split("STATE ", 1)[1]))


def _page_state(root: Any) -> dict[str, Any]:
    data = root.evaluate("el => ({...el.dataset})")
    return {
        "crop": [int(v) for v in data["crop"].split(",")],
        "scale": float(data["scale"]),
        "tokens": int(data["tokens"]),
        "grid": data["grid"],
        "kernel": data.get("kernelPlan"),
    }


def _check_page_against(root: Any, plan: dict[str, Any]) -> None:
    assert root.locator(".gt-grid").inner_text() == _grid_text(plan)
    assert root.locator(".gt-tokens").inner_text() == _tokens_text(plan)
    visible = root.locator(".gt-tile:not([hidden])")
    assert visible.count() == plan["tiles"]
    assert [visible.nth(i).inner_text() for i in range(plan["tiles"])] == [
        str(i + 1) for i in range(plan["tiles"])
    ]
    resized = f"{plan['resized'][0]:,}×{plan['resized'][1]:,} px"
    assert f"The model sees {resized}" in root.locator(".gt-resolution").inner_text()


def _wait_kernel_agrees(page: Any) -> None:
    page.wait_for_function(
        "() => document.querySelector('.grok-tiles')?.dataset.kernelPlan === 'agrees'",
        timeout=20_000,
    )


def test_explorer_in_jupyterlab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chromium = _chromium()
    # a headless backend in the test process must not leak into the notebook kernel
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    console: list[str] = []
    with _jupyter_lab(tmp_path) as (base, token, log), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=60_000)
            nb = Notebook(page)
            try:
                _drive(page, nb)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
                print("\n".join(["browser console:", *console[-40:]]))
                print("jupyter log:\n" + log.read_text()[-4000:])
                raise
        finally:
            browser.close()
    print(f"browser test took {time.monotonic() - started:.1f} s")


def _drive(page: Any, nb: Notebook) -> None:
    nb.run_cell(0)
    root = page.locator(".grok-tiles")
    root.locator(".gt-tokens").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('.grok-tiles .gt-img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=20_000,
    )

    # 1. the first render matches the kernel's own plan
    state = nb.kernel_state()
    assert state["mplbackend"] != "Agg", "the kernel inherited MPLBACKEND"
    assert state["crop"] == [0, 0, IMAGE_W, IMAGE_H] and state["scale"] == 1.0
    assert state["image"] == [IMAGE_W, IMAGE_H]
    _check_page_against(root, state["plan"])
    assert state["plan"] == _expected_plan(state["crop"], state["scale"])
    _wait_kernel_agrees(page)
    root.screenshot(path=str(ARTIFACTS / "explorer-initial.png"))

    # 2. drag the scale slider down: the tokens step down as tiles.js predicts
    before = _page_state(root)
    slider = root.locator("input.gt-scale")
    box = slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    x_start = box["x"] + box["width"] - 6  # the thumb sits at the right end (scale 1)
    x_end = box["x"] + box["width"] * 0.12
    page.mouse.move(x_start, y)
    page.mouse.down()
    steps = 120
    for i in range(1, steps + 1):
        page.mouse.move(x_start + (x_end - x_start) * i / steps, y)
    page.mouse.up()
    after = _page_state(root)
    assert after["scale"] < 0.2, after
    assert after["tokens"] < before["tokens"], (before, after)
    expected = _expected_plan(after["crop"], after["scale"])
    _check_page_against(root, expected)
    state = nb.kernel_state()
    assert state["scale"] == after["scale"]
    assert state["plan"] == expected
    assert state["image"] == [expected["width"], expected["height"]]
    _wait_kernel_agrees(page)
    root.screenshot(path=str(ARTIFACTS / "explorer-scaled.png"))
    times = root.evaluate("el => el.grokRedrawMs.slice()")
    assert len(times) >= 20, times

    # 3. drag the crop's bottom-right handle up and left, then move the crop
    page.mouse.move(x_end, y)  # keep the slider where it is
    stage = root.locator(".gt-stage").bounding_box()
    assert stage is not None
    page.locator(".gt-h-se").hover()
    handle = page.locator(".gt-h-se").bounding_box()
    assert handle is not None
    hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(hx - stage["width"] * 0.5 * i / 20, hy - stage["height"] * 0.25 * i / 20)
    page.mouse.up()
    cropped = _page_state(root)
    x0, y0, x1, y1 = cropped["crop"]
    assert (x0, y0) == (0, 0)
    assert abs(x1 - IMAGE_W * 0.5) <= IMAGE_W * 0.02, cropped
    assert abs(y1 - IMAGE_H * 0.75) <= IMAGE_H * 0.02, cropped
    expected = _expected_plan(cropped["crop"], cropped["scale"])
    _check_page_against(root, expected)
    state = nb.kernel_state()
    assert state["crop"] == cropped["crop"], "explorer.crop does not reflect the drag"
    assert state["plan"] == expected

    crop_box = root.locator(".gt-crop").bounding_box()
    assert crop_box is not None
    cx, cy = crop_box["x"] + crop_box["width"] / 2, crop_box["y"] + crop_box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(cx + stage["width"] * 0.25 * i / 10, cy + stage["height"] * 0.1 * i / 10)
    page.mouse.up()
    moved = _page_state(root)
    mx0, my0, mx1, my1 = moved["crop"]
    assert (mx1 - mx0, my1 - my0) == (x1 - x0, y1 - y0), "moving changed the crop size"
    assert abs(mx0 - IMAGE_W * 0.25) <= IMAGE_W * 0.02 and my0 > 0, moved

    # 4. keyboard: focus the crop, arrow right (1 % of the width) and shift+arrow up
    root.locator(".gt-crop").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowUp")
    keyed = _page_state(root)
    predicted = _tiles(
        "T.keyCrop(T.keyCrop(a.crop, 'ArrowRight', {}, a.w, a.h),"
        " 'ArrowUp', {shiftKey: true}, a.w, a.h)",
        crop=moved["crop"],
        w=IMAGE_W,
        h=IMAGE_H,
    )
    assert keyed["crop"] == predicted
    expected = _expected_plan(keyed["crop"], keyed["scale"])
    _check_page_against(root, expected)
    state = nb.kernel_state()
    assert state["crop"] == keyed["crop"]
    assert state["plan"] == expected
    assert state["image"] == [expected["width"], expected["height"]]
    _wait_kernel_agrees(page)
    root.screenshot(path=str(ARTIFACTS / "explorer-cropped.png"))

    # 5. the selectors: detail=low is one tile, marked as an assumption
    root.locator("select.gt-detail").select_option("low")
    low = _tiles(
        "T.planForCrop(a.crop, a.scale, {rule: a.rule, detail: 'low'}).plan",
        crop=keyed["crop"],
        scale=keyed["scale"],
        rule=RULE,
    )
    _check_page_against(root, low)
    assert "Assumption" in root.locator(".gt-assumption").inner_text()
    state = nb.kernel_state()
    assert state["plan"] == low

    # 6. the other way: framing set in Python redraws the page
    nb.run_cell(2)
    page.wait_for_function(
        "(full) => document.querySelector('.grok-tiles').dataset.crop === full",
        arg=f"0,0,{IMAGE_W},{IMAGE_H}",
        timeout=20_000,
    )
    reset = _page_state(root)
    assert reset["scale"] == 1.0
    assert root.locator("select.gt-rule").input_value() == "xai-guide"
    assert root.locator("select.gt-detail").input_value() == "high"
    default = _tiles(
        "T.plan(a.w, a.h)",
        w=IMAGE_W,
        h=IMAGE_H,
    )
    _check_page_against(root, default)
    _wait_kernel_agrees(page)

    # 7. dark theme: the widget follows JupyterLab's theme variables
    light_bg = root.evaluate("el => getComputedStyle(el).backgroundColor")
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
    page.wait_for_function(
        "(light) => getComputedStyle(document.querySelector('.grok-tiles')).backgroundColor"
        " !== light",
        arg=light_bg,
        timeout=20_000,
    )
    dark_bg = root.evaluate("el => getComputedStyle(el).backgroundColor")
    assert _luminance(dark_bg) < 0.3 < _luminance(light_bg), (light_bg, dark_bg)
    root.screenshot(path=str(ARTIFACTS / "explorer-dark.png"))

    median = statistics.median(times)
    print(
        f"\nBENCH explorer redraw per slider step (in page): median {median:.2f} ms, "
        f"p90 {sorted(times)[int(len(times) * 0.9)]:.2f} ms over {len(times)} steps "
        f"(target < 16 ms)"
    )


def _luminance(css_rgb: str) -> float:
    parts = css_rgb[css_rgb.index("(") + 1 : css_rgb.index(")")].split(",")
    r, g, b = (float(v) / 255 for v in parts[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
