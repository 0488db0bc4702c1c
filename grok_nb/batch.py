"""``ask_many``: many images through the API at once, within a budget, order kept.

Each item is planned first (images prepared, request built, cost estimated, cache
checked), so the batch can refuse before sending anything when its estimated total is
above ``max_batch_cost_usd``; ``max_cost_usd`` limits each item on its own, and an item
above it fails alone (``grok_nb.budget`` holds both checks). Requests then run
concurrently under one limit. A 429 pauses the whole batch, not just the item that met
it: the batch, not the client, retries, so every request waits at the same gate. How
long to wait is the client's own policy (``grok_nb.api.retry``: capped backoff, and
``Retry-After`` honoured up to ``max_retry_after_s``; a longer one fails the item).
Identical requests are sent once. Failures are recorded on their item
(``answer.error``) and never lose the rest of the batch.

Stopping a batch keeps what finished. A kernel interrupt during ``ask_many`` stops its
worker thread (the batch's tasks are cancelled and the thread joined) and re-raises the
``KeyboardInterrupt``; cancelling ``ask_many_async`` re-raises the ``CancelledError``
(under ``asyncio.wait_for`` it is the ``TimeoutError``'s ``__cause__``). Either
exception carries ``answers`` (also named ``partial_results``): one ``Answer`` per
item, in order, the finished ones as they came, the rest with ``finish_reason`` of
``"interrupted"`` (text streamed before the stop) or ``"cancelled"`` (never answered).
A batch closes the connections it opened on its event loop before it returns, and
``ask_many`` closes its own loop and the loop's threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from grok_nb import budget
from grok_nb.answer import Answer
from grok_nb.api.client import close_idle_pools
from grok_nb.api.retry import RetryPolicy
from grok_nb.background import run_on_own_loop
from grok_nb.batch_api import submit_and_wait
from grok_nb.cache.responses import request_key
from grok_nb.calls import CallPlan, plan_call, response_cache, send_async
from grok_nb.errors import ConfigError, CreditsExhausted, GrokError, RateLimitError
from grok_nb.preparing import batch_item, item_label
from grok_nb.pricing import format_usd
from grok_nb.settings import resolve_options

__all__ = ["ask_many", "ask_many_async"]

MAX_RATE_LIMIT_WAITS = 8  # per item: a batch keeps waiting out 429s longer than one call


@dataclass
class _Gate:
    """Shared pause: while ``until`` is in the future nobody sends."""

    until: float = 0.0
    streak: int = 0

    def pause(self, seconds: float) -> None:
        self.until = max(self.until, time.monotonic() + seconds)

    async def wait(self, sleep: Any) -> None:
        # Sleep until the latest pause ends. Each deadline is slept for once, so an
        # injected sleep that returns at once (tests) cannot make this spin.
        waited = 0.0
        while (target := self.until) > waited and (delay := target - time.monotonic()) > 0:
            await sleep(delay)
            waited = target


def _failed(error: GrokError | BaseException, call: CallPlan | None, label: str) -> Answer:
    answer = Answer(text="", finish_reason="error", model=call.model if call else "")
    answer.error = error
    if call is not None:
        answer.images = list(call.plans)
        answer.estimated_image_tokens = call.estimate.image_tokens
    answer.item = label
    return answer


def _unfinished(label: str, call: CallPlan | None) -> Answer:
    """An item the batch stopped before it was answered."""
    answer = _failed(asyncio.CancelledError("not answered: the batch was stopped"), call, label)
    answer.finish_reason = "cancelled"
    return answer


def _attach(exc: BaseException, answers: list[Answer]) -> None:
    """Keep a stopped batch's answers reachable on the exception that stopped it."""
    with contextlib.suppress(AttributeError, TypeError):  # an exception refusing attributes
        exc.answers = answers  # type: ignore[attr-defined]
        exc.partial_results = answers  # type: ignore[attr-defined]


def _policy(options: dict[str, Any]) -> RetryPolicy:
    return RetryPolicy(
        max_retries=int(options["max_retries"]),
        max_retry_after_s=float(options["max_retry_after_s"]),
    )


