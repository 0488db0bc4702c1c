"""Where is it? ``locate`` and ``%%grokvision --boxes``: Grok's answers as boxes.

xAI documents no box format (xai-api.md, "Grounding"), so the request is a prompt plus
structured output with our own schema (``SCHEMA_NAME``): a list of ``{label, box:
[x0, y0, x1, y1], score, note}`` with coordinates normalised 0–1000 over the image as
sent. The reply is read here, leniently and never silently: corners given the wrong way
round are swapped, boxes reaching outside the image are clipped (both flagged on the
``Box``), and entries that are not boxes at all are listed in ``Detections.unusable``
with the reason. Then each box is mapped to the original's pixels (``boxes.ImageRef``).

The schema is sent so the model knows the shape, but the answer is not validated
against it by the client: a reply with one bad entry must still give the good ones.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from grok_nb.answer import Answer
from grok_nb.asking import CallPlan, plan_call, send
from grok_nb.boxes import NORMALISED, Box, Detections, Frame, ImageRef, Unusable
from grok_nb.errors import ConfigError
from grok_nb.images import PreparedImage, expand_sources, load_image
from grok_nb.preparing import Labelled, as_source

__all__ = ["SCHEMA_NAME", "attach_boxes", "box_prompt", "box_schema", "locate", "plan_boxes"]

SCHEMA_NAME = "grok_nb_boxes"  # the simulator recognises box requests by this name

PROMPT = (
    'Find {target} in the image{s}. Reply with JSON only: {{"boxes": [...]}}, one entry '
    'per object found (an empty list if there is none), each {{"label": what it is, '
    '"box": [x0, y0, x1, y1], "score": your confidence from 0 to 1, "note": '
    "anything worth saying{image}}}. Box coordinates are integers from 0 to 1000 over the "
    "image as you see it: x from its left edge (0) to its right edge (1000), y from its "
    "top edge (0) to its bottom edge (1000); (x0, y0) is the object's top-left corner and "
    "(x1, y1) its bottom-right corner, so that the box just encloses the object."
)
IMAGE_FIELD = ', "image": which image it is in, counting from 1'


def box_schema(labels: Sequence[str] | None = None, images: int = 1) -> dict[str, Any]:
    """The JSON schema of a box reply (``labels``: the only labels allowed)."""
    label: dict[str, Any] = {"type": "string", "description": "what the object is"}
    if labels:
        label["enum"] = list(labels)
    entry: dict[str, Any] = {
        "type": "object",
        "properties": {
            "label": label,
            "box": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": NORMALISED},
                "description": "[x0, y0, x1, y1]: left, top, right, bottom, 0-1000 of the "
                "image's width (x) and height (y)",
            },
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "note": {"type": "string"},
        },
        "required": ["label", "box"],
        "additionalProperties": False,
    }
    if images > 1:
        entry["properties"]["image"] = {"type": "integer", "minimum": 1, "maximum": images}
    return {
        "title": SCHEMA_NAME,
        "type": "object",
        "properties": {"boxes": {"type": "array", "items": entry}},
        "required": ["boxes"],
        "additionalProperties": False,
    }


def box_prompt(what: str | Sequence[str], images: int = 1) -> tuple[str, list[str] | None]:
    """The prompt asking for boxes of ``what`` (a phrase, or a list of labels), and the
    labels the reply must use (``None`` for a phrase)."""
    if isinstance(what, str):
        target, labels = what.strip(), None
    else:
        labels = [str(w).strip() for w in what if str(w).strip()]
        target = "each of these: " + "; ".join(labels)
    if not target:
        raise ConfigError("say what to find: a phrase or a list of labels")
    text = PROMPT.format(target=target, s="s" if images > 1 else "",
                         image=IMAGE_FIELD if images > 1 else "")  # fmt: skip
    if labels:
        text += " Use exactly these labels: " + json.dumps(labels) + "."
    return text, labels


# --- which images, and where they sit in their originals ---------------------------


def _one_per_image(items: Sequence[Any]) -> list[Any]:
    """Every argument as one source per image (a glob gives several), so the i-th
    prepared image of the call is the i-th source here."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, PreparedImage):
            out.append(item)
            continue
        src = as_source(item)
        subs = [src.source] if src.transform is not None else expand_sources(src.source)
        if len(subs) == 1:
            out.append(src)
        else:
            out += [Labelled(s, None, rule=src.rule, detail=src.detail) for s in subs]
    return out


