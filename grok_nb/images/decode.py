"""Encoded bytes -> a lazily opened PIL image, with every Pillow failure turned into
one ``ImageError`` that names the input and the reason.

Formats Pillow cannot or should not read get a specific message before Pillow is
asked: SVG and PDF (what to do instead), HEIC without pillow-heif, HTML pages
(a URL that answered with an error page), plain text (never quoted), EPS without
Ghostscript, and data formats Pillow only identifies (GRIB, BUFR, HDF5, WMF).

``load_pixels`` decodes, and remembers a failure: Pillow would otherwise hand back
the half-decoded pixels on the next ``load()``.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from grok_nb.errors import ImageError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "captured_warnings",
    "load_pixels",
    "open_bytes",
    "pillow_errors",
    "refuse_unrenderable",
    "sniff_format",
]

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
    """What an unreadable file seems to be. Never quotes it: a glob can sweep up
    ``.env`` or ``key.txt``, and an error message travels (logs, saved notebooks)."""
    sample = head[:512]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "it seems to be a text file, not an image (its content is not shown)"
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


# Pillow reports oddities as warnings (up to dozens a file). They are caught while
# Pillow decodes, so none reaches the notebook; the meaningful ones become notes.
# Warning filters are process-wide state, so catching runs under one lock (decoding
# of parallel preparations is serialised; resizing and encoding are not).
_WARNINGS_LOCK = threading.RLock()
_capturing = threading.local()
_QUIET = ("deprecated", "transparency expressed in bytes", "unclosed file")
MAX_WARNING_NOTES = 3


def _warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    notes: list[str] = []
    seen: set[str] = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if issubclass(w.category, (DeprecationWarning, ResourceWarning)) or any(
            q in text.lower() for q in _QUIET
        ):
            continue
        if text not in seen:
            seen.add(text)
            notes.append(f"Pillow warned: {text[:120]}")
    if len(notes) > MAX_WARNING_NOTES:
        more = len(notes) - MAX_WARNING_NOTES
        notes = [*notes[:MAX_WARNING_NOTES], f"and {more} more Pillow warning(s)"]
    return notes


@contextmanager
def captured_warnings(notes: list[str] | None = None) -> Iterator[None]:
    """Catch every warning raised inside; Pillow's meaningful ones are added to
    ``notes``, other libraries' are issued again on the way out. Pillow's
    decompression-bomb warning becomes the error (see ``pillow_errors``)."""
    from PIL import Image

    if getattr(_capturing, "depth", 0):  # an outer capture already records
        yield
        return
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        _capturing.depth = 1
        try:
            yield
        finally:
            _capturing.depth = 0
    ours: list[warnings.WarningMessage] = []
    foreign: list[warnings.WarningMessage] = []
    for w in caught:  # Pillow's own, or issued by Pillow calls made from this package
        where = (w.filename or "").replace("\\", "/")
        (ours if "/PIL/" in where or "/grok_nb/" in where else foreign).append(w)
    if notes is not None:
        notes.extend(n for n in _warning_notes(ours) if n not in notes)
    for w in foreign:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _reason(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())[:200]


@contextmanager
def pillow_errors(
    label: str,
    *,
    bombs: bool = False,
    failure: str = "truncated or corrupt image data",
    notes: list[str] | None = None,
) -> Iterator[None]:
    """Run Pillow code; turn its errors into ImageError naming ``label``.

    ``bombs`` or ``notes``: also catch Pillow's warnings (``captured_warnings``):
    the decompression-bomb *warning* (issued when a file is opened) becomes the
    error, others become ``notes``. A user who trusts a huge image raises
    ``PIL.Image.MAX_IMAGE_PIXELS``.
    """
    from PIL import Image, UnidentifiedImageError

    with contextlib.ExitStack() as stack:
        if bombs or notes is not None:
            stack.enter_context(captured_warnings(notes))
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
        except NotImplementedError as exc:  # e.g. DDS pixel formats Pillow has no decoder for
            raise ImageError(
                label, f"this variant of the format is not supported by Pillow ({_reason(exc)})"
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            reason = _reason(exc)
            if "ghostscript" in reason.lower():
                raise ImageError(label, EPS_ADVICE) from None
            if "cannot find loader" in reason.lower():
                raise ImageError(label, _stub_advice(reason)) from None
            raise ImageError(label, f"{failure} ({reason})") from None


EPS_ADVICE = (
    "EPS is PostScript, which Pillow renders only with Ghostscript; install Ghostscript "
    "(the `gs` command) or export the file to PNG first"
)
_DATA_FORMATS = {"GRIB", "BUFR", "HDF5", "FITS"}


def _stub_advice(what: str) -> str:
    """For formats Pillow identifies but cannot turn into pixels without a plug-in."""
    upper = what.upper()
    if any(name in upper for name in ("WMF", "EMF")):
        return "a WMF/EMF file is a vector metafile, not a raster image; export it to PNG first"
    kind = next((name for name in _DATA_FORMATS if name in upper), "scientific data")
    return (
        f"{kind} is a data format, not a raster image; plot it first (e.g. with matplotlib) "
        "and pass the figure"
    )


def refuse_unrenderable(im: Image.Image, label: str) -> None:
    """Stub formats (GRIB, BUFR, HDF5, WMF without a handler) and EPS without
    Ghostscript are identified by Pillow but cannot be decoded: say why, now."""
    from PIL import ImageFile

    if isinstance(im, ImageFile.StubImageFile):
        loader = getattr(im, "_handler", None)  # Pillow >= 11; older ones have _load()
        old = getattr(im, "_load", None)
        if loader is None and callable(old):
            with contextlib.suppress(Exception):
                loader = old()
        if loader is None:
            raise ImageError(label, _stub_advice(str(im.format)))
    if im.format == "EPS":
        from PIL import EpsImagePlugin

        if not EpsImagePlugin.has_ghostscript():
            raise ImageError(label, EPS_ADVICE)


# Pillow keeps a half-decoded image after a failed load() and returns it without
# complaint the next time: remember which images failed, by identity, and refuse them.
_failed: dict[int, tuple[weakref.ref[Image.Image], str]] = {}
_failed_lock = threading.Lock()


def _forget(key: int) -> None:
    with _failed_lock:
        _failed.pop(key, None)


def load_pixels(im: Image.Image, label: str, notes: list[str] | None = None) -> None:
    """``im.load()`` with every failure an ImageError, now and on every later call."""
    with _failed_lock:
        known = _failed.get(id(im))
    if known is not None and known[0]() is im:
        raise ImageError(label, known[1])
    try:
        with pillow_errors(label, notes=notes):
            try:
                im.load()
            except (AssertionError, AttributeError):  # Pillow's state checks on a closed file
                raise ImageError(
                    label,
                    "the image's file was closed before its pixels were read; call .load() "
                    "inside the `with Image.open(...)` block, or pass the path instead",
                ) from None
    except ImageError as exc:
        key = id(im)

        def forget(_ref: weakref.ref[Image.Image], k: int = key) -> None:
            _forget(k)

        with _failed_lock:
            _failed[key] = (weakref.ref(im, forget), exc.reason)
        raise


def open_bytes(data: bytes, label: str, notes: list[str] | None = None) -> Image.Image:
    """Open encoded image bytes lazily (pixels are decoded later, so JPEG draft works).

    Pillow's warnings while opening become ``notes`` (when given)."""
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
    with pillow_errors(label, bombs=True, notes=notes):
        try:
            im = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError(label, _describe_unreadable(data[:512])) from None
        refuse_unrenderable(im, label)
    return im
