"""Prices: the dated table, the long-context tier, the chosen default model, and the
billed model deciding the price (against the simulator over loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

import grok_nb.pricing as pricing
from grok_nb.api.client import Client
from grok_nb.asking import ask, plan_call
from grok_nb.ledger import LEDGER
from grok_nb.pricing import (
    FALLBACK_PRICES,
    FALLBACK_PRICES_DATE,
    LONG_CONTEXT_TOKENS,
    ModelPrice,
    default_model,
    price_for,
)
from grok_nb.render import estimate_mimebundle, models_mimebundle
from grok_nb.settings import GrokVision
from grok_nb.simulator import catalog

OLD_NAME = "grok-4-1-fast-non-reasoning"  # not on the newest page; the simulator bills it as 4.3


@pytest.fixture(autouse=True)
def _fresh_pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the dated table: nothing learnt from listings or answers."""
    monkeypatch.setattr(pricing, "_live_prices", {})
    monkeypatch.setattr(pricing, "_billed", {})
    LEDGER.clear()
    yield
    LEDGER.clear()


def _picture() -> Image.Image:
    img = Image.new("RGB", (900, 600), (30, 120, 200))
    img.paste((240, 200, 40), (100, 100, 400, 300))
    return img


# --- the dated table -------------------------------------------------------------------


def test_the_table_is_dated_and_has_the_current_vision_models() -> None:
    assert FALLBACK_PRICES_DATE == "2026-10"
    rates = {m: (p.prompt, p.cached_prompt, p.completion) for m, p in FALLBACK_PRICES.items()}
    assert rates["grok-4.7"] == rates["grok-4.6"] == (2.00, 0.50, 6.00)
    assert rates["grok-4.5"] == (2.00, 0.30, 6.00)
    for name in ("grok-4.3", "grok-4.20-0309-reasoning", "grok-4.20-0309-non-reasoning"):
        assert rates[name] == (1.25, 0.20, 2.50)
        assert FALLBACK_PRICES[name].vision and FALLBACK_PRICES[name].current
    build = FALLBACK_PRICES["grok-build-0.1"]
    assert (build.prompt, build.completion, build.vision) == (1.00, 2.00, False)
    assert all("2026-10" in p.source for p in FALLBACK_PRICES.values() if p.current)


def test_old_names_are_aliases_priced_as_grok_4_3() -> None:
    for old in ("grok-4-1-fast-reasoning", "grok-4", "grok-3"):
        price = price_for(old)
        assert price is not None and price.model == "grok-4.3"
        assert old not in FALLBACK_PRICES  # an alias, not a model of its own


def test_the_retired_name_keeps_its_older_price_and_says_so() -> None:
    old = FALLBACK_PRICES[OLD_NAME]
    assert (old.prompt, old.cached_prompt, old.completion) == (0.20, 0.05, 0.50)
    assert not old.current and "older pricing page" in old.source


def test_every_rate_doubles_at_200k_prompt_tokens() -> None:
    p = FALLBACK_PRICES["grok-4.3"]
    kw = dict(cached_tokens=1_000, image_tokens=1_792, completion_tokens=500)
    below = p.cost(prompt_tokens=LONG_CONTEXT_TOKENS - 1, **kw)
    at = p.cost(prompt_tokens=LONG_CONTEXT_TOKENS, **kw)
    # one more uncached text token, then everything at twice the rate
    assert at == pytest.approx(2 * (below + p.prompt / 1e6))
    assert p.cost(completion_tokens=100, long_context=True) == pytest.approx(2 * 100 * 2.50 / 1e6)
    small = p.cost(prompt_tokens=1_000, completion_tokens=100)
    assert small == pytest.approx((1_000 * 1.25 + 100 * 2.50) / 1e6)


# --- the default model: chosen, not frozen -----------------------------------------------


def test_offline_default_is_the_cheapest_current_vision_model_of_the_table() -> None:
    chosen = default_model()
    assert chosen == pricing.DEFAULT_MODEL == "grok-4.20-0309-non-reasoning"
    price = FALLBACK_PRICES[chosen]
    eligible = [p for p in FALLBACK_PRICES.values() if p.vision and p.current]
    assert all(price.reference_cost() <= p.reference_cost() for p in eligible)
    # the cheaper old name and the cheaper text-only model are never chosen
    assert FALLBACK_PRICES[OLD_NAME].reference_cost() < price.reference_cost()
    assert FALLBACK_PRICES["grok-build-0.1"].reference_cost() < price.reference_cost()
    assert GrokVision().model == chosen


