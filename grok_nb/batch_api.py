"""xAI's Batch API from a notebook: ``submit_batch``, ``BatchJob``, ``batch_jobs``.

``submit_batch(items, prompt)`` plans every item exactly as ``ask`` would (same
request, same cache key), refuses before anything is sent when the estimate at the
batch price is above ``max_batch_cost_usd``, creates a batch and adds the requests
(``batch_upload``: within the limits, journalled, never twice). Items already in the
response cache are not sent at all. The job is recorded in a journal beside the cache
(``batch_journal``), so a new kernel picks it up with ``BatchJob.attach(id)``, and
calling ``submit_batch`` again with the same items continues (or returns) the same job
instead of paying twice.

Results are paged in, mapped back by ``batch_request_id`` and written to the response
cache under the key of the interactive ask of the same request, so a later ``ask`` or
a notebook re-run is free. Each result is collected once (the journal says so).

Prices: xAI's pages disagree on the batch discount (the newer model pages say 20 %
off, the older batch page 50 %). Estimates and caps use the conservative 20 %
(``BATCH_DISCOUNT``) and say so (``PRICE_NOTE``); what a result cost is the API's own
``cost_in_usd_ticks``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from grok_nb import batch_upload, budget
from grok_nb.answer import Answer, Usage, cost_from_usage
from grok_nb.api.batches import BatchAPI, OutcomeUnknown
from grok_nb.api.client import Client
from grok_nb.api.credentials import resolve_base_url
from grok_nb.api.request import redact_request
from grok_nb.api.stream import StreamState
from grok_nb.batch_journal import JobRecord, Journal, RowRecord, journal
from grok_nb.batch_upload import (
    LIMITS,
    AddStats,
    NotBatchEnabled,
    add_rows,
    reconcile,
)  # fmt: skip
from grok_nb.cache.responses import cacheable, request_key
from grok_nb.calls import CallPlan, plan_call, response_cache
from grok_nb.errors import ConfigError, GrokError
from grok_nb.frames import answers_to_frame
from grok_nb.ledger import LEDGER
from grok_nb.preparing import batch_item, item_label
from grok_nb.pricing import format_usd
from grok_nb.settings import resolve_options

__all__ = [
    "BATCH_DISCOUNT",
    "PRICE_NOTE",
    "BatchJob",
    "BatchRequestError",
    "BatchStatus",
    "batch_jobs",
    "submit_and_wait",
    "submit_batch",
]

BATCH_DISCOUNT = 0.20  # the smaller of the documented discounts (20 % vs 50 %)
PRICE_NOTE = (
    "at the batch price, estimated at 20 % off the list price (documented: xAI's newer "
    "model pages say 20 %, the older batch page 50 %; the smaller discount is used for caps)"
)
_not_batch_enabled: dict[tuple[str, str], str] = {}  # (base_url, model) -> the API's refusal


class BatchRequestError(GrokError):
    """A request of a batch that did not produce an answer (its error, cancelled, pending)."""


@dataclass(frozen=True)
class BatchStatus:
    """Where a job stands: the API's counts, plus what never went to the batch."""

    batch_id: str
    total: int
    pending: int
    succeeded: int
    failed: int
    cancelled: int
    not_sent: int  # cached (free), refused before sending, or not yet added
    cost_usd: float  # collected so far

    @property
    def done(self) -> bool:
        return self.pending == 0

    def __str__(self) -> str:
        return (
            f"{self.batch_id}: {self.succeeded} succeeded, {self.failed} failed, "
            f"{self.cancelled} cancelled, {self.pending} pending, {self.not_sent} not sent; "
            f"{format_usd(self.cost_usd)} so far"
        )


_clients: dict[str, Client] = {}


def _api(base_url: str, opts: dict[str, Any] | None = None) -> BatchAPI:
    if base_url not in _clients:
        o = opts or resolve_options()
        _clients[base_url] = Client(
            base_url=base_url, timeout_s=float(o["timeout_s"]), max_retries=int(o["max_retries"]),
            max_retry_after_s=float(o["max_retry_after_s"]),
        )  # fmt: skip
    return BatchAPI(_clients[base_url])


def _plan(pair: tuple[Any, Any], per_call: dict[str, Any]) -> CallPlan:
    image, prompt = pair
    return plan_call(prompt, [] if image is None else [image], **per_call)


