"""``Detections`` as values: reading replies, exports, crops, and the drawing, pixel-wise."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
import types
from typing import Any

import pytest
from PIL import Image

from grok_nb.answer import Answer
from grok_nb.boxes import PALETTE, Box, Detections, Frame, ImageRef, boxes_overlay, label_colours
from grok_nb.grounding import attach_boxes, box_prompt, box_schema, read_entry
from grok_nb.notebook.explorer import TileExplorer, boxes_to_json

GREY = (128, 128, 128)
NOT_NUMBERS = "the box holds something other than finite numbers"


def ref(size: tuple[int, int] = (200, 100), **kwargs: Any) -> ImageRef:
    image = Image.new("RGB", size, GREY)
    return ImageRef("test", size, kwargs.pop("source_size", size), load=lambda: image, **kwargs)


def detections(reply: str, refs: list[ImageRef | None] | None = None) -> Detections:
    return attach_boxes(Answer(text=reply, finish_reason="stop"), refs or [ref()])


def test_a_reply_maps_from_0_1000_to_original_pixels() -> None:
    found = detections('{"boxes": [{"label": "cat", "box": [100, 200, 600, 800], "score": 0.9}]}')
    assert found[0] == Box("cat", 20, 20, 120, 80, score=0.9, normalised=(100, 200, 600, 800))
    assert found.answer.boxes is found and found.answer.parsed["boxes"][0]["label"] == "cat"


def test_a_frame_maps_a_crop_and_scale_back_into_the_original() -> None:
    # a 100x50 framing that is the crop (40, 20)-(240, 120) of a 400x300 image, halved
    frame = Frame((40, 20), (2.0, 2.0), (400, 300))
    r = ImageRef("framed", (400, 300), (100, 50), frame=frame)
    box = read_entry({"label": "x", "box": [0, 0, 1000, 1000]}, [r])
    assert isinstance(box, Box) and box.xyxy == (40, 20, 240, 120)
    assert r.bounds == (40, 20, 240, 120)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("a string", "not an object with a label and a box"),
        ({"box": [1, 2, 3, 4]}, "no label"),
        ({"label": "  ", "box": [1, 2, 3, 4]}, "no label"),
        ({"label": "a", "box": [1, 2, 3]}, "the box is not four numbers [x0, y0, x1, y1]"),
        ({"label": "a", "box": "1,2,3,4"}, "the box is not four numbers [x0, y0, x1, y1]"),
        ({"label": "a", "box": [1, 2, "3", 4]}, NOT_NUMBERS),
        ({"label": "a", "box": [1, 2, float("nan"), 4]}, NOT_NUMBERS),
        ({"label": "a", "box": [1, 2, True, 4]}, NOT_NUMBERS),
        ({"label": "a", "box": [5, 5, 5, 9]}, "the box is empty (no area)"),
        ({"label": "a", "box": [-50, 5, -10, 9]}, "the box is empty (outside the image)"),
        ({"label": "a", "box": [1, 2, 3, 4], "image": 2}, "image 2: the call had 1 image(s)"),
    ],
)  # fmt: skip
def test_malformed_entries_are_listed_as_unusable_with_the_reason(entry: Any, reason: str) -> None:
    found = detections(json.dumps({"boxes": [entry, {"label": "ok", "box": [0, 0, 10, 10]}]}))
    assert [b.label for b in found] == ["ok"]
    [bad] = found.unusable
    assert (json.dumps(bad.entry), bad.reason) == (json.dumps(entry), reason)  # NaN != NaN


def test_repairs_are_flagged_on_the_box() -> None:
    found = detections(
        '{"boxes": [{"label": "a", "box": [900, 10, 100, 20], "score": 1.5},'
        ' {"label": "b", "x0": 10, "y0": 950, "x1": 1100, "y1": 1001, "score": "high"}]}'
    )
    a, b = found
    assert a.xyxy == (20, 1, 180, 2) and a.flags == (
        "x corners swapped",
        "score 1.5 clipped to 0..1",
    )
    assert a.score == 1.0
    assert b.xyxy == (2, 95, 200, 100) and b.score is None
    assert b.flags == ("clipped to the image", "score 'high' ignored (not a number)")
    assert found.flagged == [a, b]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I think the cat is on the left.", "the answer is not JSON"),
        ('{"boxes": [{"label": "a"', "the answer is not JSON"),
        ('{"objects": []}', 'the answer is JSON but has no "boxes" list'),
    ],
)
def test_an_answer_that_is_not_boxes_is_kept_as_unusable(text: str, reason: str) -> None:
    found = detections(text)
    assert len(found) == 0
    [bad] = found.unusable
    assert bad.reason.startswith(reason) and bad.entry == text
    assert "unusable" in found._repr_mimebundle_()["text/plain"]


def test_a_cut_off_answer_says_so() -> None:
    answer = Answer(text='{"boxes": [{"la', finish_reason="length")
    found = attach_boxes(answer, [ref()])
    assert "cut off: finish_reason 'length'" in found.unusable[0].reason


def test_fenced_json_and_a_bare_list_are_read() -> None:
    assert len(detections('```json\n{"boxes": [{"label": "a", "box": [0, 0, 9, 9]}]}\n```')) == 1
    assert len(detections('[{"label": "a", "box": [0, 0, 9, 9]}]')) == 1


def test_a_url_that_was_not_fetched_gives_unusable_boxes() -> None:
    found = detections('{"boxes": [{"label": "a", "box": [0, 0, 9, 9]}]}', [None])
    assert found.unusable[0].reason.startswith("image 1 was a URL passed through")


def test_exports_frame_json_coco() -> None:
    found = detections(
        '{"boxes": [{"label": "cat", "box": [100, 200, 600, 800], "score": 0.9},'
        ' {"label": "dog", "box": [0, 0, 500, 500], "note": "brown"},'
        ' {"label": "cat", "box": [700, 0, 800, 100]}]}'
    )
    frame = found.to_frame()
    assert list(frame.columns) == [
        "label",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "note",
        "image",
        "flags",
    ]
    assert frame["label"].tolist() == ["cat", "dog", "cat"] and frame.loc[0, "x1"] == 120
    doc = json.loads(found.to_json())
    assert doc["images"] == [{"label": "test", "width": 200, "height": 100}]
    assert doc["boxes"][1]["note"] == "brown" and doc["unusable"] == []
    coco = found.to_coco()
    assert coco["categories"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    assert coco["annotations"][0] == {
        "id": 1, "image_id": 1, "category_id": 1, "bbox": [20.0, 20.0, 100.0, 60.0],
        "area": 6000.0, "iscrowd": 0, "score": 0.9,
    }  # fmt: skip
    assert coco["images"][0]["width"] == 200


def test_crop_gives_the_region_of_the_original_for_a_follow_up() -> None:
    image = Image.new("RGB", (200, 100), GREY)
    image.putpixel((20, 20), (255, 0, 0))
    r = ImageRef("test", (200, 100), (200, 100), load=lambda: image)
    found = attach_boxes(Answer(text='[{"label": "a", "box": [101, 201, 599, 799]}]'), [r])
    crop = found.crop(0)
    assert crop.size == (100, 60) and crop.getpixel((0, 0)) == (255, 0, 0)
    assert found.crop(0, pad=5).size == (110, 70)


def test_to_supervision_without_supervision_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "supervision", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install supervision"):
        detections('[{"label": "a", "box": [0, 0, 9, 9]}]').to_supervision()


class _StandInDetections:
    """supervision.Detections' constructor, as documented (xyxy, confidence, class_id,
    data): supervision is optional and not installed in the test environment."""

    def __init__(self, xyxy: Any, confidence: Any, class_id: Any, data: Any) -> None:
        self.xyxy, self.confidence, self.class_id, self.data = xyxy, confidence, class_id, data


def test_to_supervision(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec("supervision") is not None
    if not real:
        monkeypatch.setitem(
            sys.modules, "supervision", types.SimpleNamespace(Detections=_StandInDetections)
        )
    sv = detections('[{"label": "a", "box": [0, 0, 500, 500], "score": 0.5}]').to_supervision()
    assert sv.xyxy.tolist() == [[0, 0, 100, 50]] and sv.data["class_name"].tolist() == ["a"]
    assert sv.class_id.tolist() == [0] and sv.confidence.tolist() == [0.5]


# --- drawing ------------------------------------------------------------------------


def test_the_drawing_outlines_each_box_in_its_labels_colour_pixel_for_pixel() -> None:
    image = Image.new("RGB", (400, 300), GREY)
    boxes = [Box("cat", 100, 120, 300, 260), Box("dog", 20, 5, 80, 60, score=0.5)]
    colours = label_colours(["cat", "dog"])
    out = boxes_overlay(image, boxes, colours)
    assert out.size == (400, 300)
    cat, dog = colours["cat"], colours["dog"]
    width = 2  # min(300, 400) / 160, rounded, at least 2
    # the outline runs along the box's own edge pixels, in the label's colour
    for x, y in [(100, 200), (101, 200), (299, 200), (298, 200), (200, 259), (200, 258)]:
        assert out.getpixel((x, y)) == cat, (x, y)
    # a contrasting hairline either side of it (white for the dark blue, black for orange)
    assert out.getpixel((99, 200)) == (255, 255, 255) == out.getpixel((100 + width, 200))
    # inside and outside the box, the image is untouched
    assert out.getpixel((200, 200)) == GREY and out.getpixel((350, 200)) == GREY
    # the label chip sits above the box, filled with the colour; text in the contrast ink
    assert {out.getpixel((x, y)) for x in (100, 101) for y in range(108, 120)} == {cat}
    chip = [out.getpixel((x, y)) for x in range(100, 120) for y in range(108, 119)]
    assert GREY not in chip and cat in chip
    assert max(sum(c) for c in chip) > sum(cat) + 150  # white (anti-aliased) ink on the chip
    assert out.getpixel((99, 107)) == GREY  # and nothing beyond it
    # no room above the dog's box: its chip goes just inside, with black ink on orange
    assert dog == PALETTE[1] and out.getpixel((20, 30)) == dog
    inside = [out.getpixel((x, y)) for x in range(22, 60) for y in range(7, 22)]
    assert (0, 0, 0) in inside and dog in inside
    assert image.getpixel((100, 200)) == GREY  # the original is never drawn on


def test_the_drawing_can_show_the_tile_grid_underneath_and_scale_down() -> None:
    image = Image.new("RGB", (800, 400), GREY)
    out = boxes_overlay(image, [], {}, tiles=[(0, 0, 400, 400), (400, 0, 800, 400)], display_px=400)
    assert out.size == (400, 200)
    assert out.getpixel((200, 0)) != GREY and out.getpixel((100, 100)) == GREY


def test_detections_display_as_png_and_html_that_survive_a_saved_notebook() -> None:
    found = detections('{"boxes": [{"label": "cat", "box": [100, 200, 600, 800]}]}')
    bundle = found._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    png = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert png.size == (200, 100)
    assert png.getpixel((20, 50)) == PALETTE[0]
    assert "data:image/png;base64," in bundle["text/html"] and "cat" in bundle["text/html"]
    assert bundle["text/plain"].startswith("1 box in original pixels:\ncat: (20, 20) – (120, 80)")
    assert found.with_grid().grid and not found.grid


def test_prompt_and_schema_name_what_to_find() -> None:
    text, labels = box_prompt(["cat", "dog"])
    assert labels == ["cat", "dog"] and '["cat", "dog"]' in text and "0 to 1000" in text
    schema = box_schema(labels)
    assert schema["title"] == "grok_nb_boxes"
    assert schema["properties"]["boxes"]["items"]["properties"]["label"]["enum"] == labels
    assert box_prompt("the red square")[1] is None


# --- the explorer ---------------------------------------------------------------------


def test_the_explorer_takes_detections_as_its_boxes_layer() -> None:
    ex = TileExplorer(Image.new("RGB", (400, 300), GREY))
    assert ex.boxes == [] and ex.show_boxes
    reply = '[{"label": "cat", "box": [0, 0, 500, 500]}, {"label": "dog", "box": [5, 5, 9, 9]}]'
    found = attach_boxes(Answer(text=reply), [ImageRef("x", (400, 300), (400, 300))])
    ex.boxes = found
    assert ex.boxes[0] == {
        "label": "cat", "box": [0.0, 0.0, 200.0, 150.0], "score": None, "note": "",
        "flags": [], "colour": "#1f77b4",
    }  # fmt: skip
    assert ex.boxes[1]["colour"] == "#ff7f0e"
    ex.boxes = [{"label": "far", "x0": -5, "y0": 0, "x1": 900, "y1": 10}]
    assert ex.boxes[0]["box"] == [0.0, 0.0, 400.0, 10.0]  # clipped to the image


def test_the_explorer_hands_over_its_framing_with_the_transform() -> None:
    ex = TileExplorer(Image.new("RGB", (1000, 800), GREY), crop=(100, 50, 600, 450), scale=0.5)
    source = ex._grok_source_()
    assert source.source.size == (250, 200)
    frame = source.transform
    assert frame.offset == (100, 50) and frame.scale == (2.0, 2.0) and frame.size == (1000, 800)
    assert frame.to_original(250, 200) == (600, 450)
    assert frame.original.size == (1000, 800)


def test_boxes_to_json_refuses_what_is_not_boxes() -> None:
    from grok_nb.errors import ConfigError

    with pytest.raises(ConfigError):
        boxes_to_json("red", (10, 10))
    with pytest.raises(ConfigError):
        boxes_to_json([{"label": "a"}], (10, 10))
