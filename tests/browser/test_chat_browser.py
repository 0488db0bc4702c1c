"""The chat panel in a real browser: JupyterLab on loopback, driven in headless Chromium.

A kernel cell starts the simulator (streaming slowly: ``tokens_per_s``) and shows a
``Chat``. The test drops a file (a ``DataTransfer`` drop event) and pastes an image (a
``ClipboardEvent``) while the kernel is busy running ``time.sleep``, so the tile grids
and the estimate it then sees were computed in the browser with no kernel message;
checks each grid against js/tiles.js run in Node, and the kernel's own plans once it is
free; types, sends with Enter, watches the answer stream in with its footer; then sends
again and presses Stop mid-stream, and checks the kernel kept exactly the text shown.

The JupyterLab and Chromium set-up is the explorer test's (``test_explorer_browser``).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_explorer_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    Notebook,
    _chromium,
    _jupyter_lab,
    _tiles,
)

pytestmark = pytest.mark.browser

SETUP_CELL = """\
import json, os, time
import grok_nb
from grok_nb import simulator
sim = simulator.Simulator(tokens_per_s={tokens_per_s})
sim.start()
os.environ["XAI_BASE_URL"] = sim.base_url
os.environ["XAI_API_KEY"] = "xai-browser-test-key"
chat = grok_nb.Chat(cache="off")
chat"""

BUSY_CELL = "time.sleep(4)"

STATE_CELL = """\
_n = globals().get("_n", 0) + 1
print("STATE " + json.dumps({"n": _n, "pending": [[p["name"], p["width"], p["height"],
      p["tokens"]] for p in chat.pending], "transcript": [[e["status"], e["answer"],
      e["footer"]] for e in chat.transcript], "requests": len(sim.requests)}))"""

# a PNG made in the page, dropped or pasted as a File
MAKE_FILE = """
async ([w, h, name]) => {
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const g = c.getContext("2d");
  g.fillStyle = "#2a7"; g.fillRect(0, 0, w, h);
  g.fillStyle = "#fff"; g.fillRect(w / 4, h / 4, w / 2, h / 2);
  const blob = await new Promise((r) => c.toBlob(r, "image/png"));
  window.__grokFile = new File([blob], name, { type: "image/png" });
}"""

DROP = """
() => {
  const dt = new DataTransfer();
  dt.items.add(window.__grokFile);
  const root = document.querySelector(".grok-chat");
  const init = { dataTransfer: dt, bubbles: true, cancelable: true };
  root.dispatchEvent(new DragEvent("dragover", init));
  root.dispatchEvent(new DragEvent("drop", init));
}"""

PASTE = """
() => {
  const dt = new DataTransfer();
  dt.items.add(window.__grokFile);
  const input = document.querySelector(".grok-chat .gc-input");
  const init = { clipboardData: dt, bubbles: true, cancelable: true };
  input.dispatchEvent(new ClipboardEvent("paste", init));
}"""

# one keystroke's worth of input, and the estimate read back in the same task: if it
# changed, nothing asynchronous (let alone the kernel) was involved
TYPE_AND_READ = """
(ch) => {
  const input = document.querySelector(".grok-chat .gc-input");
  const before = Number(document.querySelector(".grok-chat").dataset.estimateTokens);
  input.value += ch;
  const init = { bubbles: true, data: ch, inputType: "insertText" };
  input.dispatchEvent(new InputEvent("input", init));
  return [before, Number(document.querySelector(".grok-chat").dataset.estimateTokens)];
}"""


def write_notebook(folder: Path, tokens_per_s: float, extra: list[str] = ()) -> str:  # type: ignore[assignment]
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = [SETUP_CELL.format(tokens_per_s=tokens_per_s), BUSY_CELL, STATE_CELL, *extra]
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, folder / "chat.ipynb")
    return "chat.ipynb"


@contextlib.contextmanager
def chat_page(
    tmp: Path, tokens_per_s: float, extra: list[str] = ()
) -> Iterator[tuple[Any, Notebook]]:  # type: ignore[assignment]
    """JupyterLab with chat.ipynb open in Chromium, its chat cell run and the panel shown."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with _jupyter_lab(tmp) as (base, token, log), sync_playwright() as p:
        name = write_notebook(tmp / "notebooks", tokens_per_s, extra)
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1300})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto(f"{base}/lab/tree/{name}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=60_000)
            nb = Notebook(page)
            try:
                nb.run_cell(0)
                page.locator(".grok-chat .gc-estimate").wait_for(timeout=60_000)
                yield page, nb
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "chat-failure.png"), full_page=True)
                print("\n".join(["browser console:", *console[-40:]]))
                print("jupyter log:\n" + log.read_text()[-4000:])
                raise
        finally:
            browser.close()


