"""``resize="model"``: the smallest size that keeps the original's exact tile plan.

The model never sees more than its canvas: under the aspect rules (``xai-guide``,
``internvl``) every image is stretched to (448·cols, 448·rows); under ``ceil`` it
is scaled to ``plan.resized``; with ``detail="low"`` it is fitted into 448×448.
So pixels beyond that canvas are bytes the model throws away.

The sent size keeps the image's aspect ratio and covers the canvas on both axes
(never upscaling past the original), so whatever the server does next is a pure
downscale of what we send, as it would have been of the original. (The smallest
size of all would be the canvas itself, stretched; keeping the aspect costs a few
percent more pixels and keeps the image undistorted should the server's real
layout differ from the rule assumed here.) The result is
then checked against the tile arithmetic itself: if rounding at a grid boundary,
or an area-dependent tie in the aspect rule, would change the plan, the size is
grown until the plan (grid, tiles, extra tiles, tokens, canvas) is exactly the
original's again. The original size always qualifies, so the search ends.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from grok_nb.tiling import TilePlan, TileRule, get_rule, plan

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["RESIZE_THREADS", "canvas_size", "downscale", "model_size", "plan_key", "preview"]

_FINE_STEPS = 64  # one-pixel steps tried before the search grows by 1 %
# Threads for large resizes (None: one per CPU, at most 4). Pillow releases the GIL
# while resampling, and resampling horizontal bands with ``box=`` reads the rows
# around each band, so the bands join with no seam: the result equals one
# whole-image resize up to floating-point rounding (at most one level, rarely).
RESIZE_THREADS: int | None = None
_BAND_MIN_PIXELS = 500_000  # below this, threads cost more than they save
_REDUCING_GAP = 3.0


def plan_key(p: TilePlan) -> tuple[Any, ...]:
    """What must not change: what the model sees and what it costs."""
    return (p.grid, p.tiles, p.extra_tiles, p.tokens, p.resized)


def canvas_size(
    width: int, height: int, rule: str | TileRule | None, detail: str
) -> tuple[int, int]:
    """The pixel size the model works from, for a ``width`` x ``height`` image."""
    return plan(width, height, rule, detail).resized


def _cover(width: int, height: int, canvas: tuple[int, int]) -> tuple[int, int]:
    """Aspect-preserving size covering ``canvas`` on both axes, never above the original.

    A very elongated image (more than twice as elongated as its canvas) would need a
    long side far beyond the canvas's to keep its aspect while covering the short
    side; the model squeezes that side anyway, so it is cut to keep the sent aspect
    within twice the canvas's. Moving the aspect towards the grid's keeps the same
    closest grid, and the caller checks the plan regardless."""
    scale = min(1.0, max(canvas[0] / width, canvas[1] / height))
    w = min(width, max(round(width * scale), canvas[0]))
    h = min(height, max(round(height * scale), canvas[1]))
    w = min(w, max(canvas[0], round(2 * canvas[0] * h / canvas[1])))
    h = min(h, max(canvas[1], round(2 * canvas[1] * w / canvas[0])))
    return w, h


def _candidates(width: int, height: int, start: tuple[int, int]) -> Iterator[tuple[int, int]]:
    """Sizes from ``start`` growing towards the original, aspect kept on the long axis."""
    wide = width >= height
    long0, long_max = (start[0], width) if wide else (start[1], height)
    ratio = (height / width) if wide else (width / height)
    length = long0
    steps = 0
    while length < long_max:
        short = round(length * ratio)
        for s in (short, short + 1, short - 1):
            s = max(1, min(s, height if wide else width))
            yield (length, s) if wide else (s, length)
        steps += 1
        length = length + 1 if steps < _FINE_STEPS else max(length + 1, int(length * 1.01))
    yield width, height


def model_size(
    width: int, height: int, rule: str | TileRule | None = None, detail: str = "high"
) -> tuple[int, int]:
    """Smallest (w, h) <= (width, height) whose tile plan equals the original's."""
    r = get_rule(rule)
    original = plan(width, height, r, detail)
    want = plan_key(original)
    canvas = original.resized
    first: list[tuple[int, int]] = []
    if r.layout == "ceil" or detail == "low":
        first.append(canvas)  # the model's own canvas keeps these plans exactly
    cover = _cover(width, height, canvas)
    first.append(cover)
    # never below the canvas on either axis (unless the original already is)
    floor_w, floor_h = min(canvas[0], width), min(canvas[1], height)
    seen: set[tuple[int, int]] = set()
    for size in itertools.chain(first, _candidates(width, height, cover)):
        if size in seen or not (floor_w <= size[0] <= width and floor_h <= size[1] <= height):
            continue
        seen.add(size)
        if plan_key(plan(size[0], size[1], r, detail)) == want:
            return size
    return width, height


def _threads() -> int:
    if RESIZE_THREADS is not None:
        return max(1, RESIZE_THREADS)
    return max(1, min(4, os.cpu_count() or 1))


def downscale(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """High-quality Lanczos downscale, in parallel horizontal bands on large images.

    ``reducing_gap`` first shrinks by an integer factor with a box filter (cheap)
    and finishes with Lanczos; at 3.0 Pillow documents the result as
    indistinguishable from Lanczos alone."""
    from PIL import Image as PILImage

    if im.size == size:
        return im
    lanczos = PILImage.Resampling.LANCZOS
    threads = _threads()
    out_w, out_h = size
    if threads == 1 or out_w * out_h < _BAND_MIN_PIXELS or out_h < 4 * threads:
        return im.resize(size, lanczos, reducing_gap=_REDUCING_GAP)
    in_w, in_h = im.size

    def band(i: int) -> Image.Image:
        top, bottom = edges[i], edges[i + 1]
        box = (0.0, top * scale, float(in_w), bottom * scale)
        return im.resize((out_w, bottom - top), lanczos, box=box)

    im.load()
    # what reducing_gap=3.0 does: an integer box-filter reduce first, Lanczos after
    fx, fy = int(in_w / out_w / _REDUCING_GAP) or 1, int(in_h / out_h / _REDUCING_GAP) or 1
    if fx > 1 or fy > 1:
        im = im.reduce((fx, fy))
        in_w, in_h = im.size
    bands = 2 * threads  # smaller bands keep each pass in cache; measured faster
    edges = [round(i * out_h / bands) for i in range(bands + 1)]
    scale = in_h / out_h
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(band, range(bands)))
    out = PILImage.new(im.mode, size)
    for i, part in enumerate(parts):
        out.paste(part, (0, edges[i]))
    return out


def preview(im: Image.Image, max_px: int) -> Image.Image:
    """A small copy for display: a box-filter reduce, then a bilinear step (fast; shown small)."""
    from PIL import Image as PILImage

    scale = min(1.0, max_px / max(im.size))
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    if size == im.size:
        return im.copy()
    factor = int(1 / scale)
    small = im.reduce(factor) if factor >= 2 else im
    return small.resize(size, PILImage.Resampling.BILINEAR)