def _first_pass(
    pairs: list[tuple[Any, Any]], per_call: dict[str, Any], opts: dict[str, Any]
) -> list[RowRecord]:
    """Plan every item (a few at a time; only keys and estimates are kept)."""
    cache = response_cache(opts)
    cap = opts.get("max_cost_usd")

    def one(n: int) -> RowRecord:
        image, _ = pairs[n]
        row = RowRecord(n, f"r{n:06d}", None, item_label(image), None, "new", None, None, None, 0)
        try:
            call = _plan(pairs[n], per_call)
        except GrokError as exc:  # a bad item fails alone
            return _with(row, state="refused", error=str(exc))
        key = call.cache_key or request_key(call.body, call.base_url)
        worst = call.estimate.worst_usd
        row = _with(row, cache_key=key, request=redact_request(call.body), cost_usd=worst)
        if opts["cache"] in ("use", "replay") and key in cache:
            entry = cache.get(key)
            if entry is not None:
                return _with(row, state="cached", record=dict(entry.record), cost_usd=0.0)
        if opts["cache"] == "replay":
            return _with(row, state="refused", error="cache='replay' and not in the cache")
        if cap is not None and worst is not None and worst * (1 - BATCH_DISCOUNT) > cap:
            return _with(
                row, state="refused", error=f"estimated {format_usd(worst)}, above "
                f"max_cost_usd={format_usd(cap)}; not sent",
            )  # fmt: skip
        return row

    with ThreadPoolExecutor(LIMITS.prepare_workers, thread_name_prefix="grok_nb.plan") as pool:
        return list(pool.map(one, range(len(pairs))))


def _with(row: RowRecord, **changes: Any) -> RowRecord:
    return replace(row, **changes)


def submit_batch(
    items: Iterable[Any],
    prompt: str | None = None,
    *,
    model: str | None = None,
    name: str | None = None,
    max_batch_cost_usd: float | None = None,
    resume: bool = True,
    **options: Any,
) -> BatchJob:
    """Send ``items`` (as ``ask_many`` takes them) through xAI's Batch API; a ``BatchJob``.

    Refuses before anything is sent when the estimate for the whole batch, at the batch
    price (``PRICE_NOTE``), is above ``max_batch_cost_usd``, or when the API has refused
    ``model`` for batches before. With ``resume`` (the default), the same items at the
    same endpoint continue or return the job already in the journal."""
    opts = resolve_options(model=model, max_batch_cost_usd=max_batch_cost_usd, **options)
    base_url = resolve_base_url(opts["base_url"])
    pairs = [batch_item(item, prompt, "submit_batch") for item in items]
    per_call = {k: v for k, v in options.items() if k != "max_cost_usd"}
    per_call["model"] = opts["model"]
    refused = _not_batch_enabled.get((base_url, opts["model"]))
    if refused is not None:
        raise NotBatchEnabled(refused)
    rows = _first_pass(pairs, per_call, opts)
    digest = hashlib.sha256(f"{base_url}\n{opts['model']}".encode())
    for r in rows:
        digest.update(f"\n{r.cache_key or r.state}".encode())
    fingerprint = digest.hexdigest()
    log = journal()
    if resume and (found := log.find(fingerprint, base_url)) is not None:
        job = BatchJob(found.batch_id, log)
        if found.state == "adding":
            job._add(pairs, per_call)
        return job
    to_send = [r for r in rows if r.state == "new"]
    worst = [r.cost_usd for r in to_send]
    estimate = None if any(w is None for w in worst) else sum(w or 0.0 for w in worst)
    estimate = None if estimate is None else estimate * (1 - BATCH_DISCOUNT)
    budget.check(
        estimate, opts["max_batch_cost_usd"], setting="max_batch_cost_usd",
        what=f"submit_batch: the estimated total for {len(to_send)} requests {PRICE_NOTE},",
    )  # fmt: skip
    api = _api(base_url, opts)
    name = name or f"grok_nb-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    batch_upload.CREATE_LIMITER.acquire(log)
    batch = _create(api, name)
    keep = {"cache": opts["cache"], "cache_path": opts["cache_path"]}
    record = JobRecord(
        batch["batch_id"], name, base_url, opts["model"], time.time(), len(rows), fingerprint,
        estimate, PRICE_NOTE, "adding", keep,
    )  # fmt: skip
    log.add_job(record, rows)
    job = BatchJob(record.batch_id, log)
    job._add(pairs, per_call)
    return job