class _Batch:
    def __init__(self, options: dict[str, Any], sleep: Any):
        self.limit = options.get("max_batch_cost_usd")
        self.policy = _policy(options)
        self.sleep = sleep
        self.gate = _Gate()
        self.spent = 0.0
        self.reserved = 0.0
        self.inflight: dict[str, asyncio.Future[Answer]] = {}
        self.bar: Any = None

    async def run_one(self, call: CallPlan) -> Answer:
        from dataclasses import replace

        key = call.cache_key or request_key(call.body, call.base_url)
        if key in self.inflight:  # the same request twice in one batch: pay once
            return replace(await asyncio.shield(self.inflight[key]))
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        try:
            answer = await self._attempts(call, send_async)
            future.set_result(answer)
            return answer
        except asyncio.CancelledError:
            future.cancel()  # a duplicate waiting on it is stopped too
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved
            raise

    async def _attempts(self, call: CallPlan, send_async: Any) -> Answer:
        worst = _batch_share(call)
        budget.check_batch_running(self.spent, self.reserved, worst, self.limit)
        self.reserved += worst
        failures = waits = 0
        try:
            while True:
                await self.gate.wait(self.sleep)
                try:
                    answer = await send_async(call)
                except CreditsExhausted:
                    raise
                except RateLimitError as exc:
                    waits += 1
                    if waits > MAX_RATE_LIMIT_WAITS:
                        raise
                    # the server's Retry-After (up to max_retry_after_s), else backoff
                    delay = self.policy.wait(exc, self.gate.streak)
                    if delay is None:
                        raise  # asked for longer than max_retry_after_s: the message says so
                    self.gate.streak += 1
                    self.gate.pause(delay)
                    continue
                except GrokError as exc:  # 5xx, 408/409, connection errors: the policy
                    partial = getattr(exc, "answer", None)
                    if partial is not None and partial.text:
                        raise  # never resend once tokens were streamed (and billed)
                    delay = self.policy.delay(exc, failures)
                    if delay is None:
                        raise  # not retryable (a budget refusal, a 400), or out of retries
                    failures += 1
                    await self.sleep(delay)
                    continue
                self.gate.streak = 0
                if not answer.cached:
                    self.spent += answer.cost_usd or 0.0
                return answer
        finally:
            self.reserved -= worst


async def ask_many_async(
    items: Iterable[Any],
    prompt: str | None = None,
    *,
    concurrency: int | None = None,
    max_cost_usd: float | None = None,
    max_batch_cost_usd: float | None = None,
    progress: bool = True,
    sleep: Any = None,
    **options: Any,
) -> list[Answer]:
    """``ask_many`` for ``await``.

    Cancelling it (``task.cancel()``, ``asyncio.wait_for``) stops every item and
    re-raises the ``CancelledError`` with the batch's ``answers`` on it (see the module
    docstring); the connections the batch opened on this loop are closed before it ends.
    """
    opts = resolve_options(
        concurrency=concurrency,
        max_cost_usd=max_cost_usd,
        max_batch_cost_usd=max_batch_cost_usd,
        **options,
    )
    pairs = [batch_item(item, prompt, "ask_many") for item in items]
    # Plan everything first: images are prepared once, bad items fail here, not mid-batch.
    # max_cost_usd goes to every call (each item is checked on its own when it is sent);
    # the batch does the retrying itself, so its calls do none.
    per_call = {k: v for k, v in options.items() if k not in ("max_retries",)}
    per_call["max_cost_usd"] = max_cost_usd

    def plan_one(pair: tuple[Any, Any]) -> CallPlan | Exception:
        images = [] if pair[0] is None else [pair[0]]
        try:
            return plan_call(pair[1], images, max_retries=0, **per_call)
        except Exception as exc:  # a bad item fails alone (a GrokError, or a bug of ours)
            return exc

    limit = opts["max_batch_cost_usd"]
    calls: list[CallPlan | Exception | None] = [None] * len(pairs)
    results: list[Answer | None] = [None] * len(pairs)
    labels = [item_label(image) for image, _ in pairs]

    def outcomes() -> list[Answer]:
        return [
            r if r is not None else _unfinished(labels[i], _plan_or_none(calls[i]))
            for i, r in enumerate(results)
        ]

    try:
        estimate: float | None = None
        if limit is not None:
            # A batch budget needs the whole estimate before anything is sent: plan every
            # item first (Pillow releases the GIL, so threads use every core).
            planned = await asyncio.gather(*(asyncio.to_thread(plan_one, p) for p in pairs))
            calls = list(planned)
            estimate = sum(_batch_share(c) for c in calls if isinstance(c, CallPlan))
            budget.check(
                estimate,
                limit,
                setting="max_batch_cost_usd",
                what=f"ask_many: the estimated total for {len(pairs)} items",
            )
        # Without a budget, each item is planned by its worker, so images are prepared
        # while earlier requests are on the wire.
        await _run_all(pairs, calls, results, labels, opts, estimate, progress, plan_one, sleep)
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit) as exc:
        _attach(exc, outcomes())
        raise
    finally:
        # This loop's connections go with the batch (only those no other call is using).
        await close_idle_pools()
    return outcomes()


def _plan_or_none(call: CallPlan | Exception | None) -> CallPlan | None:
    return call if isinstance(call, CallPlan) else None


