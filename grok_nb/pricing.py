"""Model prices: a dated offline table, and the arithmetic on token counts.

Prices are read from ``GET /language-models`` at run time when a client is
available (see ``client.py``); this table is the fallback for offline use and
for estimates made before any call. Image tokens are billed at the prompt rate.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_MODEL",
    "FALLBACK_PRICES",
    "FALLBACK_PRICES_DATE",
    "ModelPrice",
    "format_usd",
    "price_for",
]

DEFAULT_MODEL = "grok-4-1-fast-non-reasoning"
FALLBACK_PRICES_DATE = "2026-11-01"
TICKS_PER_USD = 10_000_000_000  # cost_in_usd_ticks: 1 tick = 1e-10 USD
# /language-models prices are US cents per 100 million tokens; /10_000 gives USD per million.
API_PRICE_UNITS_PER_USD_PER_MILLION = 10_000


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens for one model."""

    model: str
    prompt: float
    cached_prompt: float | None
    completion: float
    image: float | None = None  # None: billed at the prompt rate
    source: str = f"fallback table {FALLBACK_PRICES_DATE}"
    vision: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def image_rate(self) -> float:
        return self.prompt if self.image is None else self.image

    def cost(
        self,
        *,
        prompt_tokens: int = 0,
        cached_tokens: int = 0,
        completion_tokens: int = 0,
        reasoning_tokens: int = 0,
        image_tokens: int = 0,
    ) -> float:
        """USD for a call.

        Cached and image tokens are subsets of ``prompt_tokens``; image tokens are
        billed at ``image_rate`` (the prompt rate unless the API lists another).
        """
        cached_rate = self.prompt if self.cached_prompt is None else self.cached_prompt
        uncached = max(prompt_tokens - cached_tokens - image_tokens, 0)
        return (
            uncached * self.prompt
            + cached_tokens * cached_rate
            + image_tokens * self.image_rate
            + (completion_tokens + reasoning_tokens) * self.completion
        ) / 1_000_000

    def image_cost(self, tokens: int) -> float:
        return tokens * self.image_rate / 1_000_000


def _entry(model: str, prompt: float, cached: float | None, completion: float) -> ModelPrice:
    return ModelPrice(model=model, prompt=prompt, cached_prompt=cached, completion=completion)


FALLBACK_PRICES: dict[str, ModelPrice] = {
    p.model: p
    for p in (
        _entry("grok-4-1-fast-non-reasoning", 0.20, 0.05, 0.50),
        _entry("grok-4-1-fast-reasoning", 0.20, 0.05, 0.50),
        _entry("grok-4.3", 1.25, 0.20, 2.50),
        _entry("grok-4.20-0309-reasoning", 1.25, 0.20, 2.50),
        _entry("grok-4.20-0309-non-reasoning", 1.25, 0.20, 2.50),
        _entry("grok-2-vision-1212", 2.00, None, 10.00),
    )
}

_live_prices: dict[str, ModelPrice] = {}


def remember_prices(prices: dict[str, ModelPrice]) -> None:
    """Record prices read from the API so later estimates use them."""
    _live_prices.update(prices)


def price_for(model: str | None = None) -> ModelPrice | None:
    """Best known price for ``model`` (live prices first, then the dated table).

    Unknown models return ``None``: callers show "price unknown" rather than guess.
    """
    name = model or DEFAULT_MODEL
    if name in _live_prices:
        return _live_prices[name]
    if name in FALLBACK_PRICES:
        return FALLBACK_PRICES[name]
    for live in _live_prices.values():  # aliases resolved by the API listing
        if name in live.aliases:
            return live
    return None


def format_usd(value: float | None) -> str:
    if value is None:
        return "price unknown"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.6f}".rstrip("0")
    return f"${value:,.4f}"
