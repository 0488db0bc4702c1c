"""Run a coroutine to the end on its own thread and event loop, interruptibly.

``ask_many`` is called from plain code and from Jupyter (whose loop is already running),
so it runs its batch on a loop of its own, on a thread, and waits for it here. Before
Python 3.13 an interrupted ``Thread.join()`` can return (and mark the thread stopped)
while the thread still runs; so the wait is on the thread's own "done" event, in short
slices, and an interrupt cancels the coroutine, waits for it to wind down, and is
re-raised with the coroutine's outcome attached as ``interrupt.outcome`` (its result,
or the exception it ended with), so nothing finished is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["JOIN_POLL_S", "run_on_own_loop"]

JOIN_POLL_S = 0.1  # the wait is in slices: an interrupt lands between them
T = TypeVar("T")


def run_on_own_loop(
    make: Callable[[], Coroutine[Any, Any, T]],
    *,
    name: str,
    cleanup: Callable[[], Awaitable[Any]] | None = None,
) -> T:
    """``make()``'s coroutine run to the end on a new loop on a new thread; ``cleanup``
    runs on that loop before it closes (e.g. closing connection pools)."""
    box: dict[str, Any] = {}
    loop = asyncio.new_event_loop()
    context = contextvars.copy_context()  # the caller's context vars (the ledger's purpose)
    done = threading.Event()

    def target() -> None:
        try:
            task = box["task"] = loop.create_task(make())
            box["result"] = loop.run_until_complete(task)
        except BaseException as exc:  # handed to the calling thread below
            box["error"] = exc
        finally:
            try:
                _close_loop(loop, cleanup)
            finally:
                done.set()

    def cancel() -> None:
        task = box.get("task")
        if task is not None:
            task.cancel()

    thread = threading.Thread(target=context.run, args=(target,), name=name, daemon=True)
    thread.start()
    try:
        _join(thread, done)
    except KeyboardInterrupt as interrupt:
        # Stop the coroutine and wait for its thread (a second interrupt stops waiting).
        with contextlib.suppress(RuntimeError):  # the loop already closed: it finished
            loop.call_soon_threadsafe(cancel)
        _join(thread, done)
        interrupt.outcome = box.get("error", box.get("result"))  # type: ignore[attr-defined]
        raise
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


def _join(thread: threading.Thread, done: threading.Event) -> None:
    while not done.wait(JOIN_POLL_S):
        pass
    thread.join(JOIN_POLL_S)  # it only has to return from its target now


def _close_loop(
    loop: asyncio.AbstractEventLoop, cleanup: Callable[[], Awaitable[Any]] | None
) -> None:
    """What ``asyncio.run`` does at the end: no task, pool, thread or loop left over."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        if cleanup is not None:
            loop.run_until_complete(cleanup())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
