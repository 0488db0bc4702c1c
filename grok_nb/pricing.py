"""Model prices: a dated offline table, and the arithmetic on token counts.

Prices are read from ``GET /language-models`` at run time when a client is
available (see ``client.py``); this table is the fallback for offline use and
for estimates made before any call. Image tokens are billed at the prompt rate.
"""

from __future__ import annotations

import math
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


USD_TICK = 1 / TICKS_PER_USD  # the smallest amount the API bills
_TICK_EXPONENT = -10  # USD_TICK == 10**_TICK_EXPONENT
UNKNOWN_PRICE = "price unknown"


def format_usd(value: float | None) -> str:
    """Dollars as a user reads them; ``js/usd.js`` ``formatUsd`` is the exact twin.

    - ``None``, NaN and infinities: ``"price unknown"``; zero (either sign): ``"$0"``.
    - ``|value| >= 1``: cents and thousands separators, ``"$1.25"``, ``"$1,234.50"``.
    - ``0 < |value| < 1``: three significant figures, trailing zeros dropped but at least
      two decimals: ``"$0.50"``, ``"$0.0125"``, ``"$0.000411"``, ``"$0.0000004"``.
    - below one billing tick (1e-10 USD): ``"< $0.0000000001"`` (``"> -$0.0000000001"``).
    - negatives: a leading minus, ``"-$0.0012"``.

    Rounding is half up on the shortest decimal that reads back as the same double
    (Python's ``repr``, JS's ``String``), done in integers: ``0.125`` gives ``"$0.125"``,
    ``1.005`` gives ``"$1.01"``, and a value that rounds up to a dollar is shown in cents
    (``0.9996`` gives ``"$1.00"``, never ``"$1.000"``). Neither language's own float
    formatting is used, because they break exact decimal ties differently.
    tests/data/usd_vectors.json holds both implementations to the same strings.
    """
    if value is None:
        return UNKNOWN_PRICE
    v = float(value)
    if not math.isfinite(v):
        return UNKNOWN_PRICE
    if v == 0:
        return "$0"
    sign = "-" if v < 0 else ""
    digits, exponent = _shortest_decimal(abs(v))  # abs(v) == digits * 10**exponent
    magnitude = len(str(digits)) - 1 + exponent  # floor(log10(abs(v)))
    if magnitude < _TICK_EXPONENT:
        return "> -$0.0000000001" if sign else "< $0.0000000001"
    if magnitude < 0:
        places = 2 - magnitude  # three significant figures
        scaled = _round_half_up(digits, exponent + places)
        if scaled < 10**places:  # still below a dollar once rounded
            text = str(scaled).rjust(places, "0").rstrip("0").ljust(2, "0")
            return f"{sign}$0.{text}"
    cents = _round_half_up(digits, exponent + 2)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def _shortest_decimal(v: float) -> tuple[int, int]:
    """``(digits, exponent)`` with ``v == digits * 10**exponent`` read from ``repr(v)``."""
    mantissa, _, exp = repr(v).partition("e")
    whole, _, fraction = mantissa.partition(".")
    return int(whole + fraction), int(exp or 0) - len(fraction)


def _round_half_up(digits: int, shift: int) -> int:
    """``digits * 10**shift`` rounded half up to an integer (exactly, in integers)."""
    if shift >= 0:
        return digits * 10**shift
    unit = 10**-shift
    quotient, remainder = divmod(digits, unit)
    return quotient + (1 if 2 * remainder >= unit else 0)
