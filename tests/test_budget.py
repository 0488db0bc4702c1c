"""One budget check: ``max_cost_usd`` per call, ``max_batch_cost_usd`` per batch."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

import grok_nb
from grok_nb import BudgetExceeded
from grok_nb.asking import plan_call
from grok_nb.batch import ask_many
from grok_nb.budget import check, check_batch_running
from grok_nb.pricing import format_usd
from grok_nb.settings import current


def images(n: int, size: tuple[int, int] = (300, 200)) -> list[Image.Image]:
    return [Image.new("RGB", size, (4 * i % 255, 80, 120)) for i in range(n)]


def one_estimate(img: Image.Image) -> float:
    worst = plan_call("Describe.", [img], cache="off").estimate.worst_usd
    assert worst is not None and worst > 0
    return worst


def test_check_names_the_setting_and_the_amounts() -> None:
    check(None, 0.01)  # an estimate that cannot be made never refuses
    check(0.02, None)
    check(0.01, 0.01)
    with pytest.raises(BudgetExceeded) as info:
        check(0.0125, 0.01, setting="max_batch_cost_usd", what="the total")
    msg = str(info.value)
    assert msg.startswith("the total $0.0125 is above max_batch_cost_usd=$0.01")
    assert f"by {format_usd(0.0025)}" in msg and "nothing was sent" in msg
    assert info.value.estimate_usd == 0.0125 and info.value.limit_usd == 0.01
    with pytest.raises(BudgetExceeded, match=r"together \$0\.015, above max_batch_cost_usd"):
        check_batch_running(0.004, 0.006, 0.005, 0.01)
    check_batch_running(0.004, 0.006, 0.0, 0.01)


def test_per_call_cap_is_not_a_batch_cap(sim: Any) -> None:
    items = images(60)
    each = one_estimate(items[0])
    per_call = each * 1.5
    assert 60 * each > per_call  # the old behaviour refused this whole batch
    answers = ask_many(items, "Describe.", max_cost_usd=per_call, progress=False, cache="off")
    assert all(a.error is None for a in answers) and len(sim.usages) == 60


def test_batch_total_is_its_own_setting(sim: Any) -> None:
    items = images(20)
    total = 20 * one_estimate(items[0])
    limit = total / 2
    with pytest.raises(BudgetExceeded) as info:
        ask_many(items, "Describe.", max_batch_cost_usd=limit, progress=False, cache="off")
    msg = str(info.value)
    assert "max_batch_cost_usd=" + format_usd(limit) in msg and format_usd(total) in msg
    assert "20 items" in msg and "nothing was sent" in msg
    assert sim.requests == []
    # while it runs, what was really billed counts (the simulator bills a hidden prefix)
    answers = ask_many(items, "Describe.", max_batch_cost_usd=total * 10, progress=False,
                       cache="off")  # fmt: skip
    assert all(a.error is None for a in answers)


def test_batch_setting_from_the_config(sim: Any) -> None:
    settings = current()
    items = images(5)
    settings.max_batch_cost_usd = one_estimate(items[0])  # room for one of five
    try:
        with pytest.raises(BudgetExceeded, match="max_batch_cost_usd"):
            ask_many(items, "Describe.", progress=False, cache="off")
    finally:
        settings.max_batch_cost_usd = None
    assert sim.requests == []


def test_an_item_above_the_per_call_cap_fails_alone(sim: Any) -> None:
    small = images(4)
    long_prompt = "Describe every detail. " * 2000  # ~11k text tokens
    limit = one_estimate(small[0]) * 1.2
    big_estimate = plan_call(long_prompt, [small[3]], cache="off").estimate.worst_usd
    assert big_estimate is not None and big_estimate > limit
    items = [(img, "Describe.") for img in small[:3]] + [(small[3], long_prompt)]
    answers = ask_many(items, max_cost_usd=limit, max_batch_cost_usd=1.0, progress=False,
                       cache="off")  # fmt: skip
    refused = answers[3].error
    assert isinstance(refused, BudgetExceeded) and "max_cost_usd=" in str(refused)
    assert all(a.error is None for a in answers[:3]) and len(sim.usages) == 3


def test_single_call_budget_message_is_unchanged(sim: Any) -> None:
    with pytest.raises(BudgetExceeded, match=r"above max_cost_usd=\$0\.000001 by \$"):
        grok_nb.ask("Describe.", images(1)[0], max_cost_usd=1e-6, cache="off")
    assert sim.requests == []


def test_batch_setting_is_validated() -> None:
    settings = grok_nb.settings.GrokVision()
    from traitlets import TraitError

    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(TraitError, match="max_batch_cost_usd"):
            settings.max_batch_cost_usd = bad