def test_the_default_follows_the_live_listing_and_settings_follow_it() -> None:
    settings = GrokVision()
    cheap = ModelPrice("grok-9-mini", 0.10, 0.02, 0.40, source="GET test/language-models")
    text_only = ModelPrice("grok-9-text", 0.01, 0.01, 0.01, vision=False)
    pricing.remember_prices({p.model: p for p in (cheap, text_only, FALLBACK_PRICES["grok-4.3"])})
    assert default_model() == "grok-9-mini" == settings.model
    assert settings.options()["model"] == "grok-9-mini"
    settings.model = "grok-4.7"  # chosen by the user: stays
    pricing.remember_prices({"grok-9-nano": ModelPrice("grok-9-nano", 0.01, None, 0.02)})
    assert settings.model == "grok-4.7" and GrokVision().model == "grok-9-nano"


def test_the_default_from_the_simulators_listing(sim: Any) -> None:
    with Client() as client:
        listing = client.language_models(refresh=True)
    by_id = {p.model: p for p in listing}
    assert {"grok-4-1-fast-reasoning", "grok-4", "grok-3"} <= set(by_id["grok-4.3"].aliases)
    assert OLD_NAME not in by_id  # not listed: only an answer shows what it bills as
    assert not by_id["grok-build-0.1"].vision
    for name, entry in FALLBACK_PRICES.items():
        if entry.current:
            live = by_id[name]
            assert (live.prompt, live.cached_prompt, live.completion) == (
                entry.prompt, entry.cached_prompt, entry.completion,
            )  # fmt: skip
    assert default_model() == "grok-4.20-0309-non-reasoning"
    answer = ask("What is this?", _picture(), cache="off")
    assert answer.model == answer.model_asked == "grok-4.20-0309-non-reasoning"
    assert answer.footer().startswith("grok-4.20-0309-non-reasoning · ")


# --- the billed model decides the price --------------------------------------------------


def test_an_alias_answers_and_bills_as_its_target(sim: Any) -> None:
    answer = ask("Hi", _picture(), model="grok-4", cache="off")
    assert answer.model == "grok-4.3" and answer.model_asked == "grok-4"
    ticks = sim.usages[-1]["cost_in_usd_ticks"]
    assert answer.usage is not None and answer.usage.cost_in_usd_ticks == ticks
    sim_price = catalog.CATALOG["grok-4.3"]
    u = sim.usages[-1]
    text, cached = (
        u["prompt_tokens_details"]["text_tokens"],
        u["prompt_tokens_details"]["cached_tokens"],
    )
    expected = (
        (text - cached) * sim_price.prompt
        + cached * sim_price.cached
        + u["prompt_tokens_details"]["image_tokens"] * sim_price.image
        + u["completion_tokens"] * sim_price.completion
    )
    assert ticks == expected  # billed at grok-4.3's price, exactly, in ticks


def test_an_old_name_billed_as_another_model(sim: Any) -> None:
    before = plan_call("Describe it.", [_picture()], model=OLD_NAME)
    assert before.estimate.prompt_usd == pytest.approx(
        FALLBACK_PRICES[OLD_NAME].cost(prompt_tokens=before.estimate.image_tokens
                                       + before.estimate.text_tokens)
    )  # fmt: skip
    answer = ask("Describe it.", _picture(), model=OLD_NAME, cache="off")
    assert (answer.model_asked, answer.model, answer.billed_model) == (
        OLD_NAME, "grok-4.3", "grok-4.3",
    )  # fmt: skip
    assert answer.cost_usd == answer.usage.cost_in_usd_ticks / 1e10
    footer = answer.footer()
    assert footer.startswith(f"asked {OLD_NAME} · billed as grok-4.3 · ")
    # the estimate priced the old name at $0.20/M; the bill is at $1.25/M: flagged
    assert answer.cost_mismatch
    assert "billed ≠ ≈" in footer and "text-token allowance" in footer
    assert answer.estimated_cost_usd < answer.cost_usd / 4
    # later estimates for that name use what was learnt, and say so
    after = plan_call("Describe it again.", [_picture()], model=OLD_NAME)
    expected = FALLBACK_PRICES["grok-4.3"].cost(
        prompt_tokens=after.estimate.image_tokens + after.estimate.text_tokens
    )
    assert after.estimate.prompt_usd == pytest.approx(expected)
    line = estimate_mimebundle(after)["text/plain"]
    assert f"prompt on {OLD_NAME} (billed as grok-4.3)" in line
    again = ask("Describe it again.", _picture(), model=OLD_NAME, cache="off")
    assert not again.cost_mismatch and "billed ≠" not in again.footer()
    assert "asked grok-4-1-fast-non-reasoning · billed as grok-4.3" in again.footer()