async def _run_all(
    pairs: list[tuple[Any, str]],
    calls: list[CallPlan | Exception | None],
    results: list[Answer | None],
    labels: list[str],
    opts: dict[str, Any],
    estimate: float | None,
    progress: bool,
    plan_one: Any,
    sleep: Any,
) -> None:
    """Run every item under the concurrency limit, recording each outcome in
    ``results``; a stop cancels every worker and waits for them before re-raising."""
    batch = _Batch(opts, sleep or asyncio.sleep)
    semaphore = asyncio.Semaphore(opts["concurrency"])
    bar = _progress(len(pairs), estimate) if progress else None

    async def worker(index: int) -> None:
        label = labels[index]
        call: CallPlan | Exception | None = None
        try:
            async with semaphore:
                call = calls[index]
                if call is None:
                    call = calls[index] = await asyncio.to_thread(plan_one, pairs[index])
                if isinstance(call, Exception):
                    results[index] = _failed(call, None, label)
                elif call is not None:
                    try:
                        answer = await batch.run_one(call)
                        answer.item = label
                        results[index] = answer
                    except Exception as exc:  # a GrokError, or a bug: this item fails alone
                        results[index] = _failed(exc, call, label)
        except asyncio.CancelledError as exc:
            partial = getattr(exc, "partial_answer", None)  # text streamed before the stop
            if results[index] is None and isinstance(partial, Answer):
                partial.item = label
                if isinstance(call, CallPlan):
                    partial.images = list(call.plans)
                results[index] = partial
            raise
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"spent {format_usd(batch.spent)}", refresh=False)

    tasks = [asyncio.ensure_future(worker(i)) for i in range(len(pairs))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        if bar is not None:
            bar.close()


def _batch_share(call: CallPlan) -> float:
    """What an item may add to the batch's total: nothing when it is served from the
    cache or refused alone by ``max_cost_usd`` (it is never sent), else its estimate."""
    worst = call.estimate.worst_usd or 0.0
    per_call = call.options.get("max_cost_usd")
    if (per_call is not None and worst > per_call) or _is_cached(call):
        return 0.0
    return worst


def _is_cached(call: CallPlan) -> bool:
    if call.cache_key is None or call.options["cache"] not in ("use", "replay"):
        return False
    return call.cache_key in response_cache(call.options)


def _progress(total: int, estimate: float | None) -> Any:
    """A tqdm bar. In a notebook it is a widget, and a saved notebook keeps only its
    first text ("0/60 0%"), so closing it also prints its final state as one line."""
    import sys

    from tqdm.auto import tqdm

    desc = "ask_many" if estimate is None else f"ask_many (est. {format_usd(estimate)})"
    bar = tqdm(total=total, desc=desc, unit="img")
    if getattr(bar, "container", None) is None:
        return bar  # a text bar: its last state is already in the output
    close = bar.close

    def close_and_summarise() -> None:
        if bar.disable:
            return
        final = bar.format_meter(**bar.format_dict)
        close()
        print(final, file=sys.stdout, flush=True)

    bar.close = close_and_summarise
    return bar


def ask_many(
    items: Iterable[Any],
    prompt: str | None = None,
    *,
    concurrency: int | None = None,
    max_cost_usd: float | None = None,
    max_batch_cost_usd: float | None = None,
    progress: bool = True,
    via: str = "live",
    **options: Any,
) -> list[Answer]:
    """Ask about many images concurrently; one ``Answer`` per item, in order.

    ``items`` are images, or ``(image, prompt)`` pairs. Items that fail carry the
    exception in ``answer.error`` (``finish_reason == "error"``). Works inside Jupyter's
    running event loop: the batch runs on a thread and event loop of its own, both gone
    when it returns. Interrupting stops the batch and raises ``KeyboardInterrupt`` with
    every item's ``Answer`` on its ``answers`` (also ``partial_results``): the finished
    ones kept, the rest marked ``"interrupted"`` / ``"cancelled"``.
    ``max_cost_usd`` limits each item (one above it fails alone, unsent);
    ``max_batch_cost_usd`` limits the batch's total (over it, nothing is sent).
    ``via="batch"`` sends the items through xAI's Batch API instead (``batch_api``:
    cheaper, slower) and waits for them; the answers come back the same way.
    """
    if via == "batch":
        return submit_and_wait(
            items, prompt, progress=progress, max_cost_usd=max_cost_usd,
            max_batch_cost_usd=max_batch_cost_usd, **options,
        )  # fmt: skip
    if via != "live":
        raise ConfigError(f"ask_many: via must be 'live' or 'batch', not {via!r}")
    coro_args = dict(
        concurrency=concurrency,
        max_cost_usd=max_cost_usd,
        max_batch_cost_usd=max_batch_cost_usd,
        progress=progress,
        **options,
    )
    # Always on a thread of its own with a loop of its own: inside Jupyter's running
    # loop as in a script, and an interrupt lands on this thread, between two joins.
    return _run_in_thread(list(items), prompt, coro_args)


def _run_in_thread(
    items: Sequence[Any], prompt: str | None, kwargs: dict[str, Any]
) -> list[Answer]:
    try:
        result: list[Answer] = run_on_own_loop(
            lambda: ask_many_async(items, prompt, **kwargs),
            name="grok_nb.ask_many",
            cleanup=close_idle_pools,
        )
    except KeyboardInterrupt as interrupt:
        outcome = getattr(interrupt, "outcome", None)
        answers = (
            getattr(outcome, "answers", None) if isinstance(outcome, BaseException) else outcome
        )
        if answers is not None:
            _attach(interrupt, answers)
        raise
    return result
