"""Model prices: a dated offline table, the arithmetic on token counts, the default model.

Prices are read from ``GET /language-models`` at run time when a client is
available (``api/catalogue.py`` hands them to ``remember_prices``); this table is
the fallback for offline use and for estimates made before any listing was read.
Image tokens are billed at the prompt rate.

Three things the price of a call depends on, and where they are decided here:

- the model that was *billed*: a request for an old name may be served, and billed,
  as another model (the response's ``model`` says which). ``remember_billed`` learns
  asked -> billed from answers, and ``price_for`` then prices the asked name as the
  billed one, so later estimates for that name are right;
- the long-context tier: at ``LONG_CONTEXT_TOKENS`` prompt tokens or more every
  rate doubles (``ModelPrice.cost``);
- which model is asked when none is named: ``default_model()``, the cheapest current
  vision model of the live listing, else of this table. Chosen, not frozen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MODEL",
    "FALLBACK_PRICES",
    "FALLBACK_PRICES_DATE",
    "LONG_CONTEXT_TOKENS",
    "ModelPrice",
    "billed_as",
    "cheapest_vision_model",
    "default_model",
    "format_usd",
    "price_for",
    "remember_billed",
    "remember_prices",
]

# The newest copy of docs.x.ai/developers/pricing this table follows (shared/xai-api.md).
FALLBACK_PRICES_DATE = "2026-10"
PRICING_PAGE = f"pricing page {FALLBACK_PRICES_DATE}"
OLDER_PAGE = f"older pricing page (not on the {FALLBACK_PRICES_DATE} page)"
TICKS_PER_USD = 10_000_000_000  # cost_in_usd_ticks: 1 tick = 1e-10 USD
# /language-models prices are US cents per 100 million tokens; /10_000 gives USD per million.
API_PRICE_UNITS_PER_USD_PER_MILLION = 10_000
# At this many prompt tokens or more, every rate of the call doubles (the pricing page).
LONG_CONTEXT_TOKENS = 200_000
LONG_CONTEXT_FACTOR = 2.0
# The call that "cheapest" is measured on: one full image (7 tiles), a short prompt
# and a short answer, the shape of a typical vision question.
REFERENCE_CALL = {"image_tokens": 1_792, "text_tokens": 200, "completion_tokens": 300}


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens for one model (below the long-context tier)."""

    model: str
    prompt: float
    cached_prompt: float | None
    completion: float
    image: float | None = None  # None: billed at the prompt rate
    source: str = f"fallback table, {PRICING_PAGE}"
    vision: bool = True
    aliases: tuple[str, ...] = ()
    current: bool = True  # False: a name the newest pricing page no longer lists

    @property
    def image_rate(self) -> float:
        return self.prompt if self.image is None else self.image

    @property
    def bills_reasoning(self) -> bool:
        """A reasoning model bills hidden reasoning tokens on top of the answer."""
        return "reasoning" in self.model and "non-reasoning" not in self.model

    def cost(
        self,
        *,
        prompt_tokens: int = 0,
        cached_tokens: int = 0,
        completion_tokens: int = 0,
        reasoning_tokens: int = 0,
        image_tokens: int = 0,
        long_context: bool | None = None,
    ) -> float:
        """USD for a call.

        Cached and image tokens are subsets of ``prompt_tokens``; image tokens are
        billed at ``image_rate`` (the prompt rate unless the API lists another). At
        ``LONG_CONTEXT_TOKENS`` prompt tokens or more every rate doubles; pass
        ``long_context`` to decide it yourself (pricing a completion on its own, say).
        """
        cached_rate = self.prompt if self.cached_prompt is None else self.cached_prompt
        # A cached prefix may hold images (a conversation's earlier turns): what is
        # cached beyond the text is taken off the image tokens.
        text = max(prompt_tokens - image_tokens, 0)
        cached_images = min(max(cached_tokens - text, 0), image_tokens)
        uncached = max(text - cached_tokens, 0)
        usd = (
            uncached * self.prompt
            + cached_tokens * cached_rate
            + (image_tokens - cached_images) * self.image_rate
            + (completion_tokens + reasoning_tokens) * self.completion
        ) / 1_000_000
        if long_context is None:
            long_context = prompt_tokens >= LONG_CONTEXT_TOKENS
        return usd * LONG_CONTEXT_FACTOR if long_context else usd

    def image_cost(self, tokens: int) -> float:
        return tokens * self.image_rate / 1_000_000

    def reference_cost(self) -> float:
        """What ``REFERENCE_CALL`` costs on this model: the measure of "cheapest"."""
        r = REFERENCE_CALL
        return self.cost(
            prompt_tokens=r["image_tokens"] + r["text_tokens"],
            image_tokens=r["image_tokens"],
            completion_tokens=r["completion_tokens"],
        )


