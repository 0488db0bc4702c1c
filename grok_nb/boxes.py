"""``Box`` and ``Detections``: where an answer says things are, in the original's pixels.

Grok gives boxes normalised to 0–1000 over the image *as sent*. Because every resize
in ``images/`` scales the whole image, normalised coordinates over the sent image are
normalised coordinates over the prepared source too; a ``Frame`` then says where that
source sits in its original (an explorer's crop and scale). So a box lands in the
original's pixels through two facts only: the source's size and its frame.

"Original pixels" are the *upright* image: EXIF orientation applied, which is what a
photo looks like when displayed and what ``images.load_image`` returns. Coordinates are
pixel edges (``x1`` is exclusive, like ``PIL.Image.crop``) and may be fractional.

Everything here is a plain value: no HTTP, no widgets. Reading a reply (with its
flags for clipped or swapped corners and its list of unusable entries) is
``grounding``'s job; drawing is ``boxes_overlay`` here.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, overload

from grok_nb.render import GRID_RGB, png_bytes

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "NORMALISED",
    "PALETTE",
    "Box",
    "Detections",
    "Frame",
    "ImageRef",
    "Unusable",
    "label_colours",
]

NORMALISED = 1000  # box coordinates in a reply run 0..NORMALISED over each side
BOXES_DISPLAY_PX = 640  # longest side of the drawn view in a notebook
# distinct on light and dark images alike (Tableau 10); a label keeps its colour
PALETTE = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)  # fmt: skip


def label_colours(labels: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """The colour each label is drawn in: the palette in order of first appearance."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(labels)}


@dataclass(frozen=True)
class Frame:
    """Where an image handed over for sending sits in its original.

    Pixel ``(u, v)`` of the handed image is ``(offset[0] + u * scale[0], offset[1] +
    v * scale[1])`` of the original, which is ``size`` pixels; ``original`` is that
    image (a PIL image, or a callable returning one) for drawing and cropping.
    ``TileExplorer._grok_source_()`` hands its framing over with one of these.
    """

    offset: tuple[float, float] = (0.0, 0.0)
    scale: tuple[float, float] = (1.0, 1.0)
    size: tuple[int, int] | None = None
    original: Any = field(default=None, compare=False, repr=False)

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        return self.offset[0] + x * self.scale[0], self.offset[1] + y * self.scale[1]


