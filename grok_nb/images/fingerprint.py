"""A cheap identity for a source, so an image prepared once is not prepared again.

Preparing means decoding, normalising, resizing and encoding: milliseconds to a
third of a second (a matplotlib figure). Re-running a cell whose answer is cached
should cost none of that. A fingerprint is exact for content we can hash cheaply
(PIL pixels, array bytes, raw bytes, a file's contents); objects we
cannot identify cheaply (figures, URLs fetched later) get ``None`` and are prepared
every time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

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
        if getattr(source, "n_frames", 1) > 1 or source.width * source.height * 4 > MAX_HASH_BYTES:
            return None
        head = f"{source.mode}:{source.size}:{source.info.get('exif', b'')[:64]!r}".encode()
        return "pil:" + _digest(head, source.tobytes())
    if module.startswith("numpy") and hasattr(source, "tobytes") and hasattr(source, "dtype"):
        if source.nbytes > MAX_HASH_BYTES:
            return None
        head = f"{source.dtype.str}:{source.shape}".encode()
        return "ndarray:" + _digest(head, source.tobytes())
    return None
