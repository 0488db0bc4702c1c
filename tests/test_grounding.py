"""Where is it? Boxes end to end against the simulator, in the original image's pixels.

Each test draws solid rectangles at known pixel edges, asks ``locate`` (or the magic)
over real loopback HTTP, and checks that every returned box lands on its rectangle
within 1 px of the original. The error budget, stated honestly: a reply quantises each
coordinate to 1/1000 of the sent side, which is at most 0.5 px of an original side of
<= 1000 px (the images here are sized so); the simulator measures each edge on the
resampled image it received to a small fraction of a received pixel, which the
mapping scales back up by original/received (at most ~2.2x here, detail="low").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import grok_nb
from grok_nb.boxes import Box, Detections
from grok_nb.grounding import SCHEMA_NAME, box_schema
from grok_nb.notebook.explorer import TileExplorer
from grok_nb.simulator import boxes as sim_boxes

RED, BLUE, GREEN = (220, 30, 30), (30, 60, 220), (40, 160, 40)
ERRORS: dict[str, float] = {}  # max px error per case, printed at the end


def card(size: tuple[int, int], rects: dict[str, tuple[int, int, int, int]]) -> Image.Image:
    colours = {"red": RED, "blue": BLUE, "green": GREEN}
    a = np.full((size[1], size[0], 3), 250, np.uint8)
    for name, (x0, y0, x1, y1) in rects.items():
        a[y0:y1, x0:x1] = colours[name]
    return Image.fromarray(a)


def max_error(found: Detections, rects: dict[str, tuple[float, ...]]) -> float:
    by_label = {b.label: b for b in found}
    assert sorted(by_label) == sorted(rects), found.to_json()
    return max(
        abs(got - want)
        for name, want_box in rects.items()
        for got, want in zip(by_label[name].xyxy, want_box, strict=True)
    )


def check(case: str, found: Detections, rects: dict[str, tuple[float, ...]]) -> None:
    err = max_error(found, rects)
    ERRORS[case] = round(err, 3)
    print(f"\nACCURACY {case}: max error {err:.3f} px")
    assert err <= 1.0, (case, found.to_json())
    assert found.unusable == () and found.flagged == []


SQUARE = {"red": (53, 107, 301, 254), "blue": (409, 296, 871, 563), "green": (617, 41, 683, 97)}


@pytest.mark.parametrize(
    ("case", "size", "options"),
    [
        ("resize none", (900, 600), {"resize": "none"}),
        ("resize model, 1000 px -> 896 px", (1000, 1000), {"resize": "model"}),
        ("resize model, ceil rule", (1000, 1000), {"resize": "model", "tile_rule": "ceil"}),
        ("resize model, detail low -> 448 px", (1000, 700), {"resize": "model", "detail": "low"}),
    ],
)
def test_boxes_land_on_the_rectangles_through_each_resize(
    sim: Any, case: str, size: tuple[int, int], options: dict[str, Any]
) -> None:
    found = grok_nb.locate(["red square", "blue bar", "green dot"], card(size, SQUARE), **options)
    ref = found.images[0]
    assert ref.size == size
    if options["resize"] == "model":
        assert ref.sent_size is not None and ref.sent_size[0] < size[0], ref  # really resized
    named = dict(zip(["red square", "blue bar", "green dot"], SQUARE.values(), strict=True))
    check(case, found, named)
    assert isinstance(found[0], Box) and len(found) == 3


def test_boxes_map_back_through_an_explorer_crop_and_scale(sim: Any) -> None:
    rects = {
        "red": (451, 383, 707, 569),
        "blue": (903, 641, 1257, 1111),
        "green": (101, 99, 203, 197),
    }
    original = card((1600, 1200), rects)
    ex = TileExplorer(original, crop=(300, 200, 1300, 1000), scale=0.6)
    assert ex.framed_size == (600, 480)
    found = grok_nb.locate(["red", "blue", "green"], ex)
    assert found.images[0].size == (1600, 1200)  # boxes are in the explorer's original
    # green lies outside the crop: the model never saw it. Blue crosses the crop's
    # bottom edge (y 1000): the part that was sent ends there.
    check("explorer crop (300,200)-(1300,1000), scale 0.6", found,
          {"red": rects["red"], "blue": (903, 641, 1257, 1000)})  # fmt: skip
    assert found.original().size == (1600, 1200)
    red = next(i for i, b in enumerate(found) if b.label == "red")
    assert found.crop(red).size in {(w, h) for w in (256, 257, 258) for h in (186, 187, 188)}


def test_a_box_cut_by_the_crop_ends_at_the_crop_edge(sim: Any) -> None:
    original = card((1200, 900), {"red": (101, 97, 403, 301), "blue": (703, 499, 1100, 850)})
    ex = TileExplorer(original, crop=(0, 0, 900, 700), scale=1.0)
    found = grok_nb.locate(["red", "blue"], ex)
    check("explorer crop cutting a box", found,
          {"red": (101, 97, 403, 301), "blue": (703, 499, 900, 700)})  # fmt: skip


def _stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    # the stored pixels that EXIF ``orientation`` turns into ``upright`` when displayed
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
            8: Image.Transpose.ROTATE_270}[orientation]  # fmt: skip
    return upright.transpose(undo)


@pytest.mark.parametrize(("fmt", "orientation"), [("PNG", 6), ("JPEG", 8), ("JPEG", 3)])
def test_boxes_are_in_the_upright_image_of_an_exif_rotated_photo(
    sim: Any, tmp_path: Path, fmt: str, orientation: int
) -> None:
    rects = {"red": (61, 503, 307, 911), "blue": (401, 83, 653, 337)}
    upright = card((700, 1000), rects)
    stored = _stored_for_orientation(upright, orientation)
    assert stored.size == ((1000, 700) if orientation != 3 else (700, 1000))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"rotated.{fmt.lower()}"
    extra = {"quality": 95, "subsampling": 0} if fmt == "JPEG" else {}
    stored.save(path, format=fmt, exif=exif, **extra)
    found = grok_nb.locate(["red", "blue"], str(path))
    assert found.images[0].size == (700, 1000)  # upright: what the photo looks like
    check(f"EXIF orientation {orientation} ({fmt})", found, rects)
    assert found.original().size == (700, 1000)


def test_the_magic_boxes_option_gives_answer_boxes(sim: Any) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "grok_nb")
    shell.user_ns["shapes"] = card((900, 600), SQUARE)
    with capture_output() as captured:
        shell.run_cell_magic(
            "grokvision", "shapes --boxes -o where", "the red square and the blue bar"
        )
    answer = shell.user_ns["where"]
    assert isinstance(answer.boxes, Detections)
    assert max_error(answer.boxes, SQUARE) <= 1.0
    drawn = [o.data for o in captured.outputs if "image/png" in o.data]
    assert drawn and "3 boxes in original pixels" in drawn[-1]["text/plain"]
    request = answer.request["response_format"]["json_schema"]
    assert request["name"] == SCHEMA_NAME


def test_a_cached_box_answer_gives_the_same_boxes(sim: Any) -> None:
    img = card((900, 600), SQUARE)
    first = grok_nb.locate("coloured shapes", img)
    again = grok_nb.locate("coloured shapes", img)
    assert again.answer.cached and not first.answer.cached
    assert again.boxes == first.boxes


def test_the_simulator_and_the_client_agree_on_the_schema_name() -> None:
    assert sim_boxes.SCHEMA_NAME == SCHEMA_NAME
    fmt = {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "schema": box_schema()}}
    assert sim_boxes.is_box_request(fmt)
    assert not sim_boxes.is_box_request({"type": "json_schema", "json_schema": {"name": "x"}})


def test_a_bad_reply_over_the_wire_is_read_never_crashes(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = (
        '{"boxes": [{"label": "red", "box": [300, 200, 100, 50]},'
        ' {"label": "blue", "box": [-20, 500, 1200, 900]},'
        ' {"label": "ghost", "box": [1100, 1100, 1200, 1200]},'
        ' {"box": [1, 2, 3, 4]}, {"label": "half", "box": [1, 2]}, "nonsense"]}'
    )
    monkeypatch.setattr(sim_boxes, "box_answer", lambda chat: reply)
    monkeypatch.setattr("grok_nb.simulator.respond.box_answer", lambda chat: reply)
    found = grok_nb.locate("anything", card((1000, 500), {}), cache="off")
    assert [b.label for b in found] == ["red", "blue"]
    red, blue = found
    assert red.xyxy == (100, 25, 300, 100) and set(red.flags) == {
        "x corners swapped",
        "y corners swapped",
    }
    assert blue.xyxy == (0, 250, 1000, 450) and blue.flags == ("clipped to the image",)
    reasons = [u.reason for u in found.unusable]
    assert reasons == [
        "the box is empty (outside the image)",
        "no label",
        "the box is not four numbers [x0, y0, x1, y1]",
        "not an object with a label and a box",
    ]
    assert "2 repaired, 4 unusable entries" in found._repr_mimebundle_()["text/plain"]


def test_print_accuracy_table() -> None:
    # last in the file: a summary line per case for the log (not an assertion)
    for case, err in ERRORS.items():
        print(f"ACCURACY {case}: {err} px")
