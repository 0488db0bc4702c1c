"""Adding a job's requests to its batch: within the limits, never twice, never a gap.

The documented limits (xai-api.md §"Batch API"), as ``Limits``:

- an add call carries at most 25 MB of JSON (base64 images count); requests are packed
  into add calls up to ``max_add_bytes``, and a request too big on its own fails alone;
- at most 100 add calls per rolling 30 s (``AddLimiter`` waits for the window);
- at most one batch created per second (``CreateLimiter``; the journal's newest job
  counts too, so two kernels on one machine keep to it).

Images are prepared by a few worker threads, at most ``prefetch`` requests ahead of the
add call being sent, so preparing overlaps uploading and memory holds one add call's
worth of requests plus the prefetch window, never every prepared image.

Mutations are not idempotent. Before an add call its rows are journalled ``sending``;
after it, ``added``. An add whose outcome is unknown (its reply was lost, a 5xx) is
followed by a read of the batch's request list: what is there is ``added``, the rest is
sent again. A kernel that died mid-add leaves ``sending`` rows; they are reconciled the
same way before anything else is sent (``reconcile``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from grok_nb.api.batches import BatchAPI, OutcomeUnknown, envelope
from grok_nb.batch_journal import Journal
from grok_nb.errors import BadRequestError, ConfigError, GrokError

__all__ = [
    "LIMITS",
    "AddLimiter",
    "AddStats",
    "CreateLimiter",
    "Limits",
    "NotBatchEnabled",
    "add_rows",
    "reconcile",
]

MB = 1_000_000  # "25 MB" read as decimal megabytes: the smaller reading
MAX_UNKNOWN_OUTCOMES = 5  # per add call: after this many lost replies in a row, stop


@dataclass
class Limits:
    max_add_bytes: int = 25 * MB  # the whole add call's JSON body
    max_requests_per_add: int = 1000
    max_adds_per_window: int = 100
    window_s: float = 30.0
    create_interval_s: float = 1.0
    prepare_workers: int = 4
    prefetch: int = 16


LIMITS = Limits()


class NotBatchEnabled(ConfigError):
    """The Batch API refused the model."""


@dataclass
class AddStats:
    """What the uploads did: for the benchmark and for tests."""

    add_calls: int = 0
    largest_add_bytes: int = 0
    prepared: int = 0
    prepare_s: float = 0.0
    unknown_outcomes: int = 0
    reconciled: int = 0
    sizes: list[int] = field(default_factory=list)


class AddLimiter:
    """At most ``limit`` calls per rolling ``window_s`` seconds (clock and sleep injectable)."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.limit, self.window_s, self.clock, self.sleep = limit, window_s, clock, sleep
        self.calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self.clock()
                while self.calls and now - self.calls[0] >= self.window_s:
                    self.calls.popleft()
                if len(self.calls) < self.limit:
                    self.calls.append(now)
                    return
                self.sleep(self.window_s - (now - self.calls[0]) + 0.01)


class CreateLimiter:
    """At most one batch created per ``interval_s``, counting jobs in the journal too."""

    def __init__(self, interval_s: float, sleep: Callable[[float], Any] = time.sleep) -> None:
        self.interval_s, self.sleep = interval_s, sleep
        self.last = 0.0
        self._lock = threading.Lock()

    def acquire(self, journal: Journal) -> None:
        with self._lock:
            last = max(self.last, journal.last_created_at())
            wait = last + self.interval_s - time.time()
            if wait > 0:
                self.sleep(wait)
            self.last = time.time()


ADD_LIMITER = AddLimiter(LIMITS.max_adds_per_window, LIMITS.window_s)
CREATE_LIMITER = CreateLimiter(LIMITS.create_interval_s)


def reconcile(api: BatchAPI, journal: Journal, batch_id: str) -> int:
    """Rows left ``sending`` (a crash, a lost reply): ``added`` when the batch holds them,
    else ``new`` to be sent again. Returns how many were found already added."""
    sending = [r.row_id for r in journal.rows(batch_id, "sending")]
    if not sending:
        return 0
    present = api.request_ids(batch_id)
    found = [r for r in sending if r in present]
    journal.set_rows(batch_id, found, "added")
    journal.set_rows(batch_id, [r for r in sending if r not in present], "new")
    return len(found)


Prepared = tuple[str, bytes | GrokError]  # row_id, one encoded envelope (or why not)


