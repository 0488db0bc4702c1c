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

from grok_nb.pricing import billed_as, default_model, format_usd

if TYPE_CHECKING:
    from PIL import Image

    from grok_nb.tiling import TilePlan

__all__ = ["plan_caption", "plan_mimebundle", "plan_overlay", "plans_mimebundle"]

# Marks grok_nb's own drawings, so "the image displayed last" never means an overlay.
OVERLAY_METADATA: dict[str, Any] = {"grok_nb": {"overlay": True}}
DISPLAY_PX = 360  # longest side of an overlay drawn in a notebook
THUMB_PX = 220  # ...and of each thumbnail in the strip above an answer
GRID_RGB = (255, 64, 129)
EXTRA_RGB = (41, 121, 255)


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 call", "2 calls", "1 mismatch", "3 mismatches": a count with its noun."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def rule_label(plan: TilePlan) -> str:
    """ "rule xai-guide (default)": the rule and where it came from."""
    return f"rule {plan.rule}" + (f" ({plan.rule_source})" if plan.rule_source else "")


def plan_caption(plan: TilePlan, model: str | None = None) -> str:

    cols, rows = plan.grid
    extra = f" + {plan.extra_tiles} extra" if plan.extra_tiles else ""
    name = model or default_model()
    parts = [
        f"{plan.width}×{plan.height} px",
        f"{cols}×{rows} grid",
        f"{plural(plan.tiles, 'tile')}{extra}",
        plural(plan.tokens, "token"),
        f"≈ {format_usd(plan.cost_usd(name))} on {name}",
        rule_label(plan),
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
    if not plan.padded:
        return (plan.width, plan.height), (plan.width, plan.height), list(plan.boxes)
    size = plan.tile_size
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
        x0, y0 = round(left * scale), round(top * scale)
        # at least one pixel wide, so slivers of extreme panoramas still draw
        box = (x0, y0, max(x0, round(right * scale) - 1), max(y0, round(bottom * scale) - 1))
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


def _figure_html(png: bytes, caption: str, alt: str, display_px: int = DISPLAY_PX) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        '<figure style="display:inline-block;margin:4px 12px 4px 0;vertical-align:top">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        'style="max-width:100%;image-rendering:auto"/>'
        f'<figcaption style="font-size:12px;max-width:{display_px + 108}px">'
        f"{html.escape(caption)}</figcaption></figure>"
    )


def plan_mimebundle(
    plan: TilePlan, model: str | None = None, display_px: int = DISPLAY_PX
) -> dict[str, Any]:
    """text/plain + text/html (self-contained PNG) + image/png for one plan."""
    png = png_bytes(plan_overlay(plan, display_px))
    caption = plan_caption(plan, model)
    label = f"{plan.label}: " if plan.label else ""
    return {
        "text/plain": f"{label}{caption}",
        "text/html": _figure_html(
            png, f"{label}{caption}", f"tile grid of {plan.label or 'image'}"
        ),
        "image/png": base64.b64encode(png).decode("ascii"),
    }


def plans_mimebundle(
    plans: Sequence[TilePlan], model: str | None = None, display_px: int = DISPLAY_PX
) -> dict[str, Any]:
    """A strip of overlays with a total, for several images."""
    figures, lines = [], []
    for plan in plans:
        caption = plan_caption(plan, model)
        label = f"{plan.label}: " if plan.label else ""
        png = png_bytes(plan_overlay(plan, display_px))
        figures.append(_figure_html(png, label + caption, label, display_px))
        lines.append(label + caption)
    total = sum(p.tokens for p in plans)
    costs = [p.cost_usd(model) for p in plans]
    cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    counts = f"{plural(len(plans), 'image')} · {plural(total, 'image token')}"
    summary = f"{counts} · ≈ {format_usd(cost)}"
    return {
        "text/plain": "\n".join([*lines, summary]),
        "text/html": "<div>" + "".join(figures) + f"<p><b>{html.escape(summary)}</b></p></div>",
    }


# --- boxes (grok_nb.boxes.Detections) -------------------------------------------


