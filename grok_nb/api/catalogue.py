"""Model list, prices and vision capability from ``GET /language-models``.

The listing is cached on disk for a day, one file per base URL (so the simulator's
catalogue never stands in for the real one), in ``grok_nb.cache.paths.cache_dir()``
(``$GROK_NB_CACHE_DIR``, else the user cache directory). The
file holds only the server's listing and the time it was fetched: never the key.
When the API cannot be asked (no key, offline), ``language_models`` falls back to
a stale cache, then to the dated table in ``grok_nb.pricing``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from grok_nb.cache.paths import models_cache_path
from grok_nb.errors import GrokError
from grok_nb.pricing import (
    API_PRICE_UNITS_PER_USD_PER_MILLION,
    FALLBACK_PRICES,
    ModelPrice,
    remember_prices,
)

if TYPE_CHECKING:
    from grok_nb.api.client import Client

__all__ = [
    "CACHE_MAX_AGE_S",
    "language_models",
    "parse_language_models",
    "read_cache",
    "use_language_models",
    "vision_models",
    "write_cache",
]

CACHE_MAX_AGE_S = 24 * 3600
logger = logging.getLogger("grok_nb.api.catalogue")


def read_cache(base_url: str, *, max_age_s: float | None = CACHE_MAX_AGE_S) -> Any:
    """The cached listing, or ``None`` when missing, unreadable or older than ``max_age_s``."""
    path = models_cache_path(base_url)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        fetched = float(record["fetched_at"])
        payload = record["payload"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if record.get("base_url") != base_url:
        return None
    if max_age_s is not None and time.time() - fetched > max_age_s:
        return None
    return payload


def write_cache(base_url: str, payload: Any) -> None:
    """Store a listing; a cache that cannot be written is skipped, not an error."""
    path = models_cache_path(base_url)
    record = {"base_url": base_url, "fetched_at": time.time(), "payload": payload}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        tmp.replace(path)  # atomic: concurrent kernels never read half a file
    except OSError as exc:
        logger.warning("could not write the model cache %s: %s", path, exc)


def _usd_per_million(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) / API_PRICE_UNITS_PER_USD_PER_MILLION


def parse_language_models(
    payload: Any, *, source: str = "GET /language-models"
) -> list[ModelPrice]:
    """``ModelPrice`` entries from a ``/language-models`` body (prices: cents per 100M)."""
    entries = payload.get("models", []) if isinstance(payload, dict) else []
    prices: list[ModelPrice] = []
    for m in entries:
        if not isinstance(m, dict) or not m.get("id"):
            continue
        prompt = _usd_per_million(m.get("prompt_text_token_price")) or 0.0
        image = _usd_per_million(m.get("prompt_image_token_price"))
        prices.append(
            ModelPrice(
                model=str(m["id"]),
                prompt=prompt,
                cached_prompt=_usd_per_million(m.get("cached_prompt_text_token_price")),
                completion=_usd_per_million(m.get("completion_text_token_price")) or 0.0,
                image=None if image in (None, prompt) else image,
                source=source,
                vision="image" in (m.get("input_modalities") or ()),
                aliases=tuple(str(a) for a in m.get("aliases") or ()),
            )
        )
    return sorted(prices, key=lambda p: p.model)


def use_language_models(payload: Any, base_url: str) -> list[ModelPrice]:
    """Parse a listing and remember its prices for later estimates."""
    prices = parse_language_models(payload, source=f"GET {base_url}/language-models")
    remember_prices({p.model: p for p in prices})
    return prices


def model_ids(data: Any) -> list[str]:
    """The ids in a ``GET /models`` listing, sorted."""
    return sorted(m["id"] for m in data.get("data", []) if isinstance(m, dict) and "id" in m)


def use_fetched(payload: Any, base_url: str, cached: Any) -> list[ModelPrice]:
    """A ``/language-models`` listing, written to the disk cache unless it came from it."""
    if cached is None:
        write_cache(base_url, payload)
    return use_language_models(payload, base_url)


def language_models(
    client: Client, *, refresh: bool = False, fallback: bool = True
) -> list[ModelPrice]:
    """Models with prices and vision flags; offline, a stale cache or the dated table.

    With ``fallback=False`` errors (missing key, network, HTTP) are raised instead.
    """
    try:
        return client.language_models(refresh=refresh)
    except GrokError as exc:
        if not fallback:
            raise
        try:
            base = client.base_url
        except GrokError:
            base = ""
        stale = read_cache(base, max_age_s=None) if base else None
        if stale is not None:
            logger.info("using the cached model list for %s (%s)", base, exc)
            return use_language_models(stale, base)
        logger.info("using the dated fallback price table (%s)", exc)
        return sorted(FALLBACK_PRICES.values(), key=lambda p: p.model)


def vision_models(client: Client, **kwargs: Any) -> list[str]:
    """Ids of the models that accept images."""
    return [p.model for p in language_models(client, **kwargs) if p.vision]
