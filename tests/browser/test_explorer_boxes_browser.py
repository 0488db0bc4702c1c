"""The explorer's boxes layer in a real browser: JupyterLab on loopback, headless Chromium.

The kernel starts a simulator, frames an image in a ``TileExplorer``, asks
``grok_nb.locate`` about the framing and hands the boxes to ``explorer.boxes``. The page
must draw each box where it is in the original image, describe it on hover, and hide
the layer when its toggle is unticked — and the kernel must hear of the toggle.
JupyterLab and the page are driven by the helpers of ``test_explorer_browser``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from test_explorer_browser import ARTIFACTS, CHROMIUM_ARGS, Notebook, _chromium, _jupyter_lab

pytestmark = pytest.mark.browser

W, H = 1200, 800
RECTS = {"red": (100, 150, 500, 450), "blue": (700, 300, 1100, 700)}

SETUP_CELL = f"""\
import json, os
import numpy as np
from PIL import Image
import grok_nb
from grok_nb import simulator
from grok_nb.notebook.explorer import TileExplorer

_serving = simulator.serve()
sim = _serving.__enter__()
os.environ["XAI_BASE_URL"] = sim.base_url
os.environ["XAI_API_KEY"] = "xai-browser-boxes-test"
pixels = np.full(({H}, {W}, 3), 250, np.uint8)
pixels[150:450, 100:500] = (220, 30, 30)
pixels[300:700, 700:1100] = (30, 60, 220)
explorer = TileExplorer(Image.fromarray(pixels), label="shapes", crop=(50, 100, 1150, 750))
found = grok_nb.locate(["red", "blue"], explorer)
explorer.boxes = found
explorer"""

STATE_CELL = """\
_n = globals().get("_n", 0) + 1
print("STATE " + json.dumps({"n": _n, "boxes": explorer.boxes, "show": explorer.show_boxes}))"""


def _write(folder: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP_CELL, STATE_CELL)]
    nbformat.write(nb, folder / "boxes.ipynb")


def test_explorer_boxes_layer_in_jupyterlab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = _chromium()
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the helpers keep it out of the kernel
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    console: list[str] = []
    with _jupyter_lab(tmp_path) as (base, token, log), sync_playwright() as p:
        _write(tmp_path / "notebooks")
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto(f"{base}/lab/tree/boxes.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=60_000)
            try:
                _drive(page, Notebook(page))
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "boxes-failure.png"), full_page=True)
                print("\n".join(["browser console:", *console[-40:]]))
                print("jupyter log:\n" + log.read_text()[-4000:])
                raise
        finally:
            browser.close()
    print(f"boxes browser test took {time.monotonic() - started:.1f} s")


def _drive(page: Any, nb: Notebook) -> None:
    nb.run_cell(0)
    root = page.locator(".grok-tiles")
    page.wait_for_function(
        "() => document.querySelectorAll('.grok-tiles .gt-box').length === 2", timeout=60_000
    )

    # 1. the kernel's boxes are the drawn rectangles, in the original's pixels
    state = nb.kernel_state()
    assert state["show"] is True
    by_label = {b["label"]: b for b in state["boxes"]}
    assert sorted(by_label) == ["blue", "red"]
    for name, want in RECTS.items():
        got = by_label[name]["box"]
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 1.0, (name, got)
    assert root.evaluate("el => el.dataset.boxes") == "2"

    # 2. each box is drawn where it is in the image (the stage shows the whole original)
    stage = root.locator(".gt-stage").bounding_box()
    assert stage is not None
    sx, sy = stage["width"] / W, stage["height"] / H
    nodes = root.locator(".gt-box")
    for i in range(2):
        node = nodes.nth(i)
        box = state["boxes"][i]["box"]
        rect = node.bounding_box()
        assert rect is not None
        left, top = rect["x"] - stage["x"], rect["y"] - stage["y"]
        drawn = [left, top, left + rect["width"], top + rect["height"]]
        want = [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy]
        assert max(abs(d - w) for d, w in zip(drawn, want, strict=True)) <= 1.5, (drawn, want)
        assert node.locator(".gt-box-label").inner_text() == state["boxes"][i]["label"]
        colour = node.evaluate("el => getComputedStyle(el).borderTopColor")
        hexed = state["boxes"][i]["colour"]
        assert colour == "rgb({}, {}, {})".format(*(int(hexed[k : k + 2], 16) for k in (1, 3, 5)))
    root.screenshot(path=str(ARTIFACTS / "explorer-boxes.png"))

    # 3. hovering a box highlights and describes it
    root.locator(".gt-stage").scroll_into_view_if_needed()
    stage = root.locator(".gt-stage").bounding_box()
    assert stage is not None
    red = next(i for i, b in enumerate(state["boxes"]) if b["label"] == "red")
    x0, y0, x1, y1 = state["boxes"][red]["box"]
    page.mouse.move(stage["x"] + (x0 + x1) / 2 * sx, stage["y"] + (y0 + y1) / 2 * sy)
    page.wait_for_function(
        "(i) => document.querySelector('.grok-tiles').dataset.hoveredBox === String(i)",
        arg=red,
        timeout=10_000,
    )
    assert root.locator(".gt-box-info").inner_text().startswith("red · ")
    assert "gt-hover" in (nodes.nth(red).get_attribute("class") or "")
    page.mouse.move(stage["x"] + 5, stage["y"] + stage["height"] - 5)  # over no box
    page.wait_for_function(
        "() => document.querySelector('.grok-tiles').dataset.hoveredBox === '-1'", timeout=10_000
    )
    assert root.locator(".gt-box-info").inner_text() == ""

    # 4. the toggle hides the layer, and the kernel hears of it
    root.locator("input.gt-boxes-toggle").click()
    page.wait_for_function(
        "() => document.querySelector('.grok-tiles').dataset.boxes === '0'", timeout=10_000
    )
    assert root.locator(".gt-boxes").is_hidden()
    assert nb.kernel_state()["show"] is False
    root.locator("input.gt-boxes-toggle").click()
    page.wait_for_function(
        "() => document.querySelector('.grok-tiles').dataset.boxes === '2'", timeout=10_000
    )
    assert nb.kernel_state()["show"] is True
