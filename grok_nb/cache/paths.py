"""The one place that decides where grok_nb keeps files on disk.

``cache_dir()`` is ``$GROK_NB_CACHE_DIR`` when set, else the platform's user cache
directory for ``grok_nb`` (platformdirs). Every store asks here, so the one variable
moves all of them: the response cache, the prepared-image store beside it, the model
listing cache and (``calibration.py``) the calibration store. Nothing is created here;
callers make the folder when they write.

A leaf module: ``grok_nb.api`` may import it (the model listing cache) although it
imports nothing else from ``grok_nb.cache``; platformdirs is imported only when no
override is set, to keep ``import grok_nb`` cheap.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = [
    "CACHE_DIR_ENV",
    "RESPONSES_FILENAME",
    "cache_dir",
    "default_cache_path",
    "models_cache_path",
    "prepared_store_path",
]

CACHE_DIR_ENV = "GROK_NB_CACHE_DIR"
APP_NAME = "grok_nb"
RESPONSES_FILENAME = "responses.sqlite3"
PREPARED_SUFFIX = ".prepared.sqlite3"


def cache_dir() -> Path:
    """``$GROK_NB_CACHE_DIR`` (``~`` expanded), else the user cache dir for grok_nb."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs  # only needed when no directory is configured

    return Path(platformdirs.user_cache_dir(APP_NAME))


def default_cache_path() -> Path:
    """The response cache file used when ``cache_path`` is not set."""
    return cache_dir() / RESPONSES_FILENAME


def prepared_store_path(cache_path: str | os.PathLike[str] | None = None) -> Path:
    """The prepared-image store paired with a response cache file (default: the
    default cache): ``responses.sqlite3`` -> ``responses.prepared.sqlite3``."""
    path = Path(cache_path).expanduser() if cache_path else default_cache_path()
    return path.with_suffix(PREPARED_SUFFIX)


def models_cache_path(base_url: str) -> Path:
    """The cached ``/language-models`` listing for ``base_url`` (one file per URL, so
    the simulator's catalogue never stands in for the real one)."""
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return cache_dir() / f"language-models-{digest}.json"