# --- answers -------------------------------------------------------------------


def _tokens_line(answer: Any) -> str:
    est = answer.estimated_image_tokens
    usage = answer.usage
    billed = None if usage is None else usage.image_tokens
    if billed is None and est is None:
        return "no usage reported" if not answer.images else "image tokens: not measured"
    if billed is None:
        return f"image tokens ≈ {est:,} est. (no usage reported)"
    if est is None:
        return f"image tokens {billed:,} billed (not estimated: unmeasured URL)"
    if est == billed:
        return f"image tokens {billed:,} billed = {est:,} est. ✓"
    rule = answer.images[0].rule if answer.images else "?"
    return (
        f"⚠ image tokens {billed:,} billed ≠ {est:,} est. (rule {rule}; "
        "`grok_nb.calibrate()` finds the rule that matches)"
    )


def model_label(answer: Any) -> str:
    """The billed model, and the name asked for when the API billed another one."""
    billed = answer.model or "model unknown"
    asked = getattr(answer, "model_asked", "") or ""
    if asked and answer.model and asked != answer.model:
        return f"asked {asked} · billed as {billed}"
    return billed


def _cost_bit(answer: Any) -> str:
    original = getattr(answer, "original_cost_usd", None)
    if answer.cached:
        recorded = "cost unknown" if original is None else format_usd(original)
        text = f"from cache: {format_usd(0)} now (original call {recorded})"
    elif answer.cost_usd is None:
        text = "cost unknown"
    else:
        text = format_usd(answer.cost_usd)
    if getattr(answer, "cost_mismatch", False):
        billed = original if answer.cached else answer.cost_usd
        allowance = format_usd(answer.cost_allowance_usd)
        text += (
            f" · ⚠ {format_usd(billed)} billed ≠ ≈ {format_usd(answer.estimated_cost_usd)} "
            f"est. (beyond the ±{allowance} text-token allowance)"
        )
    return text


def answer_footer(answer: Any) -> str:
    """One line under every answer: model, tokens estimated vs billed, cost, latency, cache."""
    bits = [model_label(answer), _tokens_line(answer)]
    usage = answer.usage
    if usage is not None:
        bits.append(f"text {usage.text_tokens:,}")
        completion = f"completion {usage.completion_tokens:,}"
        if usage.reasoning_tokens:
            completion += f" + reasoning {usage.reasoning_tokens:,}"
        bits.append(completion)
        if usage.cached_tokens:
            cached = f"prompt cache {usage.cached_tokens:,}"
            saved = getattr(answer, "cache_saved_usd", None)
            if saved:
                cached += f" (saved {format_usd(saved)})"
            bits.append(cached)
    bits.append(_cost_bit(answer))
    if answer.latency_s is not None:
        bits.append(
            f"{answer.latency_s * 1000:.0f} ms"
            if answer.latency_s < 1
            else f"{answer.latency_s:.2f} s"
        )
    if answer.finish_reason not in (None, "stop"):
        bits.append(f"finish: {answer.finish_reason}")
    return " · ".join(bits)


def _parsed_markdown(parsed: Any) -> str:
    import json

    if hasattr(parsed, "model_dump"):
        parsed = parsed.model_dump(mode="json")
    return "```json\n" + json.dumps(parsed, indent=2, ensure_ascii=False, default=str) + "\n```"


def answer_markdown(answer: Any, *, footer: bool = True) -> str:
    body = answer.text if answer.parsed is None else _parsed_markdown(answer.parsed)
    if not footer:
        return body
    return f"{body}\n\n---\n<small>{html.escape(answer_footer(answer))}</small>"


def answer_mimebundle(answer: Any) -> dict[str, Any]:
    """Markdown for notebooks (also readable saved, with no kernel) + plain text."""
    text = answer.text if answer.parsed is None else _parsed_markdown(answer.parsed)
    return {
        "text/markdown": answer_markdown(answer),
        "text/plain": f"{text}\n---\n{answer_footer(answer)}",
    }


