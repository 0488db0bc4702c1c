"""Preparation notes reach the notebook, under the thumbnail strip; counts read well."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from grok_nb import tiles
from grok_nb.render import plural, thumbnails_mimebundle


def test_plural() -> None:
    assert plural(1, "call") == "1 call"
    assert plural(2, "call") == "2 calls"
    assert plural(1, "cost mismatch", "cost mismatches") == "1 cost mismatch"
    assert plural(3, "cost mismatch", "cost mismatches") == "3 cost mismatches"
    assert plural(1_792, "token") == "1,792 tokens"


def test_notes_show_under_the_strip_in_html_and_plain_text() -> None:
    plan = tiles(Image.new("RGB", (640, 480), "white"))
    bundle = thumbnails_mimebundle([plan], notes=[("anim.gif", ["used frame 1 of 3"])])
    assert "note: used frame 1 of 3" in bundle["text/plain"]
    assert "<li>used frame 1 of 3</li>" in bundle["text/html"]
    assert "font-size:11px" in bundle["text/html"]
    two = thumbnails_mimebundle(
        [plan, plan], notes=[("a.gif", ["used frame 1 of 3"]), ("b.png", ["no ICC profile"])]
    )
    assert "note: a.gif: used frame 1 of 3" in two["text/plain"]
    assert "b.png: no ICC profile" in two["text/html"]
    assert "2 images · " in two["text/plain"]
    plain = thumbnails_mimebundle([plan], notes=[("x", [])])
    assert "note:" not in plain["text/plain"] and "image/png" in plain


def test_an_animation_note_reaches_the_magics_output(
    tmp_path: Path, monkeypatch: Any, sim: Any
) -> None:
    frames = [Image.new("RGB", (64, 48), c) for c in ("red", "green", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    with capture_output() as captured:
        ip.run_cell_magic("grokvision", f"{path} --dry-run", "What is this?")
    strip = next(o.data for o in captured.outputs if "text/html" in o.data)
    assert "frame" in strip["text/plain"] and "note:" in strip["text/plain"]
    assert "frame" in strip["text/html"]
