"""Views of plans and answers: PNG overlays, HTML and plain text.

Everything here returns display data (mimebundles) that survives in a saved
notebook with no kernel and no widget state. Nothing here opens files or talks HTTP.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from .tiling import TilePlan

__all__ = ["format_usd", "plan_caption", "plan_mimebundle", "plan_overlay", "plans_mimebundle"]

DISPLAY_PX = 360  # longest side of an overlay drawn in a notebook
GRID_RGB = (255, 64, 129)
EXTRA_RGB = (41, 121, 255)


def format_usd(value: float | None) -> str:
    if value is None:
        return "price unknown"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.6f}".rstrip("0")
    return f"${value:,.4f}"


def plan_caption(plan: TilePlan, model: str | None = None) -> str:
    from .pricing import DEFAULT_MODEL

    cols, rows = plan.grid
    extra = f" + {plan.extra_tiles} extra" if plan.extra_tiles else ""
    name = model or DEFAULT_MODEL
    parts = [
        f"{plan.width}×{plan.height} px",
        f"{cols}×{rows} grid",
        f"{plan.tiles} tile{'s' if plan.tiles != 1 else ''}{extra}",
        f"{plan.tokens:,} tokens",
        f"≈ {format_usd(plan.cost_usd(name))} on {name}",
        f"rule {plan.rule}",
    ]
    if plan.resized != (plan.width, plan.height):
        parts.insert(1, f"model sees {plan.resized[0]}×{plan.resized[1]}")
    text = " · ".join(parts)
    if plan.assumption:
        text += f" · assumption: {plan.assumption}"
    return text


def _base(plan: TilePlan, width: int, height: int) -> Image.Image:
    from PIL import Image

    preview = plan.preview
    if preview is None:  # a size-only plan: a neutral canvas of the right shape
        return Image.new("RGB", (width, height), (226, 230, 236))
    img = preview.convert("RGBA")
    if img.mode == "RGBA":  # show transparency on a light checkerboard-free background
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    return img.convert("RGB").resize((width, height))


def _layout(
    plan: TilePlan,
) -> tuple[tuple[int, int], tuple[int, int], list[tuple[int, int, int, int]]]:
    """(space size, image size in that space, tile rectangles) to draw.

    Stretching rules draw in original pixels (the image fills the grid); padding
    rules (``ceil``) draw the padded canvas so the empty part of edge tiles shows.
    """
    from .tiling import RULES

    rule = RULES.get(plan.rule)
    if rule is None or rule.layout == "aspect" or plan.detail == "low":
        return (plan.width, plan.height), (plan.width, plan.height), list(plan.boxes)
    size = rule.tile_size
    cols, rows = plan.grid
    rects = [
        (c * size, r * size, (c + 1) * size, (r + 1) * size)
        for r in range(rows)
        for c in range(cols)
    ]
    return (cols * size, rows * size), plan.resized, rects


def plan_overlay(plan: TilePlan, display_px: int = DISPLAY_PX) -> Image.Image:
    """The image with its tiles drawn and numbered, and the extra tile beside it."""
    from PIL import Image, ImageDraw

    (space_w, space_h), (img_w, img_h), rects = _layout(plan)
    scale = display_px / max(space_w, space_h)
    w, h = max(1, round(space_w * scale)), max(1, round(space_h * scale))
    iw, ih = max(1, round(img_w * scale)), max(1, round(img_h * scale))
    side = max(48, min(96, h))  # the extra tile's thumbnail
    gap = 12
    canvas_w = w + (gap + side if plan.extra_tiles else 0)
    canvas = Image.new("RGB", (canvas_w, max(h, side)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    if (iw, ih) != (w, h):  # padding: hatch the part of the grid with no image in it
        hatch = Image.new("RGB", (w, h), (245, 245, 245))
        hatch_draw = ImageDraw.Draw(hatch)
        for x in range(-h, w, 10):
            hatch_draw.line((x, h, x + h, 0), fill=(210, 210, 210))
        canvas.paste(hatch, (0, 0))
    base = _base(plan, iw, ih)
    canvas.paste(base, (0, 0))
    for n, (left, top, right, bottom) in enumerate(rects, start=1):
        box = (
            round(left * scale),
            round(top * scale),
            round(right * scale) - 1,
            round(bottom * scale) - 1,
        )
        draw.rectangle(box, outline=GRID_RGB, width=2)
        cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
        r = 9
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=GRID_RGB)
        draw.text((cx, cy), str(n), fill=(255, 255, 255), anchor="mm")
    if plan.extra_tiles:
        x0 = w + gap
        thumb = base.resize((side, side))
        canvas.paste(thumb, (x0, 0))
        draw.rectangle((x0, 0, x0 + side - 1, side - 1), outline=EXTRA_RGB, width=3)
        draw.rectangle((x0, side - 16, x0 + side - 1, side - 1), fill=EXTRA_RGB)
        draw.text((x0 + side // 2, side - 8), "+1 extra", fill=(255, 255, 255), anchor="mm")
    return canvas


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _figure_html(png: bytes, caption: str, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        '<figure style="display:inline-block;margin:4px 12px 4px 0;vertical-align:top">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        'style="max-width:100%;image-rendering:auto"/>'
        f'<figcaption style="font-size:12px;max-width:{DISPLAY_PX + 108}px">'
        f"{html.escape(caption)}</figcaption></figure>"
    )


def plan_mimebundle(plan: TilePlan, model: str | None = None) -> dict[str, Any]:
    """text/plain + text/html (self-contained PNG) + image/png for one plan."""
    png = png_bytes(plan_overlay(plan))
    caption = plan_caption(plan, model)
    label = f"{plan.label}: " if plan.label else ""
    return {
        "text/plain": f"{label}{caption}",
        "text/html": _figure_html(
            png, f"{label}{caption}", f"tile grid of {plan.label or 'image'}"
        ),
        "image/png": base64.b64encode(png).decode("ascii"),
    }


def plans_mimebundle(plans: Sequence[TilePlan], model: str | None = None) -> dict[str, Any]:
    """A strip of overlays with a total, for several images."""
    figures, lines = [], []
    for plan in plans:
        caption = plan_caption(plan, model)
        label = f"{plan.label}: " if plan.label else ""
        figures.append(_figure_html(png_bytes(plan_overlay(plan)), label + caption, label))
        lines.append(label + caption)
    total = sum(p.tokens for p in plans)
    costs = [p.cost_usd(model) for p in plans]
    cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    summary = f"{len(plans)} images · {total:,} image tokens · ≈ {format_usd(cost)}"
    return {
        "text/plain": "\n".join([*lines, summary]),
        "text/html": "<div>" + "".join(figures) + f"<p><b>{html.escape(summary)}</b></p></div>",
    }