def notes_lines(notes: Sequence[tuple[str | None, Sequence[str]]]) -> list[str]:
    """One line per image that has preparation notes: "label: note; note"."""
    several = sum(1 for _, found in notes if found) > 1
    lines = []
    for label, found in notes:
        if found:
            head = f"{label}: " if several and label else ""
            lines.append(head + "; ".join(found))
    return lines


def thumbnails_mimebundle(
    plans: Sequence[TilePlan],
    model: str | None = None,
    notes: Sequence[tuple[str | None, Sequence[str]]] = (),
) -> dict[str, Any]:
    """The strip shown above an answer: each image with its grid and token count, then
    what preparing the images did (``notes``: (label, notes) per image), in small text."""
    if len(plans) == 1:
        bundle = plan_mimebundle(plans[0], model, THUMB_PX)
    else:
        bundle = plans_mimebundle(plans, model, THUMB_PX)
    lines = notes_lines(notes)
    if lines:
        bundle.pop("image/png", None)  # the notes must show: HTML, else plain text
        bundle["text/plain"] += "".join(f"\nnote: {line}" for line in lines)
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        bundle["text/html"] += (
            f'<ul style="font-size:11px;color:#666;margin:2px 0 0 0;padding-left:16px">{items}</ul>'
        )
    return bundle


def estimate_mimebundle(call: Any) -> dict[str, Any]:
    """The line shown before sending: what the call is expected to cost."""
    est = call.estimate
    new = len(call.images)
    resent = len(call.plans) - sum(1 for p in call.images if p.plan is not None)
    what = [plural(new, "image")] if new else []
    if resent:
        what.append(f"{plural(resent, 'earlier image')} resent")
    parts = [f"≈ {est.image_tokens:,} image tokens" + (f" ({', '.join(what)})" if what else "")]
    parts.append(f"~{est.text_tokens:,} text tokens")
    if est.unmeasured_images:
        n = est.unmeasured_images
        parts.append(
            f"≤ {est.unmeasured_tokens:,} for {plural(n, 'URL image')} "
            "(worst case: not measured; fetch_urls=True measures)"
        )
    billed = billed_as(call.model)
    priced = f"{call.model} (billed as {billed})" if billed else call.model
    cost = f"≈ {format_usd(est.prompt_usd)} prompt on {priced}"
    cached = getattr(est, "expected_cached_tokens", 0)
    if cached:
        cold = getattr(est, "cold_prompt_usd", None)
        cost += f" ({cached:,} tokens expected cached; {format_usd(cold)} if not)"
    if est.max_completion_usd is not None:
        cost += f" (≤ {format_usd(est.worst_usd)} with max_tokens)"
    rules = " / ".join(dict.fromkeys(rule_label(p) for p in call.plans)) or "no images"
    text = "Estimate: " + " + ".join(parts) + f" · {cost} · {rules}"
    return {"text/markdown": f"<small>{html.escape(text)}</small>", "text/plain": text}


def _calls(n: int) -> str:
    return plural(n, "call")


def _row_model(r: Any) -> str:
    asked = getattr(r, "model_asked", "") or ""
    if asked and r.model and asked != r.model:
        return f"{r.model} (asked {asked})"
    return r.model or asked or "model unknown"


def _row_cost(r: Any) -> str:
    if r.cost_usd is not None:
        return format_usd(r.cost_usd) + (" ⚠" if getattr(r, "cost_mismatch", False) else "")
    if r.at_most_usd is not None:
        return f"billed: unknown, at most ≈ {format_usd(r.at_most_usd)}"
    return "billed: unknown"


def _row_status(r: Any) -> str:
    if r.cached:
        return "cached"
    if r.finish_reason in (None, "stop"):
        return ""
    return str(r.finish_reason)


