"""Ledger truth: what each call cost now and originally, calls cut short, calibration
probes apart, and the usage table (against the simulator over loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

import grok_nb.pricing as pricing
from grok_nb import simulator
from grok_nb.asking import ask, plan_call, send
from grok_nb.batch import ask_many
from grok_nb.calibration import PROBE_SIZES, calibrate
from grok_nb.errors import APIConnectionError, APITimeoutError, AuthenticationError, GrokError
from grok_nb.frames import answers_to_frame
from grok_nb.ledger import LEDGER, purpose
from grok_nb.pricing import format_usd
from grok_nb.render import usage_mimebundle


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pricing, "_live_prices", {})
    monkeypatch.setattr(pricing, "_billed", {})
    LEDGER.clear()
    yield
    LEDGER.clear()


@pytest.fixture
def sim_every(monkeypatch: pytest.MonkeyPatch, sim: Any) -> Iterator[Any]:
    """A second simulator that sends usage on every chunk (so a cut stream keeps some)."""
    with simulator.serve(usage_mode="every") as server:
        monkeypatch.setenv("XAI_BASE_URL", server.base_url)
        yield server


def _picture(shade: int = 0) -> Image.Image:
    img = Image.new("RGB", (640, 480), (20 + shade, 90, 160))
    img.paste((230, 60, 60), (50, 50, 300, 200))
    return img


def _plain() -> str:
    return str(usage_mimebundle(LEDGER)["text/plain"])


def _failed_call(prompt: str, **options: Any) -> tuple[Any, BaseException]:
    """Send a call that fails (``asking.send`` records it in the ledger itself)."""
    on_delta = options.pop("on_delta", None)
    call = plan_call(prompt, [_picture()], cache="off", max_retries=0, **options)
    with pytest.raises(BaseException) as info:
        send(call, on_delta=on_delta)
    return call, info.value


# --- what this call cost, and what the recorded one cost ---------------------------------


def test_a_cache_hit_costs_nothing_now_and_remembers_the_original(sim: Any) -> None:
    first = ask("Colours?", _picture())
    again = ask("Colours?", _picture())
    assert not first.cached and first.cost_usd and first.cost_usd > 0
    assert first.original_cost_usd == first.cost_usd
    assert again.cached and again.cost_usd == 0
    assert again.original_cost_usd == first.cost_usd
    assert again.model == first.model and again.model_asked == first.model_asked
    assert f"from cache: $0 now (original call {format_usd(first.cost_usd)})" in again.footer()
    assert [r.cost_usd for r in LEDGER.rows] == [first.cost_usd, 0.0]
    assert LEDGER.totals()["cost_usd"] == first.cost_usd


def test_a_rerun_frame_shows_no_money_that_was_not_spent(sim: Any) -> None:
    pictures = [_picture(s) for s in (0, 40, 80)]
    run1 = ask_many(pictures, "What is it?", progress=False)
    run2 = ask_many(pictures, "What is it?", progress=False)
    assert len(sim.requests) == 3 and all(a.cached for a in run2)
    frame1, frame2 = answers_to_frame(run1), answers_to_frame(run2)
    spent = sum(a.cost_usd for a in run1)
    assert frame1["cost_usd"].sum() == pytest.approx(spent)
    assert frame2["cost_usd"].sum() == 0
    assert frame2["original_cost_usd"].sum() == pytest.approx(spent)
    assert list(frame2["model_asked"]) == [pricing.default_model()] * 3


# --- calls cut short ---------------------------------------------------------------------


def test_a_broken_stream_is_counted_with_the_usage_that_arrived(sim_every: Any) -> None:
    sim_every.inject("reset", after_chunks=4)
    _, error = _failed_call("Describe this picture in detail.")
    assert isinstance(error, APIConnectionError)
    [row] = LEDGER.rows
    assert row.finish_reason == "incomplete" and row.completion_tokens == 4
    partial_ticks = sim_every.usages[-1]["cost_in_usd_ticks"]  # the whole answer's bill
    assert row.cost_usd is not None and 0 < row.cost_usd < partial_ticks / 1e10
    assert row.estimated_image_tokens == row.image_tokens == 1_792
    text = _plain()
    assert "incomplete" in text and format_usd(row.cost_usd) in text
    assert "Questions: 1 call (1 cut short)" in text


def test_a_cut_call_without_usage_is_unknown_but_bounded(sim: Any) -> None:
    sim.inject("reset", after_chunks=3)
    call, _ = _failed_call("Describe this picture.", max_tokens=40)
    [row] = LEDGER.rows
    # the estimate's prompt + max completion, plus the text-token allowance
    assert row.cost_usd is None and row.at_most_usd > call.estimate.worst_usd
    bound = format_usd(row.at_most_usd)
    billed_if_finished = sim.usages[-1]["cost_in_usd_ticks"] / 1e10
    assert billed_if_finished <= row.at_most_usd
    assert f"billed: unknown, at most ≈ {bound}" in _plain()
    assert f"+ 1 call billed: unknown, at most ≈ {bound}" in _plain()
    # an estimate with no bill to compare it with is not summed against billed tokens
    assert LEDGER.totals()["estimated_image_tokens"] == 0 and row.estimated_image_tokens


def test_an_uncapped_cut_call_says_unknown(sim: Any) -> None:
    sim.inject("reset", after_chunks=3)
    _failed_call("Describe this picture.")
    [row] = LEDGER.rows
    assert row.cost_usd is None and row.at_most_usd is None
    assert "billed: unknown" in _plain() and "at most" not in _plain()
    assert "spent $0 + 1 call billed: unknown" in _plain()


def test_an_interrupted_call_is_counted(sim: Any) -> None:
    seen: list[str] = []

    def stop(delta: str) -> None:
        seen.append(delta)
        if len(seen) == 3:
            raise KeyboardInterrupt

    _, error = _failed_call("Describe this picture.", max_tokens=64, on_delta=stop)
    assert isinstance(error, KeyboardInterrupt)
    [row] = LEDGER.rows
    assert row.finish_reason == "interrupted" and row.cost_usd is None
    assert row.at_most_usd is not None and "interrupted" in _plain()


def test_a_timeout_before_any_text_is_counted_as_unknown(sim: Any) -> None:
    sim.inject("stall", stall_s=5)
    _, error = _failed_call("Describe.", timeout_s=0.3, max_tokens=10)
    assert isinstance(error, APITimeoutError)
    assert [r.finish_reason for r in LEDGER.rows] == ["incomplete"]


def test_calls_that_never_reached_the_server_are_not_counted(sim: Any) -> None:
    sim.inject("bad_key")
    _, error = _failed_call("Describe.")
    assert isinstance(error, GrokError) and not isinstance(error, APIConnectionError)
    assert isinstance(error, AuthenticationError) or getattr(error, "status_code", 0) == 400
    assert LEDGER.rows == []


# --- calibration apart, and the table ------------------------------------------------------


def test_calibration_probes_have_their_own_line(sim: Any) -> None:
    ask("What is it?", _picture())
    report = calibrate("grok-4.3")
    rows = [r for r in LEDGER.rows if r.purpose == "calibration"]
    assert len(rows) == len(PROBE_SIZES) and len(LEDGER.rows) == len(PROBE_SIZES) + 1
    assert sum(r.cost_usd or 0 for r in rows) == pytest.approx(report.cost_usd)
    asks, probes = LEDGER.totals("ask"), LEDGER.totals("calibration")
    assert asks["calls"] == 1 and probes["calls"] == len(PROBE_SIZES)
    assert LEDGER.totals()["cost_usd"] == pytest.approx(asks["cost_usd"] + probes["cost_usd"])
    text = _plain()
    assert "Questions: 1 call · " in text
    assert f"Calibration probes: {len(PROBE_SIZES)} calls · " in text
    assert f"All: {len(PROBE_SIZES) + 1} calls · " in text
    assert f"spent {format_usd(probes['cost_usd'])}" in text
    with pytest.raises(ValueError), purpose("testing"):
        pass


def test_the_usage_table_has_a_header_plurals_and_one_dollar_format(sim: Any) -> None:
    assert usage_mimebundle(LEDGER)["text/plain"] == "No calls yet."
    ask("One?", _picture())
    lines = _plain().splitlines()
    assert lines[0].split() == [
        "#", "purpose", "model", "status", "image", "est.", "image", "billed", "prompt",
        "completion", "cost",
    ]  # fmt: skip
    assert "Questions: 1 call · " in lines[-1]
    ask("One?", _picture())  # cached
    text = _plain()
    assert "Questions: 2 calls (1 from cache) · " in text
    for row in LEDGER.rows:
        assert format_usd(row.cost_usd) in text
    md = usage_mimebundle(LEDGER)["text/markdown"]
    assert md.startswith("| # | purpose | model | status |") and "| cached |" in md
    assert "$0 " not in md.replace("$0 |", "")  # zero reads "$0", like every other place


def test_an_aliased_call_names_both_models_in_the_table(sim: Any) -> None:
    ask("Old name?", _picture(), model="grok-4-1-fast-non-reasoning", cache="off")
    assert "grok-4.3 (asked grok-4-1-fast-non-reasoning)" in _plain()
    assert pricing.billed_as("grok-4-1-fast-non-reasoning") == "grok-4.3"
    assert "1 cost mismatch" in _plain()