def _prepared(
    rows: Sequence[tuple[str, Any]], build: Callable[[Any], dict[str, Any]], limits: Limits,
    stats: AddStats,
) -> Iterator[Prepared]:  # fmt: skip
    """Encoded envelopes in row order, prepared ``prefetch`` ahead by worker threads."""

    def one(row_id: str, pair: Any) -> Prepared:
        started = time.perf_counter()
        try:
            body = build(pair)
        except GrokError as exc:  # a bad item fails alone
            return row_id, exc
        data = json.dumps(envelope(row_id, body), separators=(",", ":")).encode()
        stats.prepared += 1
        stats.prepare_s += time.perf_counter() - started
        return row_id, data

    with ThreadPoolExecutor(limits.prepare_workers, thread_name_prefix="grok_nb.batch") as pool:
        window: deque[Future[Prepared]] = deque()
        todo = iter(rows)
        try:
            for row_id, pair in todo:
                window.append(pool.submit(one, row_id, pair))
                if len(window) >= limits.prefetch:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for f in window:
                f.cancel()


def _body(chunk: Sequence[tuple[str, bytes]]) -> bytes:
    return b'{"batch_requests":[' + b",".join(d for _, d in chunk) + b"]}"


def add_rows(
    api: BatchAPI,
    journal: Journal,
    batch_id: str,
    rows: Sequence[tuple[str, Any]],
    build: Callable[[Any], dict[str, Any]],
    *,
    model: str,
    limits: Limits | None = None,
    limiter: AddLimiter | None = None,
    stats: AddStats | None = None,
    on_refused: Callable[[str, str], None] | None = None,
) -> AddStats:
    """Prepare and add ``rows`` (row_id, item) to the batch, journalling every step.

    ``build(item)`` returns the request body; an item that cannot be built, or is too
    big for an add call on its own, is passed to ``on_refused(row_id, message)``."""
    limits = limits or LIMITS
    limiter = limiter or ADD_LIMITER
    stats = stats or AddStats()
    overhead = len(_body([]))
    chunk: list[tuple[str, bytes]] = []
    size = overhead

    def flush() -> None:
        nonlocal chunk, size
        if chunk:
            _send(api, journal, batch_id, chunk, model, limiter, stats)
        chunk, size = [], overhead

    for row_id, data in _prepared(rows, build, limits, stats):
        if isinstance(data, GrokError) or overhead + len(data) > limits.max_add_bytes:
            message = (
                str(data)
                if isinstance(data, GrokError)
                else f"this request is {len(data) / MB:.1f} MB, above the Batch API's "
                f"{limits.max_add_bytes / MB:g} MB limit for one add call; send it with ask"
            )
            if on_refused is not None:
                on_refused(row_id, message)
            continue
        if size + len(data) + 1 > limits.max_add_bytes or len(chunk) >= limits.max_requests_per_add:
            flush()
        chunk.append((row_id, data))
        size += len(data) + 1
    flush()
    return stats


def _send(
    api: BatchAPI,
    journal: Journal,
    batch_id: str,
    chunk: list[tuple[str, bytes]],
    model: str,
    limiter: AddLimiter,
    stats: AddStats,
) -> None:
    journal.set_rows(batch_id, [r for r, _ in chunk], "sending")  # before it can happen
    unknown = 0
    while chunk:
        data = _body(chunk)
        limiter.acquire()
        stats.add_calls += 1
        stats.sizes.append(len(data))
        stats.largest_add_bytes = max(stats.largest_add_bytes, len(data))
        try:
            api.add(batch_id, data)
        except OutcomeUnknown:
            unknown += 1
            stats.unknown_outcomes += 1
            if unknown > MAX_UNKNOWN_OUTCOMES:
                raise  # rows stay "sending": the next attempt reconciles them first
            present = api.request_ids(batch_id)
            done = [r for r, _ in chunk if r in present]
            journal.set_rows(batch_id, done, "added")
            stats.reconciled += len(done)
            chunk = [(r, d) for r, d in chunk if r not in present]
            continue
        except BadRequestError as exc:
            journal.set_rows(batch_id, [r for r, _ in chunk], "new")  # nothing was added
            text = str(exc).lower()
            if (
                "batch" in text and "model" in text
            ):  # e.g. "Model X is not supported by the batch API"
                raise NotBatchEnabled(
                    f"model {model!r} is not batch-enabled: the Batch API refused it "
                    f"({exc}). Use ask_many (live requests) or a batch-enabled model"
                ) from exc
            raise
        journal.set_rows(batch_id, [r for r, _ in chunk], "added")
        return