def test_without_ticks_the_billed_models_price_is_used(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grok_nb.simulator import respond

    original = respond.Reply.usage

    def no_ticks(self: Any, completion_tokens: int | None = None) -> dict[str, Any]:
        usage = original(self, completion_tokens)
        usage.pop("cost_in_usd_ticks")  # as in recordings before late 2025
        return usage

    monkeypatch.setattr(respond.Reply, "usage", no_ticks)
    answer = ask("Describe it.", _picture(), model=OLD_NAME, cache="off")
    u = answer.usage
    assert u is not None and u.cost_in_usd_ticks is None and answer.model == "grok-4.3"
    at_billed = FALLBACK_PRICES["grok-4.3"].cost(
        prompt_tokens=u.prompt_tokens, cached_tokens=u.cached_tokens,
        image_tokens=u.image_tokens, completion_tokens=u.completion_tokens,
    )  # fmt: skip
    assert answer.cost_usd == pytest.approx(at_billed)
    assert answer.cost_usd > 5 * FALLBACK_PRICES[OLD_NAME].cost(prompt_tokens=u.prompt_tokens)


def test_a_normal_call_is_within_the_text_allowance(sim: Any) -> None:
    answer = ask("What colours are in this picture, roughly?", _picture(), cache="off")
    assert answer.estimated_cost_usd is not None and answer.cost_usd is not None
    # the simulator adds a hidden prefix of 150 text tokens the estimate cannot see
    assert answer.estimated_cost_usd != answer.cost_usd
    assert abs(answer.cost_usd - answer.estimated_cost_usd) <= answer.cost_allowance_usd
    assert not answer.cost_mismatch and "⚠" not in answer.footer()


def test_a_dollar_mismatch_beyond_the_allowance_is_flagged() -> None:
    from grok_nb.answer import Answer, Usage

    request = {"model": "grok-4.3", "messages": [{"role": "user", "content": "x" * 400}]}
    u = Usage(prompt_tokens=1_892, image_tokens=1_792, text_tokens=100, completion_tokens=10)
    fair = FALLBACK_PRICES["grok-4.3"].cost(
        prompt_tokens=1_892, image_tokens=1_792, completion_tokens=10
    )
    ok = Answer("a", usage=u, cost_usd=fair, model="grok-4.3", request=request,
                estimated_image_tokens=1_792)  # fmt: skip
    assert not ok.cost_mismatch
    # 100 text tokens at $1.25/M: allowance (0.5 * 100 + 512) tokens = $0.0007025
    assert ok.cost_allowance_usd == pytest.approx(562 * 1.25 / 1e6)
    over = Answer("a", usage=u, cost_usd=fair + 0.0008, model="grok-4.3", request=request,
                  estimated_image_tokens=1_792)  # fmt: skip
    assert over.cost_mismatch and "⚠" in over.footer()
    under = Answer("a", usage=u, cost_usd=fair + 0.0006, model="grok-4.3", request=request,
                   estimated_image_tokens=1_792)  # fmt: skip
    assert not under.cost_mismatch


def test_the_models_table_names_the_default_and_the_old_names() -> None:
    pricing.remember_billed(OLD_NAME, "grok-4.3")
    rows = [p for p in FALLBACK_PRICES.values() if p.vision]
    text = models_mimebundle(rows, "fallback table")["text/plain"]
    assert "default model: grok-4.20-0309-non-reasoning" in text
    assert "grok-4-1-fast-reasoning, grok-4, grok-3" in text
    assert "not on the newest pricing page; billed as grok-4.3" in text
    assert "every rate doubles at 200k" in text
