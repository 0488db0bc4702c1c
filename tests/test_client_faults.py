"""Every simulator fault, over loopback HTTP, gives the documented client behaviour.

Each case runs twice, through ``chat`` and through ``achat`` (the ``is_async``
parameter, openai-python style): both drive the same retry loop and must behave alike.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    MODEL,
    FakeImage,
    Sleeps,
    isolated_env_fixture,
    sim_fixture,
)

from grok_nb import simulator
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request
from grok_nb.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CreditsExhausted,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)

BODY = build_chat_request(["Describe", FakeImage((96, 64))], model=MODEL)
PLAIN = build_chat_request(["Describe", FakeImage((96, 64))], model=MODEL, stream=False)


_OPEN: list[Client] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(s, sleeps: Sleeps | None = None, **kw) -> Client:
    sleeps = sleeps or Sleeps()
    kw.setdefault("rng", lambda: 0.0)  # no jitter: exact backoff values
    client = Client(
        api_key=KEY, base_url=s.base_url, sleep=sleeps, async_sleep=sleeps.async_sleep, **kw
    )
    _OPEN.append(client)
    return client


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def is_async(request) -> bool:
    return request.param


def _chat(client: Client, body, is_async: bool, **kw):
    """``client.chat`` or ``client.achat`` (in a fresh event loop), same arguments."""
    if not is_async:
        return client.chat(body, **kw)

    async def go():
        try:
            return await client.achat(body, **kw)
        finally:
            await client.aclose()

    return asyncio.run(go())


def _reference_text(s) -> str:
    with Client(api_key=KEY, base_url=s.base_url) as c:
        return c.chat(BODY).text


@pytest.mark.parametrize("body", [BODY, PLAIN], ids=["stream", "plain"])
def test_429_with_retry_after_is_waited_out(sim, body, is_async):
    sim.inject("429", retry_after=3)
    sleeps = Sleeps()
    answer = _chat(_client(sim, sleeps), body, is_async)
    assert sleeps.calls == [3.0]
    assert answer.text.startswith("**[grok_nb simulator")
    assert [s for _, _, s in sim.log] == [429, 200]


def test_429_without_retry_after_backs_off_exponentially_then_gives_up(sim, is_async):
    for _ in range(3):
        sim.inject("429")
    sleeps = Sleeps()
    with pytest.raises(RateLimitError) as info:
        _chat(_client(sim, sleeps, max_retries=2), BODY, is_async)
    assert sleeps.calls == [0.5, 1.0]  # 0.5 s doubling, no jitter with rng=0
    assert info.value.status_code == 429 and info.value.retries == 2
    assert "simulated HTTP 429" in str(info.value) and info.value.request_id.startswith("sim-")


def test_jitter_stays_within_a_quarter_of_the_backoff(sim, is_async):
    sim.inject("503")
    sim.inject("503")
    sleeps = Sleeps()
    with Client(
        api_key=KEY, base_url=sim.base_url, sleep=sleeps, async_sleep=sleeps.async_sleep,
        rng=lambda: 0.999,
    ) as client:  # fmt: skip
        _chat(client, BODY, is_async)
    assert 0.375 <= sleeps.calls[0] <= 0.5 and 0.75 <= sleeps.calls[1] <= 1.0


def test_a_long_retry_after_is_not_waited_silently(sim, is_async):
    sim.inject("429", retry_after=600)
    sleeps = Sleeps()
    with pytest.raises(RateLimitError, match="asked to wait 600 s"):
        _chat(_client(sim, sleeps), BODY, is_async)
    assert sleeps.calls == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [("500", InternalServerError), ("503", InternalServerError), ("408", APIError),
     ("409", ConflictError)],
)  # fmt: skip
def test_retryable_statuses_are_retried(sim, status, cls, is_async):
    sim.inject(status)
    sleeps = Sleeps()
    assert _chat(_client(sim, sleeps), BODY, is_async).finish_reason == "stop"
    assert len(sleeps.calls) == 1
    sim.inject(status)
    with pytest.raises(cls) as info:
        _chat(_client(sim, Sleeps(), max_retries=0), BODY, is_async)
    assert info.value.status_code == int(status)


@pytest.mark.parametrize(
    ("status", "cls"),
    [("400", BadRequestError), ("403", APIError), ("404", NotFoundError),
     ("422", UnprocessableEntityError)],
)  # fmt: skip
def test_client_errors_are_not_retried(sim, status, cls, is_async):
    sim.inject(status)
    sleeps = Sleeps()
    with pytest.raises(cls):
        _chat(_client(sim, sleeps), BODY, is_async)
    assert sleeps.calls == [] and len(sim.log) == 1


def test_spent_credits_are_not_retried_and_say_so_plainly(sim, is_async):
    sim.inject("credits")
    sleeps = Sleeps()
    with pytest.raises(CreditsExhausted) as info:
        _chat(_client(sim, sleeps), BODY, is_async)
    assert isinstance(info.value, RateLimitError) and info.value.status_code == 429
    msg = str(info.value)
    assert "no credits left" in msg and "spending limit" in msg and "not retried" in msg
    assert "console.x.ai" in msg
    assert sleeps.calls == [] and len(sim.log) == 1


def test_wrong_key_reads_as_rejected_key(sim, is_async):
    sim.inject("bad_key")
    with pytest.raises(AuthenticationError) as info:
        _chat(_client(sim), BODY, is_async)
    assert info.value.status_code == 400
    assert str(info.value).startswith("HTTP 400: the API key was rejected by 127.0.0.1")
    assert "Incorrect API key provided" in str(info.value)  # the server's own words


def test_simulator_requiring_a_key_rejects_another_one(is_async):
    with simulator.serve(api_key="xai-the-right-key-0123456789abcdef") as s:
        with pytest.raises(AuthenticationError, match="the API key was rejected"):
            _chat(_client(s), BODY, is_async)
        with Client(api_key="xai-the-right-key-0123456789abcdef", base_url=s.base_url) as good:
            assert _chat(good, BODY, is_async).text


@pytest.mark.parametrize("shape", ["xai", "openai", "string", "text"])
def test_every_error_body_shape_reaches_the_user(sim, shape, is_async):
    sim.inject("400", shape=shape, message="the server's own words 12345")
    with pytest.raises(BadRequestError) as info:
        _chat(_client(sim), BODY, is_async)
    assert "the server's own words 12345" in str(info.value)
    assert info.value.message == "the server's own words 12345"


def test_stall_before_the_answer_times_out_and_is_retried(sim, is_async):
    sim.inject("stall", stall_s=2.0)
    sleeps = Sleeps()
    answer = _chat(_client(sim, sleeps, timeout_s=0.3), BODY, is_async)
    assert answer.finish_reason == "stop" and len(sleeps.calls) == 1
    sim.inject("stall", stall_s=2.0)
    with pytest.raises(APITimeoutError, match=r"no data for 0\.3 s"):
        _chat(_client(sim, Sleeps(), timeout_s=0.3, max_retries=0), PLAIN, is_async)


def test_stall_mid_stream_keeps_the_partial_answer_and_is_not_retried(sim, is_async):
    full = _reference_text(sim)
    sim.inject("stall", after_chunks=4, stall_s=2.0)
    sleeps = Sleeps()
    seen: list[str] = []
    with pytest.raises(APITimeoutError) as info:
        _chat(_client(sim, sleeps, timeout_s=0.3), BODY, is_async, on_delta=seen.append)
    partial = info.value.answer
    assert partial.finish_reason == "incomplete" and not partial.complete
    assert partial.text == "".join(seen) and seen and full.startswith(partial.text)
    assert "partial answer" in str(info.value) and sleeps.calls == []


def test_reset_mid_stream_keeps_the_partial_answer(sim, is_async):
    full = _reference_text(sim)
    sim.inject("reset", after_chunks=3)
    sleeps = Sleeps()
    with pytest.raises(APIConnectionError) as info:
        _chat(_client(sim, sleeps), BODY, is_async)
    partial = info.value.answer
    assert not isinstance(info.value, APITimeoutError)
    assert partial.finish_reason == "incomplete" and partial.usage is None
    assert partial.text and full.startswith(partial.text) and len(partial.text) < len(full)
    assert partial.request is not None and partial.model == MODEL
    assert sleeps.calls == [] and len(sim.requests) == 2  # not retried


def test_reset_before_the_first_token_is_retried(sim, is_async):
    sim.inject("reset", after_chunks=0)
    sleeps = Sleeps()
    answer = _chat(_client(sim, sleeps), BODY, is_async)
    assert answer.finish_reason == "stop" and len(sleeps.calls) == 1
    sim.inject("reset")
    # non-streamed: retried
    assert _chat(_client(sim, sleeps), PLAIN, is_async).finish_reason == "stop"


def test_stream_ending_without_done_or_finish_reason_is_incomplete(sim, is_async):
    sim.inject("truncate", after_chunks=5)
    with pytest.raises(APIConnectionError, match="without \\[DONE\\]") as info:
        _chat(_client(sim), BODY, is_async)
    assert info.value.answer.finish_reason == "incomplete"
    assert len(info.value.answer.text) > 0


def test_malformed_event_breaks_the_stream_with_the_partial_answer(sim, is_async):
    sim.inject("malformed", after_chunks=2)
    with pytest.raises(APIConnectionError, match="malformed stream event") as info:
        _chat(_client(sim), BODY, is_async)
    assert info.value.answer.finish_reason == "incomplete" and info.value.answer.text


def test_malformed_event_before_any_text_and_bad_json_bodies_are_retried(sim, is_async):
    sim.inject("malformed", after_chunks=0)
    sleeps = Sleeps()
    assert _chat(_client(sim, sleeps), BODY, is_async).finish_reason == "stop"
    sim.inject("malformed")
    assert _chat(_client(sim, sleeps), PLAIN, is_async).finish_reason == "stop"
    assert len(sleeps.calls) == 2


def test_error_event_mid_stream(sim, is_async):
    sim.inject("error_event", after_chunks=2, message="model overloaded, try later")
    with pytest.raises(APIConnectionError, match="model overloaded, try later") as info:
        _chat(_client(sim), BODY, is_async)
    assert info.value.answer.finish_reason == "incomplete"


def test_connection_refused_is_retried_then_explained(is_async):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    client = Client(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", sleep=sleeps,
        async_sleep=sleeps.async_sleep,
    )  # fmt: skip
    with pytest.raises(APIConnectionError) as info, client:
        _chat(client, BODY, is_async)
    assert len(sleeps.calls) == 2
    assert "could not get an answer from 127.0.0.1" in str(info.value)
    assert "XAI_BASE_URL" in str(info.value)


def test_keyboard_interrupt_keeps_the_partial_answer_and_the_client_usable(sim):
    client = _client(sim)
    seen: list[str] = []

    def on_delta(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        client.chat(BODY, on_delta=on_delta)
    partial = info.value.partial_answer
    # what was shown is the start of the partial answer (the last few characters wait
    # for the next chunk, so a key streamed in pieces is never shown)
    assert partial.finish_reason == "interrupted" and partial.text.startswith("".join(seen))
    # the same client goes on working, on the same pool
    again = client.chat(BODY)
    assert again.finish_reason == "stop" and again.text.startswith(partial.text)
    assert client.chat(PLAIN).text == again.text


def test_async_interrupt_and_cancellation():
    seen: list[str] = []

    def interrupt_on_second(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 2:
            raise KeyboardInterrupt

    async def main(client: Client):
        with pytest.raises(KeyboardInterrupt) as info:
            await client.achat(BODY, on_delta=interrupt_on_second)
        assert info.value.partial_answer.finish_reason == "interrupted"
        assert info.value.partial_answer.text.startswith("".join(seen))
        # cancelling the task (a timeout around the await, a stopped cell) does the same
        started = asyncio.Event()
        task = asyncio.ensure_future(client.achat(BODY, on_delta=lambda _: started.set()))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as cancelled:
            await task
        partial = cancelled.value.partial_answer
        assert partial.finish_reason == "interrupted" and partial.text
        answer = await client.achat(BODY)
        await client.aclose()
        return answer

    with simulator.serve(tokens_per_s=400) as slow:  # slow enough to cancel mid-stream
        client = _client(slow)
        assert asyncio.run(main(client)).finish_reason == "stop"


def test_async_retries_use_the_async_sleep(sim):
    sim.inject("429", retry_after=2)
    sim.inject("reset", after_chunks=0)
    sleeps = Sleeps()

    async def main():
        async with _client(sim, sleeps) as client:
            return await client.achat(BODY)

    answer = asyncio.run(main())
    assert answer.finish_reason == "stop" and sleeps.calls == [2.0, 1.0]  # 2nd retry: 1 s