@dataclass(frozen=True)
class ImageRef:
    """One image of a call, as boxes need it: the original's size, how the source that
    was prepared maps into it, the tile rectangles, and a way to load the original."""

    label: str
    size: tuple[int, int]  # the original (upright) in pixels: the space boxes are in
    source_size: tuple[int, int]  # the image that was prepared (the framing, if any)
    sent_size: tuple[int, int] | None = None
    frame: Frame = field(default_factory=Frame)
    tiles: tuple[tuple[float, float, float, float], ...] = ()  # in original pixels
    load: Callable[[], Image.Image] | None = field(default=None, compare=False, repr=False)

    def to_original(self, nx: float, ny: float) -> tuple[float, float]:
        """A normalised (0..1000) point of the sent image in original pixels."""
        sw, sh = self.source_size
        return self.frame.to_original(nx * sw / NORMALISED, ny * sh / NORMALISED)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The part of the original that was sent (all of it, or the explorer's crop)."""
        x0, y0 = self.to_original(0, 0)
        x1, y1 = self.to_original(NORMALISED, NORMALISED)
        return x0, y0, x1, y1


@dataclass(frozen=True)
class Box:
    """One thing found: ``label`` and its rectangle in original pixels (edges, ``x1``
    and ``y1`` exclusive). ``image`` is the 0-based image of the call it is in;
    ``flags`` say what was repaired ("clipped", "corners swapped", ...); ``normalised``
    is the box as the model gave it, after repair (0..1000 over the sent image)."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float | None = None
    note: str | None = None
    image: int = 0
    flags: tuple[str, ...] = ()
    normalised: tuple[float, float, float, float] | None = field(default=None, repr=False)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1 - self.x0, self.y1 - self.y0)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def pixels(self) -> tuple[int, int, int, int]:
        """The whole pixels the box touches, as a PIL crop box (rounded outwards)."""
        return (
            math.floor(self.x0),
            math.floor(self.y0),
            math.ceil(self.x1),
            math.ceil(self.y1),
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flags"] = list(self.flags)
        d["normalised"] = None if self.normalised is None else list(self.normalised)
        return d


@dataclass(frozen=True)
class Unusable:
    """A reply entry that could not be read as a box, and why. Kept, never dropped."""

    entry: Any
    reason: str


def _round(v: float) -> float:
    return round(v, 2)


@dataclass(frozen=True)
class Detections(Sequence[Box]):
    """The boxes of one answer in original pixels: a sequence of ``Box``.

    ``unusable`` lists the reply's entries that were not boxes (with reasons);
    ``images`` the images they are in; ``answer`` the ``Answer`` they came from.
    Displays as the image with the boxes drawn (PNG + HTML, so it survives a saved
    notebook); ``with_grid()`` draws the tile grid underneath.
    """

    boxes: tuple[Box, ...] = ()
    unusable: tuple[Unusable, ...] = ()
    images: tuple[ImageRef, ...] = ()
    answer: Any = field(default=None, compare=False, repr=False)
    grid: bool = False
    _loaded: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @overload
    def __getitem__(self, i: int) -> Box: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Box]: ...
    def __getitem__(self, i: int | slice) -> Box | Sequence[Box]:
        return self.boxes[i]

    def __len__(self) -> int:
        return len(self.boxes)

    def __iter__(self) -> Iterator[Box]:
        return iter(self.boxes)

    @property
    def labels(self) -> list[str]:
        """Each label once, in the order first found."""
        return list(dict.fromkeys(b.label for b in self.boxes))

    @property
    def flagged(self) -> list[Box]:
        """The boxes that were repaired on the way in."""
        return [b for b in self.boxes if b.flags]

    def with_grid(self, grid: bool = True) -> Detections:
        """The same detections, displayed with the tile grid under the boxes."""
        return replace(self, grid=grid)

    # --- the original image -----------------------------------------------------

    def original(self, image: int = 0) -> Image.Image:
        """The original (upright) image the boxes are in, full size."""
        if image not in self._loaded:
            ref = self.images[image]
            if ref.load is None:
                raise ValueError(f"image {image} ({ref.label}) cannot be loaded again")
            self._loaded[image] = ref.load()
        loaded: Image.Image = self._loaded[image]
        return loaded

    def crop(self, i: int, pad: int = 0) -> Image.Image:
        """Box ``i``'s region of the original as a PIL image (``pad`` px around it),
        ready for a follow-up ``grok_nb.ask``."""
        box = self.boxes[i]
        img = self.original(box.image)
        x0, y0, x1, y1 = box.pixels()
        w, h = img.size
        return img.crop((max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)))

    # --- export -----------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per box (label, x0, y0, x1, y1, score, note, image, flags)."""
        return [{k: v for k, v in b.to_dict().items() if k != "normalised"} for b in self.boxes]

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per box (pandas is needed for this only)."""
        import pandas as pd

        columns = ["label", "x0", "y0", "x1", "y1", "score", "note", "image", "flags"]
        return pd.DataFrame(self.to_records(), columns=columns)

    def to_json(self, **kwargs: Any) -> str:
        """Boxes, unusable entries and image sizes as JSON text."""
        doc = {
            "coordinates": "original image pixels, upright (EXIF applied); x1, y1 exclusive",
            "images": [
                {"label": r.label, "width": r.size[0], "height": r.size[1]} for r in self.images
            ],
            "boxes": [b.to_dict() for b in self.boxes],
            "unusable": [{"entry": u.entry, "reason": u.reason} for u in self.unusable],
        }
        return json.dumps(doc, default=str, **kwargs)

    def to_coco(self) -> dict[str, Any]:
        """A COCO detection document: images, categories and ``bbox`` [x, y, w, h]."""
        names = self.labels
        ids = {name: n for n, name in enumerate(names, 1)}
        annotations = []
        for n, b in enumerate(self.boxes, 1):
            a = {
                "id": n,
                "image_id": b.image + 1,
                "category_id": ids[b.label],
                "bbox": [_round(v) for v in b.xywh],
                "area": _round(b.area),
                "iscrowd": 0,
            }
            if b.score is not None:
                a["score"] = b.score
            annotations.append(a)
        return {
            "images": [
                {"id": i + 1, "file_name": r.label, "width": r.size[0], "height": r.size[1]}
                for i, r in enumerate(self.images)
            ],
            "annotations": annotations,
            "categories": [{"id": ids[n], "name": n} for n in names],
        }

    def to_supervision(self, image: int = 0) -> Any:
        """``supervision.Detections`` for one image (``pip install supervision``)."""
        try:
            import numpy as np
            import supervision as sv
        except ImportError as exc:
            raise ImportError(
                "Detections.to_supervision() needs the supervision package "
                "(pip install supervision); it is not a dependency of grok_nb"
            ) from exc
        mine = [b for b in self.boxes if b.image == image]
        names = self.labels
        return sv.Detections(
            xyxy=np.array([b.xyxy for b in mine], dtype=float).reshape(-1, 4),
            confidence=np.array([np.nan if b.score is None else b.score for b in mine]),
            class_id=np.array([names.index(b.label) for b in mine], dtype=int),
            data={"class_name": np.array([b.label for b in mine], dtype=object)},
        )

    # --- display ----------------------------------------------------------------

    def colours(self) -> dict[str, tuple[int, int, int]]:
        """The colour each label is drawn in (the explorer uses the same ones)."""
        return label_colours(self.labels)

    def draw(
        self, image: int = 0, *, grid: bool | None = None, display_px: int | None = None
    ) -> Image.Image:
        """Image ``image`` with its boxes drawn (and the tile grid, if ``grid``), at
        full size unless ``display_px`` bounds the longest side."""
        ref = self.images[image]
        mine = [b for b in self.boxes if b.image == image]
        tiles = ref.tiles if (self.grid if grid is None else grid) else ()
        return boxes_overlay(
            self.original(image), mine, self.colours(), tiles=tiles, display_px=display_px
        )

    def _lines(self) -> list[str]:
        lines = []
        for b in self.boxes:
            where = f"({b.x0:g}, {b.y0:g}) – ({b.x1:g}, {b.y1:g})"
            score = "" if b.score is None else f" score {b.score:.2f}"
            flags = f" [{', '.join(b.flags)}]" if b.flags else ""
            image = f" in image {b.image + 1}" if len(self.images) > 1 else ""
            lines.append(f"{b.label}: {where}{image}{score}{flags}")
        lines += [f"unusable: {u.reason}: {json.dumps(u.entry, default=str)[:120]}"
                  for u in self.unusable]  # fmt: skip
        return lines

    def summary(self) -> str:
        n, bad = len(self.boxes), len(self.unusable)
        text = f"{n} box{'es' if n != 1 else ''} in original pixels"
        if self.flagged:
            text += f", {len(self.flagged)} repaired"
        if bad:
            text += f", {bad} unusable entr{'ies' if bad != 1 else 'y'}"
        return text

    def _figures(self) -> tuple[list[str], bytes | None]:
        figures, first = [], None
        for i, ref in enumerate(self.images):
            if ref.load is None and i not in self._loaded:
                continue
            png = png_bytes(self.draw(i, display_px=BOXES_DISPLAY_PX))
            first = first or png
            data = base64.b64encode(png).decode("ascii")
            alt = html.escape(f"boxes over {ref.label}")
            figures.append(
                f'<figure style="display:inline-block;margin:4px 12px 4px 0">'
                f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:100%"/>'
                f'<figcaption style="font-size:12px">{html.escape(ref.label)} · '
                f"{ref.size[0]}×{ref.size[1]} px</figcaption></figure>"
            )
        return figures, first

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        lines = self._lines()
        plain = "\n".join([self.summary() + ":" if lines else self.summary(), *lines])
        figures, png = self._figures()
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        body = f"<div>{''.join(figures)}<p><b>{html.escape(self.summary())}</b></p>"
        listing = f"<ul>{items}</ul>" if items else ""
        bundle = {"text/plain": plain, "text/html": f"{body}{listing}</div>"}
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        return f"<Detections: {self.summary()}>"


def boxes_overlay(
    image: Image.Image,
    boxes: Sequence[Any],
    colours: dict[str, Any],
    *,
    tiles: Sequence[Sequence[float]] = (),
    display_px: int | None = None,
) -> Image.Image:
    """``image`` with each box (``.label``, ``.x0``..``.y1`` in its pixels) outlined in its
    label's colour over a black or white halo, its label on an opaque chip (readable on
    any background); ``tiles`` (the tile grid) thin underneath."""
    from PIL import ImageDraw, ImageFont

    k = 1.0 if display_px is None else min(1.0, display_px / max(image.size))
    out = image.convert("RGB")
    if k < 1:
        out = out.resize((max(1, round(out.width * k)), max(1, round(out.height * k))))
    draw = ImageDraw.Draw(out)
    for t in tiles:
        draw.rectangle([round(v * k) for v in t], outline=GRID_RGB, width=1)
    width = max(2, round(min(out.size) / 160))
    font = ImageFont.load_default(size=max(10, min(18, round(min(out.size) / 28))))
    for b in boxes:
        rgb = tuple(colours.get(b.label, GRID_RGB))
        ink = (0, 0, 0) if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 else (255,) * 3
        x0, y0 = math.floor(b.x0 * k), math.floor(b.y0 * k)
        x1, y1 = max(x0, math.ceil(b.x1 * k) - 1), max(y0, math.ceil(b.y1 * k) - 1)
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=ink, width=width + 2)
        draw.rectangle((x0, y0, x1, y1), outline=rgb, width=width)
        text = b.label if b.score is None else f"{b.label} {b.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        cw, ch = right - left + 6, bottom - top + 4
        cy = y0 - ch if y0 - ch >= 0 else y0 + width  # above the box, else just inside
        draw.rectangle((x0, cy, x0 + cw - 1, cy + ch - 1), fill=rgb)
        draw.text((x0 + 3 - left, cy + 2 - top), text, fill=ink, font=font)
    return out