def _loader(source: Any) -> Callable[[], Any]:
    if callable(source):
        return source
    if hasattr(source, "crop") and hasattr(source, "size"):  # the original, already a PIL image
        return lambda: source
    return lambda: load_image(source)[0]


def _ref(source: Any, prepared: PreparedImage) -> ImageRef | None:
    if prepared.size is None:  # a URL passed through: its pixels are unknown here
        return None
    frame = getattr(source, "transform", None) or Frame()
    if frame.original is not None:
        load = _loader(frame.original)
    elif isinstance(source, Labelled):
        load = _loader(source.source)
    else:
        load = None
    tiles: tuple[tuple[float, float, float, float], ...] = ()
    if prepared.plan is not None:
        tiles = tuple((*frame.to_original(b[0], b[1]), *frame.to_original(b[2], b[3]))
                      for b in prepared.plan.boxes)  # fmt: skip
    return ImageRef(
        label=prepared.label,
        size=frame.size or prepared.size,
        source_size=prepared.size,
        sent_size=prepared.sent_size,
        frame=frame,
        tiles=tiles,
        load=load,
    )


def plan_boxes(
    prompt: str | Sequence[str], images: Sequence[Any], **overrides: Any
) -> tuple[CallPlan, list[ImageRef | None]]:
    """The call asking where ``prompt`` (what to find) is in ``images``, and each
    image's reference for mapping the boxes back (``None``: a URL not fetched)."""
    if overrides.get("schema") is not None:
        raise ConfigError("boxes bring their own schema: do not pass one as well")
    overrides.pop("schema", None)
    sources = _one_per_image(images)
    text, labels = box_prompt(prompt, max(1, len(sources)))
    call = plan_call(text, sources, schema=box_schema(labels, len(sources)), **overrides)
    refs = [_ref(s, p) for s, p in zip(sources, call.images, strict=True)]
    return replace(call, schema=None), refs  # read here, leniently: see the docstring


# --- reading the reply -------------------------------------------------------------

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _coords(entry: dict[str, Any]) -> Any:
    if "box" in entry:
        return entry["box"]
    if all(k in entry for k in ("x0", "y0", "x1", "y1")):
        return [entry[k] for k in ("x0", "y0", "x1", "y1")]
    return None


def _score(value: Any, flags: list[str]) -> float | None:
    if value is None:
        return None
    if not _number(value):
        flags.append(f"score {value!r} ignored (not a number)")
        return None
    if not 0 <= value <= 1:
        flags.append(f"score {value!r} clipped to 0..1")
    return float(min(max(value, 0), 1))


def _repair(xyxy: list[float], flags: list[str]) -> list[float]:
    x0, y0, x1, y1 = xyxy
    if x0 > x1:
        x0, x1 = x1, x0
        flags.append("x corners swapped")
    if y0 > y1:
        y0, y1 = y1, y0
        flags.append("y corners swapped")
    clipped = [min(max(v, 0.0), float(NORMALISED)) for v in (x0, y0, x1, y1)]
    if clipped != [x0, y0, x1, y1]:
        flags.append("clipped to the image")
    return clipped


