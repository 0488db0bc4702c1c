"""An image URL passed through unmeasured is estimated at its worst case, never at zero,
so ``max_cost_usd`` holds for it too."""

from __future__ import annotations

from typing import Any

import pytest

import grok_nb
from grok_nb.asking import plan_call
from grok_nb.render import estimate_mimebundle
from grok_nb.tiling import RULES, plan, worst_case_tokens

URL = "https://example.com/photo.jpg"


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("detail", ["high", "auto", "low"])
def test_worst_case_is_the_largest_plan_of_the_rule(rule: str, detail: str) -> None:
    sizes = [(w, h) for w in range(16, 4000, 97) for h in range(16, 4000, 211)]
    largest = max(plan(w, h, rule, detail).tokens for w, h in sizes)
    assert worst_case_tokens(rule, detail) == largest


def test_a_url_image_is_estimated_at_the_worst_case_and_labelled() -> None:
    call = plan_call("What is this?", [URL], model="grok-4.3", tile_rule="ceil")
    est = call.estimate
    assert (est.unmeasured_images, est.unmeasured_tokens) == (1, worst_case_tokens("ceil"))
    assert est.prompt_usd is not None and est.prompt_usd > 0
    text = estimate_mimebundle(call)["text/plain"]
    assert "≤ 1,792 for 1 URL image (worst case" in text and "$0 " not in text
    low = plan_call("?", [URL], model="grok-4.3", detail="low", tile_rule="internvl")
    assert low.estimate.unmeasured_tokens == 256


def test_a_cap_refuses_a_url_image_before_anything_is_sent(sim: Any) -> None:
    with pytest.raises(grok_nb.BudgetExceeded, match="max_cost_usd"):
        grok_nb.ask("What is this?", URL, model="grok-4.3", max_cost_usd=0.0001, cache="off")
    assert sim.requests == []
