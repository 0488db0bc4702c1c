"""Where grok_nb keeps its files: one resolver, so every file honours GROK_NB_CACHE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]

ENV_CACHE_DIR = "GROK_NB_CACHE_DIR"


def cache_dir() -> Path:
    """``$GROK_NB_CACHE_DIR``, else the user cache directory for grok_nb."""
    base = os.environ.get(ENV_CACHE_DIR)
    if base:
        return Path(base).expanduser()
    from platformdirs import user_cache_dir  # only when no directory was given

    return Path(user_cache_dir("grok_nb"))
