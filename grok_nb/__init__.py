"""grok_nb: ask xAI's Grok vision models about any image in a Jupyter notebook.

This module is a short index. Names load on first use so ``import grok_nb`` stays
cheap (no Pillow, numpy, matplotlib, httpx or widgets until needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from grok_nb._version import __version__
from grok_nb.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceeded,
    CacheMiss,
    ConfigError,
    CreditsExhausted,
    GrokError,
    ImageError,
    InternalServerError,
    MissingKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StructuredOutputError,
)

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "tiles": "grok_nb.asking",
    "ask": "grok_nb.asking",
    "ask_async": "grok_nb.asking",
    "Conversation": "grok_nb.conversation",
    "ask_many": "grok_nb.batch",
    "answers_to_frame": "grok_nb.frames",
    "submit_batch": "grok_nb.batch_api",
    "BatchJob": "grok_nb.batch_api",
    "batch_jobs": "grok_nb.batch_api",
    "calibrate": "grok_nb.calibration",
    "locate": "grok_nb.grounding",
    "Detections": "grok_nb.boxes",
    "Box": "grok_nb.boxes",
    "TilePlan": "grok_nb.tiling",
    "TileRule": "grok_nb.tiling",
    "Answer": "grok_nb.answer",
    "Usage": "grok_nb.answer",
    "Client": "grok_nb.api.client",
    "TileExplorer": "grok_nb.notebook.explorer",
    "Chat": "grok_nb.notebook.chat",
    "prepare": "grok_nb.images",
    "PreparedImage": "grok_nb.images",
}
_SUBMODULES = ("simulator",)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceeded",
    "CacheMiss",
    "ConfigError",
    "CreditsExhausted",
    "GrokError",
    "ImageError",
    "InternalServerError",
    "MissingKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StructuredOutputError",
    "__version__",
    "load_ipython_extension",
    *_LAZY,
    *_SUBMODULES,
]

if TYPE_CHECKING:
    from grok_nb.tiling import TilePlan as TilePlan


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"grok_nb.{name}")
    else:
        raise AttributeError(f"module 'grok_nb' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext grok_nb``: register the magics."""
    from grok_nb.notebook.magics import load_ipython_extension as load

    load(ipython)