def start_cell(page: Any, index: int) -> None:
    """Run a cell without waiting for it (the kernel stays busy)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "(el) => el.textContent.includes('*')",
        arg=cell.locator(".jp-InputArea-prompt").element_handle(),
        timeout=10_000,
    )


def kernel_busy(page: Any) -> bool:
    prompt = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputArea-prompt")
    return "*" in prompt.inner_text()


def kernel_state(page: Any, nb: Notebook) -> dict[str, Any]:
    nb.runs += 1
    nb.run_cell(2)
    text = (
        page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output").inner_text()
    )
    assert f'"n": {nb.runs},' in text, text
    return dict(json.loads(text.split("STATE ", 1)[1]))


def cards(page: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = page.eval_on_selector_all(
        ".grok-chat .gc-card", "els => els.map(e => ({...e.dataset}))"
    )
    return found


def dataset(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.eval_on_selector(".grok-chat", "el => ({...el.dataset})")
    return found


def test_chat_in_jupyterlab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    started = time.monotonic()
    with chat_page(tmp_path, tokens_per_s=20) as (page, nb):
        root = page.locator(".grok-chat")
        empty = int(dataset(page)["estimateTokens"])

        # 1. drop a file and paste an image while the kernel is busy: grids and the
        # estimate come from the browser alone
        start_cell(page, 1)
        page.evaluate(MAKE_FILE, [1600, 900, "dropped.png"])
        page.evaluate(DROP)
        page.wait_for_function(
            "() => document.querySelectorAll('.grok-chat .gc-card[data-grid]').length === 1"
        )
        page.evaluate(MAKE_FILE, [300, 1200, "image.png"])  # a clipboard image's usual name
        page.evaluate(PASTE)
        page.wait_for_function(
            "() => document.querySelectorAll('.grok-chat .gc-card[data-grid]').length === 2"
        )
        assert kernel_busy(page), "the kernel answered before the browser drew: nothing proved"
        shown = cards(page)
        expected = [_tiles("T.plan(a.w, a.h, {rule: a.rule})", w=w, h=h, rule="xai-guide")
                    for w, h in [(1600, 900), (300, 1200)]]  # fmt: skip
        assert [c["grid"] for c in shown] == [f"{e['grid'][0]}x{e['grid'][1]}" for e in expected]
        assert [int(c["tokens"]) for c in shown] == [e["tokens"] for e in expected]
        assert int(dataset(page)["imageTokens"]) == sum(e["tokens"] for e in expected)
        assert int(dataset(page)["estimateTokens"]) == empty + sum(e["tokens"] for e in expected)
        assert root.locator(".gc-tile").count() == sum(e["tiles"] for e in expected)
        assert "pasted image" in root.locator(".gc-card figcaption").nth(1).inner_text()

        # 2. typing moves the estimate at once, in the same task as the keystroke
        steps = [page.evaluate(TYPE_AND_READ, ch) for ch in "What is in these two?"]
        # a token per four characters: the 1st and 5th keystrokes each add one
        assert [after - before for before, after in steps[:6]] == [1, 0, 0, 0, 1, 0]
        assert all(after >= before for before, after in steps)
        assert kernel_busy(page)

        # 3. once free, the kernel has the bytes and agrees with every plan
        nb.wait_idle()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.grok-chat .gc-card')]"
            ".every(c => c.dataset.kernelTokens === c.dataset.tokens)",
            timeout=20_000,
        )
        state = kernel_state(page, nb)
        assert state["pending"][0][:3] == ["dropped.png", 1600, 900]
        assert state["pending"][1][0].startswith("pasted image ")
        assert state["pending"][1][1:3] == [300, 1200]

        # 4. Enter sends; the answer streams in, then the footer
        page.locator(".grok-chat .gc-input").press("Enter")
        page.wait_for_function(
            "() => Number(document.querySelector('.grok-chat').dataset.deltas || 0) >= 3"
        )
        assert root.locator(".gc-assistant[data-status=streaming]").count() == 1
        assert dataset(page)["streaming"] == "1"
        page.locator(".grok-chat .gc-assistant[data-status=done] .gc-footer").wait_for(
            timeout=60_000
        )
        footer = root.locator(".gc-assistant .gc-footer").first.inner_text()
        assert "image tokens" in footer and "billed" in footer
        assert root.locator(".gc-card").count() == 0
        assert "Total $" in root.locator(".gc-total").inner_text()

        # 5. Stop mid-stream keeps the partial text, in the panel and in the kernel
        before = int(dataset(page)["deltas"])
        root.locator(".gc-input").fill("Tell me more.")
        page.locator(".grok-chat .gc-input").press("Enter")
        page.wait_for_function(
            "(n) => Number(document.querySelector('.grok-chat').dataset.deltas) >= n + 3",
            arg=before,
            timeout=60_000,
        )
        root.locator(".gc-stop").click()
        stopped = root.locator(".gc-assistant[data-status=stopped]")
        stopped.wait_for(timeout=30_000)
        assert "interrupted" in stopped.locator(".gc-footer").inner_text()
        state = kernel_state(page, nb)
        (status, answer, kernel_footer) = state["transcript"][-1]
        assert status == "stopped" and 0 < len(answer) < len(state["transcript"][0][1])
        shown_text = stopped.locator(".gc-answer").inner_text()
        assert shown_text.replace("*", "").split() == answer.replace("*", "").split()
        assert kernel_footer == stopped.locator(".gc-footer").inner_text()
        times = page.evaluate("() => document.querySelector('.grok-chat').grokEstimateMs")
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    print(
        f"chat estimate update: median {statistics.median(times):.3f} ms over {len(times)} "
        f"updates; browser test took {time.monotonic() - started:.1f} s"
    )
