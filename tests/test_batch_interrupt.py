"""Stopping ``ask_many``: nothing finished is lost, the stop propagates, nothing is leaked."""

from __future__ import annotations

import _thread
import asyncio
import gc
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TEST_KEY as KEY
from PIL import Image

import grok_nb.calls as calls_mod
from grok_nb import simulator
from grok_nb.batch import ask_many, ask_many_async


def images(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (200 + 10 * i, 150), (20 * i % 255, 90, 160)) for i in range(n)]


@pytest.fixture
def slow_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """20 items at concurrency 2 take >= 1.5 s: a stop at 0.6 s finds some finished."""
    with simulator.serve(latency_s=0.15) as sim:
        monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
        monkeypatch.setenv("XAI_API_KEY", KEY)
        yield sim
    for client in calls_mod._clients.values():
        client.close()
    calls_mod._clients.clear()


def batch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "grok_nb.ask_many"]


def check_split(answers: list[Any]) -> None:
    assert len(answers) == 20
    done = [a for a in answers if a.finish_reason == "stop"]
    stopped = [a for a in answers if a.finish_reason != "stop"]
    assert done and stopped, [a.finish_reason for a in answers]
    assert all(a.error is None and "simulator" in a.text.lower() for a in done)
    assert all(a.finish_reason in ("cancelled", "interrupted") for a in stopped)
    # every answer names its item, in order
    assert [a.item for a in answers] == [a.item for a in answers if a.item]


def interrupted(sim: Any, run: Any) -> BaseException:
    """``run()``, interrupted like a kernel (SIGINT in the main thread) once the
    simulator has answered 3 requests."""
    stop = threading.Event()
    before = len(sim.log)

    def watch() -> None:
        while not stop.wait(0.01):
            if len(sim.log) >= before + 3:
                _thread.interrupt_main()
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            run()
    finally:
        stop.set()
        watcher.join()
    return info.value


@pytest.mark.parametrize("where", ["script", "jupyter"])
def test_an_interrupt_keeps_finished_answers_and_stays_a_keyboard_interrupt(
    slow_sim: Any, where: str
) -> None:
    def script() -> Any:
        return ask_many(images(20), "Describe.", concurrency=2, progress=False, cache="off")

    async def cell() -> Any:
        return script()

    def kernel() -> Any:
        # Jupyter: the kernel's loop runs in the main thread, and an interrupt is a plain
        # KeyboardInterrupt there (asyncio.run would turn it into a task cancellation).
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(cell())
        finally:
            loop.close()

    exc = interrupted(slow_sim, script if where == "script" else kernel)
    answers = exc.answers  # type: ignore[attr-defined]
    assert exc.partial_results is answers  # type: ignore[attr-defined]
    check_split(answers)
    # the worker thread was really stopped, and nothing more is sent afterwards
    assert batch_threads() == []
    started = slow_sim._count  # requests the simulator began to read
    threading.Event().wait(0.4)
    assert slow_sim._count == started


def test_wait_for_raises_timeout_error_with_the_answers_on_its_cause(slow_sim: Any) -> None:
    ask_many(images(1), "Warm up.", progress=False, cache="off")  # imports: then 0.6 s is enough

    async def run() -> None:
        batch = ask_many_async(images(20), "Describe.", concurrency=2, progress=False, cache="off")
        await asyncio.wait_for(batch, 0.6)

    with pytest.raises(asyncio.TimeoutError) as info:  # not a list of partial results
        asyncio.run(run())
    cause = info.value.__cause__
    assert isinstance(cause, asyncio.CancelledError)
    check_split(cause.answers)  # type: ignore[attr-defined]


def test_a_bug_in_one_item_fails_that_item_alone(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = calls_mod.send_async
    calls = {"n": 0}

    async def flaky(call: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("not a GrokError")
        return await real(call, **kw)

    monkeypatch.setattr("grok_nb.batch.send_async", flaky)
    answers = ask_many(images(5), "Describe.", concurrency=1, progress=False, cache="off")
    assert [a.finish_reason for a in answers].count("error") == 1
    failed = next(a for a in answers if a.finish_reason == "error")
    assert isinstance(failed.error, RuntimeError)
    assert sum(a.finish_reason == "stop" for a in answers) == 4


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_batches_leave_no_sockets_threads_or_loops(sim: Any) -> None:
    ask_many(images(2), "Warm up.", progress=False, cache="off")  # imports, the simulator
    gc.collect()
    threads, fds = threading.active_count(), open_fds()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)

        async def cell() -> None:  # two in a Jupyter-like running loop, two in a script
            for n in range(2):
                ask_many(images(6), f"Cell {n}.", concurrency=3, progress=False, cache="off")

        asyncio.run(cell())
        for n in range(2):
            ask_many(images(6), f"Script {n}.", concurrency=3, progress=False, cache="off")
        gc.collect()
    assert threading.active_count() == threads
    assert open_fds() <= fds
    assert batch_threads() == []
    # the async pools went with their loops
    assert all(not c._apools for c in calls_mod._clients.values())


def test_awaited_in_a_running_loop_the_batch_closes_its_pool(sim: Any) -> None:
    async def cell() -> None:
        await ask_many_async(images(3), "Describe.", progress=False, cache="off")
        assert all(not c._apools for c in calls_mod._clients.values())

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        asyncio.run(cell())
        gc.collect()
