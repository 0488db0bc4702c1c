"""Measurable facts about an image, and the simulator's clearly-labelled answer text.

The simulator never pretends to be a model: it reports what can be measured
(size, format, tile plan and tokens under the chosen rule, colours) and says so.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from grok_nb.tiling import TilePlan

__all__ = ["LABEL", "ImageFacts", "answer_text", "image_facts"]

LABEL = "**[grok_nb simulator — offline, not a model]**"

# a few named colours, so a description reads "#d62728 (red)" rather than hex alone
_NAMES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (0, 0, 0)), ("white", (255, 255, 255)), ("grey", (128, 128, 128)),
    ("red", (220, 30, 30)), ("green", (40, 160, 40)), ("blue", (30, 60, 220)),
    ("yellow", (240, 220, 40)), ("cyan", (40, 210, 220)), ("magenta", (210, 40, 200)),
    ("orange", (245, 140, 30)), ("purple", (120, 50, 160)), ("brown", (130, 80, 40)),
    ("pink", (245, 170, 190)), ("navy", (20, 30, 100)), ("olive", (110, 110, 30)),
)  # fmt: skip


def colour_name(rgb: tuple[int, int, int]) -> str:
    return min(_NAMES, key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, n[1], strict=True)))[0]


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    format: str
    mode: str
    mean: tuple[int, int, int]
    dominant: tuple[tuple[tuple[int, int, int], float], ...]  # (rgb, share of pixels)
    has_alpha: bool
    nbytes: int

    @property
    def brightness(self) -> str:
        r, g, b = self.mean
        luma = 0.299 * r + 0.587 * g + 0.114 * b
        return "dark" if luma < 60 else "light" if luma > 190 else "mid-tone"


def image_facts(data: bytes) -> ImageFacts:
    """Decode ``data`` with Pillow; ``ValueError`` with a reason when it cannot be."""
    from PIL import Image, ImageStat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt, size = img.format or "unknown", img.size
            img.draft("RGB", (256, 256))  # JPEG: decode at reduced size, it is only for colours
            img.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValueError("the image has too many pixels (decompression bomb)") from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise ValueError(f"the bytes could not be decoded as an image ({exc})") from None
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    small = img.convert("RGB")
    small.thumbnail((96, 96), Image.Resampling.NEAREST)  # a sample: no blended edge colours
    mean = tuple(round(v) for v in ImageStat.Stat(small).mean[:3])
    quant = small.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    palette = quant.getpalette() or []
    counts: list[tuple[int, int]] = sorted(
        ((int(c), int(i)) for c, i in quant.getcolors() or []),  # type: ignore[arg-type]
        reverse=True,
    )
    total = sum(c for c, _ in counts) or 1
    dominant = tuple(
        ((palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]), c / total) for c, i in counts[:3]
    )
    return ImageFacts(
        width=size[0],
        height=size[1],
        format=fmt,
        mode=img.mode,
        mean=(mean[0], mean[1], mean[2]),
        dominant=dominant,
        has_alpha=has_alpha,
        nbytes=len(data),
    )


def describe_image(index: int, facts: ImageFacts, plan: TilePlan) -> str:
    cols, rows = plan.grid
    extra = f" + {plan.extra_tiles} extra tile" if plan.extra_tiles else ""
    colours = ", ".join(
        f"{_hex(rgb)} {colour_name(rgb)} {share:.0%}" for rgb, share in facts.dominant
    )
    alpha = ", with transparency" if facts.has_alpha else ""
    return (
        f"- Image {index}: {facts.width}×{facts.height} {facts.format} ({facts.mode}{alpha}, "
        f"{facts.nbytes:,} bytes), detail {plan.detail} — tile plan {cols}×{rows} grid{extra} = "
        f"{plan.tokens:,} tokens (rule {plan.rule}). Mean colour {_hex(facts.mean)} "
        f"({colour_name(facts.mean)}); dominant colours {colours}; overall {facts.brightness}."
    )


def describe_url(index: int, url: str, tokens: int, rule: str) -> str:
    host = url.split("/")[2] if "://" in url else url[:40]
    return (
        f"- Image {index}: a URL on {host}, not fetched (the simulator is offline); counted at "
        f"the rule's maximum of {tokens:,} tokens (rule {rule})."
    )


def answer_text(
    prompt: str, image_lines: list[str], image_tokens: int, rule: str, earlier_images: int
) -> str:
    """The full answer: label, the prompt echoed briefly, one line per image, totals."""
    shown = " ".join(prompt.split())
    if len(shown) > 160:
        shown = shown[:159] + "…"
    lines = [
        f"{LABEL} This answer was written on your machine by grok_nb's simulator from "
        "measurable facts; no model looked at the images.",
        "",
        f"Prompt: “{shown}”" if shown else "Prompt: (no text)",
        "",
    ]
    if image_lines:
        lines += image_lines
    else:
        lines.append("- No images in this message.")
    if earlier_images:
        lines.append(
            f"- Plus {earlier_images} image{'s' if earlier_images != 1 else ''} from earlier "
            "messages, billed again with this request."
        )
    lines += ["", f"Image tokens in this request: {image_tokens:,} (rule {rule})."]
    return "\n".join(lines)