def _totals_line(label: str, t: dict[str, Any]) -> str:
    text = f"{label}: {_calls(t['calls'])}"
    extras = []
    if t["cached"]:
        extras.append(f"{t['cached']:,} from cache")
    if t["unfinished"]:
        extras.append(f"{t['unfinished']:,} cut short")
    if extras:
        text += f" ({', '.join(extras)})"
    text += (
        f" · image tokens {t['image_tokens']:,} billed / {t['estimated_image_tokens']:,} est."
        f" · prompt {t['prompt_tokens']:,} · completion {t['completion_tokens']:,}"
        f" · spent {format_usd(t['cost_usd'])}"
    )
    if t.get("cache_saved_usd"):
        text += (
            f" · prompt cache {t['cached_tokens']:,} tokens saved "
            f"{format_usd(t['cache_saved_usd'])}"
        )
    if t["unknown_cost_calls"]:
        bound = t["unknown_at_most_usd"]
        text += f" + {_calls(t['unknown_cost_calls'])} billed: unknown" + (
            "" if bound is None else f", at most ≈ {format_usd(bound)}"
        )
    if t["mismatches"]:
        text += f" · {plural(t['mismatches'], 'image-token mismatch', 'image-token mismatches')}"
    if t["cost_mismatches"]:
        text += f" · {plural(t['cost_mismatches'], 'cost mismatch', 'cost mismatches')}"
    return text


USAGE_COLUMNS = (
    "#", "purpose", "model", "status", "image est.", "image billed", "prompt", "completion",
    "cost",
)  # fmt: skip
PURPOSE_LABELS = {"ask": "Questions", "calibration": "Calibration probes"}


def usage_mimebundle(ledger: Any) -> dict[str, Any]:
    """``%grokvision_usage``: one row per call, then totals per purpose and overall."""
    if not ledger.rows:
        return {"text/markdown": "*No calls yet in this kernel.*", "text/plain": "No calls yet."}
    table = [list(USAGE_COLUMNS)]
    for n, r in enumerate(ledger.rows, start=1):
        est = "" if r.estimated_image_tokens is None else f"{r.estimated_image_tokens:,}"
        billed = "" if r.image_tokens is None else f"{r.image_tokens:,}"
        if r.mismatch:
            billed += " ⚠"
        table.append(
            [
                str(n),
                getattr(r, "purpose", "ask"),
                _row_model(r),
                _row_status(r),
                est,
                billed,
                "" if r.prompt_tokens is None else f"{r.prompt_tokens:,}",
                "" if r.completion_tokens is None else f"{r.completion_tokens:,}",
                _row_cost(r),
            ]
        )
    purposes = ledger.purposes()
    totals = [_totals_line(PURPOSE_LABELS.get(p, p), ledger.totals(p)) for p in purposes]
    if len(purposes) > 1:
        totals.append(_totals_line("All", ledger.totals()))
    md = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    md += ["| " + " | ".join(row) + " |" for row in table[1:]]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    plain = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    return {
        "text/markdown": "\n".join(md) + "\n\n" + "<br>".join(f"**{t}**" for t in totals),
        "text/plain": "\n".join([*plain, *totals]),
    }


def models_mimebundle(models: Sequence[Any], source: str) -> dict[str, Any]:
    """``%grokvision_models``: vision-capable models and prices per million tokens."""

    def rate(value: float | None) -> str:
        return "—" if value is None else format_usd(value)

    header = ["model", "input", "cached input", "output", "image", "aliases", "notes"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    plain = []
    for m in models:
        notes = []
        if not getattr(m, "current", True):
            notes.append("not on the newest pricing page")
        billed = billed_as(m.model)
        if billed:
            notes.append(f"billed as {billed}")
        cells = [
            m.model,
            rate(m.prompt),
            rate(m.cached_prompt),
            rate(m.completion),
            rate(m.image_rate),
            ", ".join(m.aliases),
            "; ".join(notes),
        ]
        rows.append("| " + " | ".join(cells) + " |")
        plain.append("  ".join(c for c in cells if c))
    note = (
        f"USD per million tokens, prompts under 200k tokens (every rate doubles at 200k or "
        f"more) · default model: {default_model()} · {source}"
    )
    return {
        "text/markdown": "\n".join(rows) + f"\n\n*{note}*",
        "text/plain": "\n".join([*plain, note]),
    }