def _entry(
    model: str,
    prompt: float,
    cached: float | None,
    completion: float,
    *,
    vision: bool = True,
    aliases: tuple[str, ...] = (),
    note: str = "",
    current: bool = True,
) -> ModelPrice:
    source = f"fallback table, {PRICING_PAGE if current else OLDER_PAGE}"
    return ModelPrice(
        model=model, prompt=prompt, cached_prompt=cached, completion=completion,
        source=source + (f"; {note}" if note else ""), vision=vision, aliases=aliases,
        current=current,
    )  # fmt: skip


_UNCONFIRMED = "image input not confirmed on its model page"
FALLBACK_PRICES: dict[str, ModelPrice] = {
    p.model: p
    for p in (
        _entry("grok-4.7", 2.00, 0.50, 6.00),
        _entry("grok-4.6", 2.00, 0.50, 6.00, note=_UNCONFIRMED),
        # a third party gives $0.50 cached for grok-4.5; the pricing page says $0.30
        _entry("grok-4.5", 2.00, 0.30, 6.00, note=_UNCONFIRMED),
        # an official models page lists these old names as aliases of grok-4.3
        _entry(
            "grok-4.3", 1.25, 0.20, 2.50, aliases=("grok-4-1-fast-reasoning", "grok-4", "grok-3")
        ),
        _entry("grok-4.20-0309-reasoning", 1.25, 0.20, 2.50),
        _entry("grok-4.20-0309-non-reasoning", 1.25, 0.20, 2.50),
        # a coding model: priced on the page, no sign that it takes images
        _entry("grok-build-0.1", 1.00, 0.20, 2.00, vision=False),
        # not on the newest page; kept at its older price so an old notebook still gets
        # an estimate, and never chosen as the default. What it is billed as today is
        # learnt from the first answer (``remember_billed``).
        _entry("grok-4-1-fast-non-reasoning", 0.20, 0.05, 0.50, current=False),
    )
}

_live_prices: dict[str, ModelPrice] = {}
_billed: dict[str, str] = {}  # asked name -> the model the API billed for it


def remember_prices(prices: dict[str, ModelPrice]) -> None:
    """Record prices read from the API so later estimates (and the default) use them."""
    _live_prices.update(prices)


def remember_billed(asked: str | None, billed: str | None) -> None:
    """Record that a request for ``asked`` was billed as ``billed`` (the response's
    ``model``), so later estimates for ``asked`` use the billed model's price."""
    if not asked or not billed:
        return
    if asked == billed:
        _billed.pop(asked, None)  # the name is billed as itself (again)
    else:
        _billed[asked] = billed


def billed_as(model: str) -> str | None:
    """The model a request for ``model`` was last billed as, when that was another one."""
    return _billed.get(model)


def _lookup(name: str) -> ModelPrice | None:
    if name in _live_prices:
        return _live_prices[name]
    for live in _live_prices.values():  # aliases resolved by the API listing
        if name in live.aliases:
            return live
    if name in FALLBACK_PRICES:
        return FALLBACK_PRICES[name]
    for entry in FALLBACK_PRICES.values():
        if name in entry.aliases:
            return entry
    return None


def price_for(model: str | None = None) -> ModelPrice | None:
    """Best known price for ``model``: what it was last billed as, then live prices,
    then the dated table (each by id, then by alias).

    Unknown models return ``None``: callers show "price unknown" rather than guess.
    """
    name = model or default_model()
    billed = _billed.get(name)
    if billed is not None:
        found = _lookup(billed)
        if found is not None:
            return found
    return _lookup(name)


def cheapest_vision_model(prices: Iterable[ModelPrice]) -> str | None:
    """The current vision model whose ``REFERENCE_CALL`` costs least.

    Ties go to a model that bills no hidden reasoning tokens, then to the first name in
    alphabetical order, so the choice is the same on every machine.
    """
    candidates = [p for p in prices if p.vision and p.current]
    if not candidates:
        return None
    best = min(candidates, key=lambda p: (p.reference_cost(), p.bills_reasoning, p.model))
    return best.model


def default_model() -> str:
    """The model asked when none is named: the cheapest current vision model of the
    live listing once one was read, else the dated table's choice."""
    return cheapest_vision_model(_live_prices.values()) or DEFAULT_MODEL


# The offline choice, for places that need a constant (the explorer's trait default).
DEFAULT_MODEL: str = cheapest_vision_model(FALLBACK_PRICES.values()) or "grok-4.3"


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