def _create(api: BatchAPI, name: str) -> dict[str, Any]:
    """Create a batch; after an unknown outcome, look for it by its (unique) name first."""
    for _ in range(3):
        try:
            return api.create(name)
        except OutcomeUnknown:
            found = [b for b in api.list_batches() if b.get("name") == name]
            if found:
                return found[0]
    return api.create(name)


class BatchJob:
    """One Batch API job of this machine's journal."""

    def __init__(self, batch_id: str, log: Journal | None = None) -> None:
        self.journal = log or journal()
        record = self.journal.job(batch_id)
        if record is None:
            raise ConfigError(
                f"batch {batch_id!r} is not in this machine's journal "
                f"({self.journal.path}); grok_nb.batch_jobs() lists the jobs it knows"
            )
        self.id = batch_id
        self.record = record
        self.add_stats = AddStats()

    @classmethod
    def attach(cls, batch_id: str) -> BatchJob:
        """The job ``batch_id`` from the journal (a new kernel resumes with this)."""
        return cls(batch_id)

    @property
    def api(self) -> BatchAPI:
        return _api(self.record.base_url)

    def __repr__(self) -> str:
        r = self.journal.job(self.id) or self.record
        return f"<BatchJob {self.id} {r.name!r} {r.n_items} items, {r.state}, model {r.model}>"

    # -- adding --------------------------------------------------------------------

    def _add(self, pairs: list[tuple[Any, Any]], per_call: dict[str, Any]) -> None:
        api, log = self.api, self.journal
        reconcile(api, log, self.id)  # a crash mid-add: look before sending again
        rows = [(r.row_id, pairs[r.idx]) for r in log.rows(self.id, "new")]

        def refuse(row_id: str, message: str) -> None:
            log.refuse_row(self.id, row_id, message)

        def build(pair: Any) -> dict[str, Any]:
            return _plan(pair, per_call).body

        try:
            add_rows(
                api, log, self.id, rows, build, model=self.record.model,
                stats=self.add_stats, on_refused=refuse,
            )  # fmt: skip
        except NotBatchEnabled as exc:
            _not_batch_enabled[(self.record.base_url, self.record.model)] = str(exc)
            self.cancel()
            raise
        log.set_job_state(self.id, "submitted")

    # -- progress ------------------------------------------------------------------

    def status(self) -> BatchStatus:
        """The API's counts for the batch, and the cost of what was collected so far."""
        state = self.api.get(self.id).get("state") or {}
        counts = self.journal.counts(self.id)
        not_sent = sum(counts.get(s, 0) for s in ("new", "cached", "refused"))
        return BatchStatus(
            self.id, self.record.n_items, int(state.get("num_pending") or 0),
            int(state.get("num_success") or 0), int(state.get("num_error") or 0),
            int(state.get("num_cancelled") or 0), not_sent, self.journal.cost(self.id),
        )  # fmt: skip

    def wait(
        self,
        progress: bool = True,
        *,
        poll_s: float = 1.0,
        max_poll_s: float = 30.0,
        timeout_s: float | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> BatchStatus:
        """Poll until nothing is pending (backoff from ``poll_s`` up to ``max_poll_s``),
        collecting results as they finish; a tqdm bar when ``progress``."""
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.record.n_items, desc=f"batch {self.id}", unit="img")
        started, delay = time.monotonic(), poll_s
        try:
            while True:
                status = self.status()
                finished = self._counts("done") + self._counts("failed")
                if status.succeeded + status.failed > finished:
                    self.collect()
                if bar is not None:
                    bar.n = self.record.n_items - status.pending - self._counts("new")
                    bar.set_postfix_str(f"spent {format_usd(status.cost_usd)}", refresh=False)
                    bar.refresh()
                if status.done:
                    self.collect()
                    self.journal.set_job_state(self.id, "done")
                    return self.status()
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    return status
                sleep(delay)
                delay = min(delay * 2, max_poll_s)
        finally:
            if bar is not None:
                bar.close()

    def _counts(self, state: str) -> int:
        return self.journal.counts(self.id).get(state, 0)

    def collect(self) -> int:
        """Page in finished results not collected yet; store each once (journal, cache,
        ledger). Returns how many were new."""
        log, new = self.journal, 0
        waiting = {
            r.row_id: r for r in log.rows(self.id) if r.state in ("added", "sending", "cancelled")
        }
        if not waiting:
            return 0
        for page in self.api.results(self.id):
            for result in page:
                row = waiting.pop(str(result.get("batch_request_id")), None)
                if row is not None:
                    new += self._store(row, result)
        return new

    def _store(self, row: RowRecord, result: dict[str, Any]) -> int:
        error = result.get("error_message")
        answer = None
        if error is None:
            answer = _answer(result, row, self.record.model)
            if answer is None:
                error = "the result carries neither a response nor an error_message"
        if answer is None:
            ok = self.journal.finish_row(
                self.id, row.row_id, record=None, error=str(error), cost_usd=None
            )
            return int(ok)
        record = answer.to_dict()
        if not self.journal.finish_row(
            self.id, row.row_id, record=record, error=None, cost_usd=answer.cost_usd
        ):
            return 0  # another kernel collected it first
        opts = self.record.options
        if row.cache_key and opts.get("cache") in ("use", "refresh") and cacheable(record):
            response_cache(opts).put(
                row.cache_key, record, base_url=self.record.base_url, model=answer.model
            )
        LEDGER.record(answer)
        return 1

    # -- results -------------------------------------------------------------------

    def results(self) -> list[Answer]:
        """One ``Answer`` per item, in item order; items without one are failed answers
        whose ``error`` says why (their error, cancelled, still pending, refused)."""
        self.collect()
        return [_row_answer(r, self.id) for r in self.journal.rows(self.id)]

    def cancel(self) -> BatchStatus:
        """Cancel the batch: what finished is kept (and collected), the rest is cancelled."""
        self.api.cancel(self.id)
        self.collect()
        self.journal.cancel_unfinished(self.id)
        self.journal.set_job_state(self.id, "cancelled")
        return self.status()

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per item (``answers_to_frame``'s columns, plus the
        journal's ``batch_request_id`` and ``state``)."""
        rows = self.journal.rows(self.id)
        frame = answers_to_frame(self.results())
        frame["item"] = [r.label for r in rows]
        frame.insert(1, "batch_request_id", [r.row_id for r in rows])
        frame.insert(2, "state", [r.state for r in rows])
        return frame


def _answer(result: dict[str, Any], row: RowRecord, model: str) -> Answer | None:
    response = (result.get("batch_result") or {}).get("response") or {}
    completion = response.get("chat_get_completion")
    if not isinstance(completion, dict):
        return None
    state = StreamState()
    state.add_completion(completion)
    billed = state.model or model
    return Answer(
        text=state.text, usage=state.usage, cost_usd=cost_from_usage(state.usage, billed),
        model=billed, model_asked=model, finish_reason=state.finish_reason or "stop",
        request=row.request, id=state.id, item=row.label,
    )  # fmt: skip


def _row_answer(row: RowRecord, batch_id: str) -> Answer:
    rec = row.record
    if rec is not None and row.state in ("done", "cached"):
        cached = row.state == "cached"
        usage = rec.get("usage")
        return Answer(
            text=rec.get("text", ""), usage=None if usage is None else Usage(**usage),
            cost_usd=0.0 if cached else rec.get("cost_usd"), model=rec.get("model", ""),
            model_asked=rec.get("model_asked", ""), cached=cached,
            finish_reason=rec.get("finish_reason"), request=rec.get("request"), id=rec.get("id"),
            original_cost_usd=rec.get("original_cost_usd", rec.get("cost_usd")), item=row.label,
        )  # fmt: skip
    why = {
        "cancelled": "cancelled before it ran",
        "new": "never added to the batch (run submit_batch again with the same items)",
    }.get(row.state, f"not finished yet ({row.state}); call job.wait() first")
    message = row.error or why
    answer = Answer(text="", finish_reason="error", item=row.label)
    answer.error = BatchRequestError(f"{batch_id} {row.row_id}: {message}")
    return answer


def batch_jobs() -> list[BatchJob]:
    """Every job submitted from this machine (the journal beside the cache), oldest first."""
    log = journal()
    return [BatchJob(j.batch_id, log) for j in log.jobs()]


def submit_and_wait(
    items: Iterable[Any], prompt: str | None = None, *, progress: bool = True, **options: Any
) -> list[Answer]:
    """``ask_many(..., via="batch")``: submit, wait, and the answers in item order."""
    job = submit_batch(items, prompt, **options)
    job.wait(progress=progress)
    return job.results()
