"""Choosing PNG or JPEG, encoding, and keeping every image under the 10 MiB limit.

The choice (``choose_format``), cheapest test first:

1. transparency (any alpha < 255)                      -> PNG (JPEG has no alpha);
2. a rendered plot, or the caller asked for PNG        -> PNG;
3. the source file was a JPEG                          -> JPEG: PNG cannot restore
   what its compression removed and would be several times larger;
4. otherwise look at a sample: the image is resized to at most 128 px with nearest
   neighbour (so no new colours are invented) and
   - at most 256 distinct colours                       -> PNG (line art, charts,
     palette images, screenshots of flat UI);
   - at least half of horizontally adjacent samples identical -> PNG (large flat
     areas: screenshots, diagrams, documents); camera noise makes exact repeats
     rare in photographs;
   - else                                               -> JPEG.

JPEG is written at quality 90 (optimised Huffman tables, no EXIF, so no
orientation tag); PNG at zlib level 6. If the bytes exceed 10 MiB, JPEG steps down
to quality 85, a PNG without alpha is tried as JPEG, then the caller's
plan-preserving smaller sizes are tried; if nothing fits, ``ImageError`` says why.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from grok_nb.errors import ImageError
from grok_nb.images.resize import downscale

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "JPEG_QUALITY",
    "MAX_BYTES",
    "choose_format",
    "encode",
    "encode_within_limit",
    "mime_of",
]

MAX_BYTES = 10 * 1024 * 1024  # the guide's per-image limit
JPEG_QUALITY = 90
JPEG_FALLBACK_QUALITIES = (87, 85)
PNG_LEVEL = 6
JPEG_MAX_SIDE = 65500  # libjpeg's limit on either dimension
_SAMPLE_PX = 128
_FEW_COLOURS = 256
_FLAT_SHARE = 0.5


def mime_of(data: bytes) -> str | None:
    """The MIME type from the bytes' magic number (the only source of truth)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _has_alpha(im: Image.Image) -> bool:
    if im.mode != "RGBA":
        return False
    lo, _hi = im.getchannel("A").getextrema()
    return isinstance(lo, (int, float)) and lo < 255


def _graphic_evidence(im: Image.Image) -> str | None:
    """Why ``im`` looks like a graphic rather than a photograph, or None."""
    from PIL import Image as PILImage
    from PIL import ImageChops

    scale = min(1.0, _SAMPLE_PX / max(im.size))
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    sample = im.convert("RGB").resize(size, PILImage.Resampling.NEAREST)
    colours = sample.getcolors(maxcolors=_FEW_COLOURS)
    if colours is not None:
        return f"{len(colours)} distinct colours"
    if sample.width < 2:
        return None
    left = sample.crop((0, 0, sample.width - 1, sample.height))
    right = sample.crop((1, 0, sample.width, sample.height))
    diff = ImageChops.difference(left, right).convert("L")
    hist = diff.histogram()
    share = hist[0] / max(1, sum(hist))
    if share >= _FLAT_SHARE:
        return f"{share:.0%} flat neighbours"
    return None


def choose_format(
    im: Image.Image, *, source_format: str | None = None, prefer: str | None = None
) -> tuple[str, str]:
    """("PNG" | "JPEG", why)."""
    if _has_alpha(im):
        return "PNG", "has transparency"
    if max(im.size) > JPEG_MAX_SIDE:
        return "PNG", "too large for JPEG"
    if prefer == "PNG":
        return "PNG", "rendered graphics"
    if prefer == "JPEG":
        return "JPEG", "requested"
    if source_format in ("JPEG", "MPO"):
        return "JPEG", "source was a JPEG"
    evidence = _graphic_evidence(im)
    if evidence:
        return "PNG", f"looks like graphics ({evidence})"
    return "JPEG", "looks photographic"


def _whiten_transparent(im: Image.Image) -> Image.Image:
    """Fully transparent pixels get white RGB: a server that drops alpha then sees
    white, not whatever colour happened to be under the transparency (often black)."""
    from PIL import Image as PILImage

    alpha = im.getchannel("A")
    clear = alpha.point(lambda a: 255 if a == 0 else 0)
    if clear.getbbox() is None:
        return im
    out = im.copy()
    out.paste(PILImage.new("RGBA", im.size, (255, 255, 255, 0)), mask=clear)
    return out


def encode(im: Image.Image, fmt: str, quality: int = JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    if fmt == "PNG":
        if im.mode == "RGBA":
            im = _whiten_transparent(im)
        im.save(buf, "PNG", compress_level=PNG_LEVEL)
    else:
        rgb = im if im.mode == "RGB" else im.convert("RGB")
        rgb.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def encode_within_limit(
    im: Image.Image,
    fmt: str,
    label: str,
    *,
    smaller: Sequence[tuple[tuple[int, int], str]] = (),
    limit: int | None = None,
) -> tuple[bytes, Image.Image, list[str]]:
    """Encode ``im`` as ``fmt`` within ``limit`` bytes: (data, image encoded, notes).

    ``smaller``: sizes that keep the tile plan, each with a note, tried in order
    after the quality and format fallbacks fail at the current size.
    """
    limit = MAX_BYTES if limit is None else limit
    notes: list[str] = []
    first = len(data := encode(im, fmt))
    if first <= limit:
        return data, im, notes
    alpha = _has_alpha(im)
    qualities = (JPEG_QUALITY, *JPEG_FALLBACK_QUALITIES)
    candidates: list[tuple[tuple[int, int] | None, str, int]] = []
    for size in (None, *(s for s, _why in smaller)):
        if fmt == "PNG" and size is not None:
            candidates.append((size, "PNG", 0))
        side = max(size or im.size)
        if (fmt == "JPEG" or not alpha) and side <= JPEG_MAX_SIDE:
            candidates += [
                (size, "JPEG", q)
                for q in qualities
                if (size, fmt, q) != (None, "JPEG", JPEG_QUALITY)
            ]
    scaled: dict[tuple[int, int], Image.Image] = {}
    for size, kind, quality in candidates:
        if size is not None and size not in scaled:
            scaled[size] = downscale(im, size)
        candidate = im if size is None else scaled[size]
        data = encode(candidate, kind, quality or JPEG_QUALITY)
        if len(data) <= limit:
            if kind != fmt:
                notes.append(
                    f"sent as JPEG: the PNG was {_mib(first)}, over the {_mib(limit)} limit"
                )
            elif kind == "JPEG" and quality != JPEG_QUALITY:
                notes.append(f"JPEG quality lowered to {quality} to stay under {_mib(limit)}")
            if size is not None:
                why = dict(smaller).get(size, "")
                notes.append(f"downscaled to {size[0]}x{size[1]} to stay under {_mib(limit)}"
                             + (f" ({why})" if why else ""))  # fmt: skip
            return data, candidate, notes
    what = "with transparency " if alpha else ""
    raise ImageError(
        label,
        f"the {fmt} image {what}is {_mib(first)} and cannot be brought under the "
        f"{_mib(limit)} limit without changing its tile plan; crop or downscale it first",
    )