def read_entry(entry: Any, refs: Sequence[ImageRef | None]) -> Box | Unusable:
    """One reply entry as a ``Box`` in original pixels, or ``Unusable`` with the reason."""
    if not isinstance(entry, dict):
        return Unusable(entry, "not an object with a label and a box")
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        return Unusable(entry, "no label")
    coords = _coords(entry)
    if not isinstance(coords, (list, tuple)) or len(coords) != 4:
        return Unusable(entry, "the box is not four numbers [x0, y0, x1, y1]")
    if not all(_number(v) for v in coords):
        return Unusable(entry, "the box holds something other than finite numbers")
    image = entry.get("image", 1)
    if not (isinstance(image, int) and not isinstance(image, bool) and 1 <= image <= len(refs)):
        return Unusable(entry, f"image {image!r}: the call had {len(refs)} image(s)")
    ref = refs[image - 1]
    if ref is None:
        return Unusable(entry, f"image {image} was a URL passed through: its pixels are "
                        "unknown here (pass fetch_urls=True)")  # fmt: skip
    flags: list[str] = []
    n = _repair([float(v) for v in coords], flags)
    if n[2] - n[0] <= 0 or n[3] - n[1] <= 0:
        where = "outside the image" if "clipped to the image" in flags else "no area"
        return Unusable(entry, f"the box is empty ({where})")
    score = _score(entry.get("score"), flags)
    note = entry.get("note")
    x0, y0 = ref.to_original(n[0], n[1])
    x1, y1 = ref.to_original(n[2], n[3])
    return Box(
        label.strip(),
        round(x0, 3),
        round(y0, 3),
        round(x1, 3),
        round(y1, 3),
        score=score,
        note=None if note is None else str(note),
        image=image - 1,
        flags=tuple(flags),
        normalised=(n[0], n[1], n[2], n[3]),
    )


def _entries(answer: Answer) -> tuple[list[Any] | None, str | None]:
    text = answer.text or ""
    m = _FENCE.match(text)
    try:
        value = json.loads(m.group(1) if m else text)
    except json.JSONDecodeError as exc:
        cut = "" if answer.complete and answer.finish_reason != "length" else (
            f" (the answer was cut off: finish_reason {answer.finish_reason!r})")  # fmt: skip
        return None, f"the answer is not JSON ({exc.msg} at position {exc.pos}){cut}"
    answer.parsed = value
    if isinstance(value, dict) and isinstance(value.get("boxes"), list):
        return value["boxes"], None
    if isinstance(value, list):
        return value, None
    return None, 'the answer is JSON but has no "boxes" list'


def attach_boxes(answer: Answer, refs: Sequence[ImageRef | None]) -> Detections:
    """Read ``answer`` as boxes over ``refs``' images; stored as ``answer.boxes`` too."""
    entries, problem = _entries(answer)
    found: list[Box] = []
    unusable: list[Unusable] = []
    if entries is None:
        unusable.append(Unusable(answer.text[:500], problem or "unreadable"))
    for entry in entries or ():
        read = read_entry(entry, refs)
        (found if isinstance(read, Box) else unusable).append(read)  # type: ignore[arg-type]
    images = tuple(r for r in refs if r is not None)
    if len(images) != len(refs):  # keep image indices aligned with the call's images
        images = tuple(r or ImageRef("URL, not fetched", (0, 0), (0, 0)) for r in refs)
    detections = Detections(tuple(found), tuple(unusable), images, answer=answer)
    answer.boxes = detections
    return detections


def locate(what: str | Sequence[str], image: Any, **options: Any) -> Detections:
    """Where is ``what`` (a phrase, or a list of labels) in ``image``? Boxes in the
    original image's pixels (upright: EXIF orientation applied), through every resize,
    crop and scale on the way (an explorer's framing included).

    ``options`` are ``ask``'s (``model``, ``detail``, ``cache``, ...). URLs are fetched
    (``fetch_urls=True``) so the boxes can be measured in pixels.
    """
    options.setdefault("fetch_urls", True)
    call, refs = plan_boxes(what, [image], **options)
    return attach_boxes(send(call), refs)
