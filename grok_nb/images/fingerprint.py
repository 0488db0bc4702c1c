"""A cheap identity for a source, so an image prepared once is not prepared again.

Preparing means decoding, normalising, resizing and encoding: milliseconds to a
third of a second (a matplotlib figure). Re-running a cell whose answer is cached
should cost none of that. A fingerprint is exact for content we can hash cheaply
(PIL pixels, array bytes, raw bytes, a file's contents); objects we
cannot identify cheaply (figures, arrays of Axes, URLs fetched later) get ``None``
and are prepared every time: a stale fingerprint would send the old picture, and
replay the old answer. A PIL image's fingerprint covers everything that changes
what is sent, not just its pixel bytes (palette, transparency, orientation...).
Fingerprinting never raises: an image that cannot be decoded gets ``None``, and
preparing it raises the ``ImageError``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from grok_nb.errors import ImageError
from grok_nb.images.decode import load_pixels

__all__ = ["fingerprint"]

MAX_HASH_BYTES = 64 * 1024 * 1024  # beyond this, preparing is as cheap as hashing


def _digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(part)
    return h.hexdigest()


def fingerprint(source: Any) -> str | None:
    """A string that changes whenever ``source``'s image would, or ``None``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "bytes:" + _digest(source)
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith(("http://", "https://", "data:")) or any(c in text for c in "*?["):
            return None  # URLs may change behind our back; globs expand to several files
        path = Path(text).expanduser()
        try:
            if not path.is_file() or path.stat().st_size > MAX_HASH_BYTES:
                return None  # let prepare() report the problem, or prepare a huge file
            content = path.read_bytes()
        except OSError:
            return None
        # by content, not mtime: a fresh clone (CI) has new mtimes but the same photos
        return f"file:{path.name}:" + _digest(content)
    module = type(source).__module__ or ""
    if module.startswith("PIL.") and hasattr(source, "tobytes"):
        return _pil_fingerprint(source)
    if module.startswith("numpy") and hasattr(source, "tobytes") and hasattr(source, "dtype"):
        if source.dtype.kind not in "biufc" or source.nbytes > MAX_HASH_BYTES:
            return None  # an object array (of matplotlib Axes): its bytes are pointers
        head = f"{source.dtype.str}:{source.shape}".encode()
        return "ndarray:" + _digest(head, source.tobytes())
    return None  # figures, tensors, IPython images...: prepared every time


def _pil_fingerprint(im: Any) -> str | None:
    """Everything that changes the picture sent: the pixels of the current frame,
    mode, size, palette (with its alpha), transparency, orientation, colour profile,
    and the format it came from (a JPEG source stays JPEG)."""
    try:
        if im.width * im.height * 4 > MAX_HASH_BYTES:
            return None
        if getattr(im, "tile", None):  # not decoded yet: decode as preparation would,
            load_pixels(im, "image")  # so a failure is remembered and reported by it
        palette = b""
        if im.mode in ("P", "PA") and im.palette is not None:
            palette = bytes(im.getpalette(im.palette.mode) or b"")
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception:  # a broken EXIF block: preparation ignores it as well
            orientation = "unreadable"
        info = im.info
        head = repr(
            (
                im.mode,
                im.size,
                im.format,
                im.tell() if getattr(im, "n_frames", 1) > 1 else 0,
                info.get("transparency"),
                orientation,
                hashlib.sha1(info.get("icc_profile") or b"").hexdigest(),
                hashlib.sha1(info.get("exif") or b"").hexdigest(),
            )
        ).encode()
        return "pil:" + _digest(head, palette, im.tobytes())
    except ImageError:
        return None  # preparing it raises the same error, naming it properly
    except Exception:  # never let identifying an image fail where preparing would explain
        return None
