"""``ask_many`` against the simulator: faults, budget, order, cache, no double charges."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY as KEY
from PIL import Image

from grok_nb import BudgetExceeded, CreditsExhausted, ImageError, simulator
from grok_nb.batch import ask_many, ask_many_async
from grok_nb.frames import answers_to_frame


def images(n: int) -> list[Image.Image]:
    # distinct sizes, so each answer can be matched to its item
    return [Image.new("RGB", (200 + 10 * i, 150), (20 * i % 255, 90, 160)) for i in range(n)]


def test_faults_are_retried_or_recorded_and_order_is_kept(sim: Any, tmp_path: Path) -> None:
    for _ in range(3):
        sim.inject("429", retry_after=0.05)
    sim.inject("503")
    items: list[Any] = images(10)
    items.insert(4, tmp_path / "missing.png")
    answers = ask_many(items, "Describe.", concurrency=4, progress=False, cache="off")
    assert len(answers) == 11
    failed = answers[4]
    assert failed.finish_reason == "error" and isinstance(failed.error, ImageError)
    good = [a for i, a in enumerate(answers) if i != 4]
    for a, img in zip(good, items[:4] + items[5:], strict=True):
        assert a.error is None and a.finish_reason == "stop"
        assert f"{img.width}×{img.height}" in a.text  # the simulator names the size it saw
    # every item was answered exactly once: retries happened only for refused requests
    assert len(sim.usages) == 10


def test_credits_exhausted_is_recorded_per_item(sim: Any) -> None:
    sim.inject("credits")
    answers = ask_many(images(3), "Describe.", concurrency=1, progress=False, cache="off")
    errors = [a.error for a in answers if a.error is not None]
    assert len(errors) == 1 and isinstance(errors[0], CreditsExhausted)
    assert sum(a.error is None for a in answers) == 2


def test_duplicates_are_sent_once(sim: Any) -> None:
    img = images(1)[0]
    answers = ask_many([img, img, img], "Same.", concurrency=3, progress=False, cache="off")
    assert [a.text for a in answers] == [answers[0].text] * 3
    assert len(sim.usages) == 1


def test_budget_refuses_the_batch_before_sending(sim: Any) -> None:
    with pytest.raises(BudgetExceeded, match="nothing was sent"):
        ask_many(images(20), "Describe.", max_batch_cost_usd=0.001, progress=False, cache="off")
    assert sim.requests == []


def test_rerun_comes_from_the_cache(sim: Any, tmp_path: Path) -> None:
    cache = str(tmp_path / "c.sqlite3")
    first = ask_many(images(5), "Describe.", progress=False, cache_path=cache)
    again = ask_many(images(5), "Describe.", progress=False, cache_path=cache)
    assert len(sim.usages) == 5
    assert all(a.cached for a in again) and [a.text for a in again] == [a.text for a in first]


def test_a_429_pauses_the_whole_batch(sim: Any) -> None:
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        await asyncio.sleep(delay)

    sim.inject("429", retry_after=0.2)
    answers = asyncio.run(
        ask_many_async(
            images(6), "Describe.", concurrency=2, progress=False, cache="off", sleep=sleep
        )
    )
    assert all(a.error is None for a in answers)
    assert len(waits) >= 2  # the item that met the 429, and at least one other, waited


def test_sync_call_inside_a_running_loop_and_frame(sim: Any) -> None:
    async def notebook_cell() -> list[Any]:
        return ask_many(images(3), "Describe.", progress=True, cache="off")

    answers = asyncio.run(notebook_cell())
    frame = answers_to_frame(answers)
    assert list(frame["image_tokens"]) == [a.usage.image_tokens for a in answers]
    assert {"text", "cost_usd", "error", "estimated_image_tokens"} <= set(frame.columns)


def test_cancelling_keeps_what_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    with simulator.serve(latency_s=0.15) as sim:
        monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
        monkeypatch.setenv("XAI_API_KEY", KEY)

        async def run() -> list[Any]:
            task = asyncio.ensure_future(
                ask_many_async(images(20), "Describe.", concurrency=2, progress=False, cache="off")
            )
            await asyncio.sleep(0.6)  # 20 items need >= 1.5 s; a few finish by now
            task.cancel()
            with pytest.raises(asyncio.CancelledError) as info:  # cancellation propagates
                await task
            return info.value.answers  # type: ignore[attr-defined, no-any-return]

        answers = asyncio.run(run())
    done = [a for a in answers if a.finish_reason == "stop"]
    stopped = [a for a in answers if a.finish_reason != "stop"]
    assert len(answers) == 20 and done and stopped
    assert all(a.error is None and a.text for a in done)
    assert all(a.finish_reason in ("cancelled", "interrupted") for a in stopped)
