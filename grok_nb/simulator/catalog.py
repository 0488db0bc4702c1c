"""The simulator's model catalogue: ids, aliases, vision flags and list prices.

The models and prices are the current ones of the dated table in ``grok_nb.pricing``
(the newest pricing page). Prices are kept in the API's unit, US cents per 100
million tokens, which is also exactly the number of ``cost_in_usd_ticks`` (1e-10 USD)
per token, so the simulator's costs are exact integers like the real service's.

A request may name a model by an alias, and is then served and billed as that
model: the response's ``model`` names it, and the cost is at its price. Aliases are
listed by ``/language-models`` (as xAI lists ``grok-4-1-fast-reasoning``, ``grok-4``
and ``grok-3`` under ``grok-4.3``). ``RETIRED`` names are served the same way but
listed nowhere, like ``grok-4-1-fast-non-reasoning``, which the newest pricing page
no longer shows: only the answer reveals what such a name is billed as.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grok_nb.pricing import API_PRICE_UNITS_PER_USD_PER_MILLION, FALLBACK_PRICES

__all__ = [
    "CATALOG", "RETIRED", "SimModel", "language_models_payload", "models_payload", "resolve",
]  # fmt: skip

CREATED = 1_760_000_000  # a fixed timestamp: listings are deterministic
OWNER = "grok_nb-simulator"


@dataclass(frozen=True)
class SimModel:
    id: str
    aliases: tuple[str, ...]
    vision: bool
    prompt: int  # cents per 100M tokens == ticks per token
    cached: int
    image: int
    completion: int

    @property
    def reasoning(self) -> bool:
        return "reasoning" in self.id and "non-reasoning" not in self.id

    def language_model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": "fp_grok_nb_sim",
            "created": CREATED,
            "object": "model",
            "owned_by": OWNER,
            "version": "simulated",
            "input_modalities": ["text", "image"] if self.vision else ["text"],
            "output_modalities": ["text"],
            "prompt_text_token_price": self.prompt,
            "cached_prompt_text_token_price": self.cached,
            "prompt_image_token_price": self.image,
            "completion_text_token_price": self.completion,
            "search_price": 0,
            "aliases": list(self.aliases),
        }


def _units(usd_per_million: float | None) -> int:
    return round((usd_per_million or 0.0) * API_PRICE_UNITS_PER_USD_PER_MILLION)


# The simulator's own extra aliases, beside the ones the price table lists.
_ALIASES: dict[str, tuple[str, ...]] = {
    "grok-4.3": ("grok-4-1-fast", "grok-4.3-latest", "grok-latest"),
    "grok-4.20-0309-reasoning": ("grok-4.20-reasoning",),
    "grok-4.20-0309-non-reasoning": ("grok-4.20-non-reasoning",),
    "grok-4.7": ("grok-4.7-latest",),
}
# Served, listed nowhere, billed as the model they map to.
RETIRED: dict[str, str] = {"grok-4-1-fast-non-reasoning": "grok-4.3"}


def _build() -> dict[str, SimModel]:
    models = {
        p.model: SimModel(
            id=p.model,
            aliases=(*p.aliases, *_ALIASES.get(p.model, ())),
            vision=p.vision,
            prompt=_units(p.prompt),
            cached=_units(p.cached_prompt if p.cached_prompt is not None else p.prompt),
            image=_units(p.image_rate),
            completion=_units(p.completion),
        )
        for p in FALLBACK_PRICES.values()
        if p.current
    }
    # a text-only model, so that "images sent to a model without vision" can be tested
    models["grok-code-fast-1"] = SimModel(
        "grok-code-fast-1", ("grok-code-fast",), False, 2000, 200, 2000, 15000
    )
    return models


CATALOG: dict[str, SimModel] = _build()


def resolve(name: str) -> SimModel | None:
    """The model that serves (and bills) a request naming ``name``: by id, alias or
    retired name."""
    if name in CATALOG:
        return CATALOG[name]
    if name in RETIRED:
        return CATALOG[RETIRED[name]]
    for m in CATALOG.values():
        if name in m.aliases:
            return m
    return None


def models_payload() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": m.id, "created": CREATED, "object": "model", "owned_by": OWNER}
            for m in sorted(CATALOG.values(), key=lambda m: m.id)
        ],
    }


def language_models_payload() -> dict[str, Any]:
    return {"models": [m.language_model() for m in sorted(CATALOG.values(), key=lambda m: m.id)]}
