"""Encoded bytes -> a lazily opened PIL image, with every Pillow failure turned into
one ``ImageError`` that names the input and the reason.

Formats Pillow cannot or should not read get a specific message before Pillow is
asked: SVG and PDF (what to do instead), HEIC without pillow-heif, HTML pages
(a URL that answered with an error page), plain text.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from grok_nb.errors import ImageError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["open_bytes", "pillow_errors", "sniff_format"]

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

SVG_ADVICE = (
    "SVG is a vector format and the API takes only PNG or JPEG; export it to PNG first "
    "(e.g. cairosvg.svg2png(url=path, write_to='out.png'), or Inkscape / a browser)"
)
PDF_ADVICE = (
    "PDF is a document, not an image; render the page to PNG first "
    "(e.g. `pdftoppm -png -r 150 file.pdf page`, or pdf2image.convert_from_path)"
)


def sniff_format(head: bytes) -> str | None:
    """A name for formats recognised from their first bytes that need special handling."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"%pdf-"):
        return "pdf"
    if text.startswith(b"<svg") or (
        text.startswith((b"<?xml", b"<!doctype svg", b"<!--")) and b"<svg" in text[:4096]
    ):
        return "svg"
    if text.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heif"
    return None


def _describe_unreadable(head: bytes) -> str:
    sample = head[:512]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        start = " ".join(text.split())[:40]
        return f"it contains text, not image data (it starts {start!r})"
    return f"not an image format Pillow can read (first bytes: {head[:8].hex(' ')})"


def _register_heif(label: str) -> None:
    try:
        import pillow_heif
    except ImportError:
        raise ImageError(
            label,
            "HEIC/HEIF needs the optional pillow-heif package (pip install pillow-heif), "
            "or convert the photo to JPEG first",
        ) from None
    pillow_heif.register_heif_opener()


_WARNINGS_LOCK = threading.Lock()  # warning filters are process-wide state


@contextmanager
def pillow_errors(
    label: str, *, bombs: bool = False, failure: str = "truncated or corrupt image data"
) -> Iterator[None]:
    """Run Pillow code; turn its errors into ImageError naming ``label``.

    ``bombs``: also turn Pillow's decompression-bomb *warning* (issued when a file
    is opened) into the error, so it never leaks to the notebook. Warning filters
    are process-wide, so that part runs under a lock; use it only around
    ``Image.open``, which is quick. A user who trusts a huge image raises
    ``PIL.Image.MAX_IMAGE_PIXELS``.
    """
    from PIL import Image, UnidentifiedImageError

    with contextlib.ExitStack() as stack:
        if bombs:
            stack.enter_context(_WARNINGS_LOCK)
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(
                label,
                f"refused as a possible decompression bomb ({exc}); raise "
                "PIL.Image.MAX_IMAGE_PIXELS if you trust this image",
            ) from None
        except UnidentifiedImageError:
            raise ImageError(label, "not an image format Pillow can read") from None
        except MemoryError:
            raise ImageError(label, "not enough memory to decode this image") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ImageError(label, f"{failure} ({reason})") from None


def open_bytes(data: bytes, label: str) -> Image.Image:
    """Open encoded image bytes lazily (pixels are decoded later, so JPEG draft works)."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageError(label, "empty (0 bytes)")
    kind = sniff_format(data[:4096])
    if kind == "svg":
        raise ImageError(label, SVG_ADVICE)
    if kind == "pdf":
        raise ImageError(label, PDF_ADVICE)
    if kind == "html":
        raise ImageError(label, "it is an HTML page, not an image")
    if kind == "heif":
        _register_heif(label)
    with pillow_errors(label, bombs=True):
        try:
            return Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError(label, _describe_unreadable(data[:512])) from None
