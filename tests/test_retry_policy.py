"""The one retry policy: capped backoff, Retry-After up to max_retry_after_s, for the
client (sync and async alike) and for ask_many; no test sleeps for real."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from client_fixtures import KEY, MODEL, Sleeps
from PIL import Image
from traitlets import TraitError

from grok_nb import ConfigError, RateLimitError
from grok_nb.api import retry
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request
from grok_nb.api.retry import MAX_DELAY_S, RetryPolicy, parse_retry_after
from grok_nb.asking import resolve_options
from grok_nb.batch import ask_many_async
from grok_nb.settings import GrokVision

BODY = build_chat_request(["Describe."], model=MODEL)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "100000"}, 100000.0),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after-ms": "1e12"}, 1e9),
        ({"retry-after": "Wed, 99 Foo 2026 99:99:99 GMT"}, None),
    ],
)
def test_retry_after_values_that_are_not_a_wait(headers: dict[str, str], expected: Any) -> None:
    assert parse_retry_after(headers) == expected


def test_backoff_is_capped_and_never_overflows() -> None:
    policy = RetryPolicy(rng=lambda: 0.0)
    assert [policy.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.backoff(10_000) == MAX_DELAY_S
    jittered = RetryPolicy(rng=lambda: 1.0).backoff(10_000)
    assert jittered == MAX_DELAY_S * (1 - retry.JITTER)


def _client(sim: Any, sleeps: Sleeps, **kw: Any) -> Client:
    return Client(
        api_key=KEY, base_url=sim.base_url, sleep=sleeps, async_sleep=sleeps.async_sleep,
        rng=lambda: 0.0, **kw,
    )  # fmt: skip


def _chat(client: Client, is_async: bool) -> Any:
    if not is_async:
        with client:
            return client.chat(BODY)

    async def go() -> Any:
        async with client:
            return await client.achat(BODY)

    return asyncio.run(go())


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_unreadable_retry_after_gets_the_capped_backoff(
    sim: Any, is_async: bool, value: float
) -> None:
    sim.inject("429", retry_after=value)  # sent as "nan" / "inf"
    sleeps = Sleeps()
    assert _chat(_client(sim, sleeps), is_async).finish_reason == "stop"
    assert sleeps.calls == [0.5]  # a real wait, not none and not forever


@pytest.mark.parametrize("value", [100000, 61])
def test_retry_after_above_the_cap_fails_at_once_saying_so(
    sim: Any, is_async: bool, value: float
) -> None:
    sim.inject("429", retry_after=value)
    sleeps = Sleeps()
    with pytest.raises(RateLimitError) as info:
        _chat(_client(sim, sleeps), is_async)
    message = str(info.value)
    assert f"asked to wait {value} s" in message and "max_retry_after_s=60 s" in message
    assert sleeps.calls == [] and len(sim.log) == 1


def test_max_retry_after_s_is_per_client(sim: Any, is_async: bool) -> None:
    sim.inject("429", retry_after=5)
    with pytest.raises(RateLimitError, match="max_retry_after_s=2 s"):
        _chat(_client(sim, Sleeps(), max_retry_after_s=2), is_async)
    sim.inject("429", retry_after=5)
    sleeps = Sleeps()
    assert _chat(_client(sim, sleeps, max_retry_after_s=5), is_async).text
    assert sleeps.calls == [5.0]
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(ConfigError, match="max_retry_after_s"):
            Client(api_key=KEY, max_retry_after_s=bad)


def test_sync_and_async_take_the_same_decisions(sim: Any, monkeypatch: Any) -> None:
    decisions: list[tuple[str, int]] = []
    original = RetryPolicy.delay

    def spy(self: RetryPolicy, error: BaseException, retries_done: int) -> float | None:
        decisions.append((type(error).__name__, retries_done))
        return original(self, error, retries_done)

    monkeypatch.setattr(RetryPolicy, "delay", spy)
    runs = []
    for is_async in (False, True):
        decisions.clear()
        for fault in ("503", "429", "reset"):
            sim.inject(fault, after_chunks=0) if fault == "reset" else sim.inject(fault)
        sleeps = Sleeps()
        with pytest.raises(Exception) as info:
            _chat(_client(sim, sleeps, max_retries=2), is_async)
        runs.append((list(decisions), sleeps.calls, type(info.value).__name__))
        sim.faults.clear()
    assert runs[0] == runs[1]
    assert runs[0][1] == [0.5, 1.0] and runs[0][0][-1] == ("APIConnectionError", 2)


def test_the_setting_is_validated() -> None:
    settings = GrokVision()
    assert settings.max_retry_after_s == 60.0
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(TraitError, match="max_retry_after_s"):
            settings.max_retry_after_s = bad
    settings.max_retry_after_s = 0.0  # never wait for the server's Retry-After
    with pytest.raises(ConfigError, match="max_retry_after_s"):
        resolve_options(max_retry_after_s=-3)


# -- ask_many: the same policy through the batch's shared gate ---------------------------


def _images(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (100 + 10 * i, 80), (30 * i % 255, 60, 90)) for i in range(n)]


def _batch(sim: Any, waits: list[float], **kw: Any) -> list[Any]:
    async def sleep(seconds: float) -> None:  # records, never sleeps
        waits.append(seconds)

    return asyncio.run(
        ask_many_async(
            _images(3), "Describe.", concurrency=1, progress=False, cache="off", sleep=sleep,
            **kw,
        )
    )  # fmt: skip


@pytest.mark.parametrize("value", [100000, math.inf, math.nan])
def test_ask_many_never_waits_forever_nor_not_at_all(sim: Any, value: float) -> None:
    sim.inject("429", retry_after=value)
    waits: list[float] = []
    answers = _batch(sim, waits)
    failed = [a for a in answers if a.error is not None]
    if value == 100000:  # above max_retry_after_s: that item fails, saying why
        assert len(failed) == 1 and isinstance(failed[0].error, RateLimitError)
        assert "max_retry_after_s" in str(failed[0].error) and waits == []
    else:  # unreadable: the capped backoff, a real pause
        assert not failed and waits and all(0 < w <= MAX_DELAY_S for w in waits)
    assert sum(a.error is None for a in answers) == 3 - len(failed)


def test_ask_many_honours_max_retry_after_s(sim: Any) -> None:
    sim.inject("429", retry_after=3)
    waits: list[float] = []
    answers = _batch(sim, waits, max_retry_after_s=5)
    assert all(a.error is None for a in answers) and waits and max(waits) <= 3.0
    sim.inject("429", retry_after=3)
    answers = _batch(sim, [], max_retry_after_s=2)
    assert sum(a.error is not None for a in answers) == 1


def test_ask_many_retries_server_errors_with_the_same_backoff(sim: Any) -> None:
    for _ in range(3):
        sim.inject("503")
    waits: list[float] = []
    answers = _batch(sim, waits, max_retries=2)
    assert sum(a.error is not None for a in answers) == 1  # two retries, then it fails
    assert len(waits) == 2 and all(0 < w <= MAX_DELAY_S for w in waits)
