"""The simulator's Batch API: create, add, get, list requests, paged results, cancel, list.

Routes (xai-api.md §"Batch API"), all under ``/v1/batches``::

    POST /v1/batches                          {"name"} -> batch
    POST /v1/batches/{id}/requests            {"batch_requests": [...]}
    GET  /v1/batches/{id}                     batch with state counts
    GET  /v1/batches/{id}/requests            per-request metadata, paged
    GET  /v1/batches/{id}/results             finished results, paged
    POST /v1/batches/{id}:cancel              pending requests become cancelled
    GET  /v1/batches                          every batch

Each request is answered when it is added (the same reply the chat route gives) and
revealed ``seconds`` later (plus ``stagger_s`` per earlier request of its batch): the
time-scale knobs, so a batch completes in seconds, not
hours. The documented limits are enforced, so a client that breaks them meets the
error a real one would: one batch created per second (429), an add call of at most
``MAX_ADD_BYTES`` (413), at most ``MAX_ADDS_PER_WINDOW`` add calls per rolling
``ADD_WINDOW_S`` (429). A model in ``NOT_BATCH_ENABLED`` is refused with a 400 that
says so. Results are billed at ``billed_fraction`` of the list price.

Scripted behaviour, beside the server's fault queue (a ``"429"`` fault on path
``"/requests"`` refuses an add; a ``"reset"`` fault there processes the add and then
drops the connection, so the reply is lost): ``fail`` (batch_request_id -> error
message, a per-request error), ``expire_after_s`` (pending requests of an older batch
end as expired), ``cancel(batch_id)`` (a cancellation mid-run from elsewhere).
``received`` counts every batch_request_id added, so tests can prove none was sent twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grok_nb.simulator.catalog import resolve
from grok_nb.simulator.respond import make_reply
from grok_nb.simulator.validate import SimError, parse_chat

__all__ = ["NOT_BATCH_ENABLED", "BatchStore"]

MAX_ADD_BYTES = 25_000_000
MAX_ADDS_PER_WINDOW = 100
ADD_WINDOW_S = 30.0
CREATE_INTERVAL_S = 1.0
DEFAULT_PAGE = 100
# grok-4.7's model page says it is not batch-enabled (xai-api.md)
NOT_BATCH_ENABLED = frozenset({"grok-4.7"})


@dataclass
class _Request:
    id: str
    due: float
    result: dict[str, Any] | None
    error: str | None
    state: str = "pending"  # pending, succeeded, failed, cancelled


@dataclass
class _Batch:
    id: str
    name: str
    created: float
    expires: float | None
    cancelled_at: float | None = None
    requests: dict[str, _Request] = field(default_factory=dict)


class BatchStore:
    """Every batch of one simulator, in memory; thread-safe."""

    def __init__(self) -> None:
        self.seconds = 0.5  # a request added now is finished this many seconds later
        self.stagger_s = 0.0  # ... and the n-th request of a batch n * stagger_s after that
        self.billed_fraction = 0.5  # batch price: the older page's 50 % off
        self.fail: dict[str, str] = {}
        self.expire_after_s: float | None = None
        self.enforce_limits = True
        self.received: Counter[str] = Counter()
        self.add_sizes: list[int] = []
        self._adds: deque[float] = deque()
        self._last_create = -1e9
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()
        self._number = 0

    # -- scripted ------------------------------------------------------------------

    def cancel(self, batch_id: str) -> None:
        """Cancel a batch from outside the client (another notebook, the console)."""
        with self._lock:
            self._cancel(self._get(batch_id), time.time())

    # -- routes --------------------------------------------------------------------

    def handle(self, method: str, target: str, raw: bytes, rule: str) -> dict[str, Any]:
        """The JSON reply for one request under ``/v1/batches``; ``SimError`` otherwise."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        rest = path[len("/v1/batches") :].strip("/")
        now = time.time()
        if method == "POST" and rest == "":
            return self._create(raw, now)
        if method == "GET" and rest == "":
            with self._lock:
                batches = [self._view(b, now) for b in self._batches.values()]
            return {"batches": batches, "pagination_token": None}
        if method == "POST" and rest.endswith(":cancel"):
            with self._lock:
                batch = self._get(rest[: -len(":cancel")])
                self._cancel(batch, now)
                return self._view(batch, now)
        batch_id, _, sub = rest.partition("/")
        if method == "POST" and sub == "requests":
            return self._add(batch_id, raw, rule, now)
        if method == "GET" and sub in ("", "requests", "results"):
            with self._lock:
                batch = self._get(batch_id)
                if sub == "":
                    return self._view(batch, now)
                return self._page(batch, sub, query, now)
        raise SimError(404, f"No handler for {method} {path} (grok_nb simulator)")

    def _get(self, batch_id: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise SimError(404, f"Batch {batch_id} not found")
        return batch

    def _create(self, raw: bytes, now: float) -> dict[str, Any]:
        body = _json(raw)
        with self._lock:
            if self.enforce_limits and now - self._last_create < CREATE_INTERVAL_S:
                raise SimError(429, "Too many batches created: at most one per second per team")
            self._last_create = now
            self._number += 1
            batch_id = f"batch_sim_{self._number:05d}"
            expires = None if self.expire_after_s is None else now + self.expire_after_s
            batch = _Batch(batch_id, str(body.get("name") or batch_id), now, expires)
            self._batches[batch_id] = batch
            return self._view(batch, now)

    def _add(self, batch_id: str, raw: bytes, rule: str, now: float) -> dict[str, Any]:
        if len(raw) > MAX_ADD_BYTES:
            raise SimError(413, f"An add call may carry at most {MAX_ADD_BYTES} bytes")
        with self._lock:
            batch = self._get(batch_id)
            if self.enforce_limits:
                while self._adds and now - self._adds[0] > ADD_WINDOW_S:
                    self._adds.popleft()
                if len(self._adds) >= MAX_ADDS_PER_WINDOW:
                    raise SimError(
                        429, f"Too many add calls: at most {MAX_ADDS_PER_WINDOW} per 30 seconds"
                    )
            if batch.cancelled_at is not None:
                raise SimError(400, f"Batch {batch_id} is cancelled; no requests can be added")
        items = _json(raw).get("batch_requests")
        if not isinstance(items, list):
            raise SimError(400, "batch_requests must be a list")
        made = [self._answer(item, rule) for item in items]  # outside the lock: slow
        with self._lock:
            self._adds.append(now)
            self.add_sizes.append(len(raw))
            for request_id, result, error in made:
                self.received[request_id] += 1
                error = self.fail.get(request_id, error)
                due = now + self.seconds + len(batch.requests) * self.stagger_s
                batch.requests[request_id] = _Request(request_id, due, result, error)
            return {"batch_id": batch_id, "num_added": len(made)}

    def _answer(self, item: Any, rule: str) -> tuple[str, dict[str, Any] | None, str | None]:
        if not isinstance(item, dict) or not isinstance(item.get("batch_request_id"), str):
            raise SimError(400, "each batch request needs a string batch_request_id")
        request_id = item["batch_request_id"]
        envelope = item.get("batch_request") or {}
        body = envelope.get("chat_get_completion") if isinstance(envelope, dict) else None
        if not isinstance(body, dict):
            raise SimError(400, f"{request_id}: batch_request.chat_get_completion is required")
        model = resolve(str(body.get("model") or ""))
        if model is not None and model.id in NOT_BATCH_ENABLED:
            raise SimError(400, f"Model {model.id} is not supported by the batch API")
        try:
            chat = parse_chat(json.dumps(body).encode(), "application/json", rule)
        except SimError as exc:  # a bad request fails alone, as its own result
            return request_id, None, exc.message
        with self._lock:
            self._number += 1
            number = self._number
        reply = make_reply(chat, rule, number)
        completion = reply.completion("final")
        usage = completion.get("usage") or {}
        if "cost_in_usd_ticks" in usage:
            usage["cost_in_usd_ticks"] = int(usage["cost_in_usd_ticks"] * self.billed_fraction)
        return request_id, completion, None

    def _cancel(self, batch: _Batch, now: float) -> None:
        self._advance(batch, now)
        if batch.cancelled_at is None:
            batch.cancelled_at = now
        for r in batch.requests.values():
            if r.state == "pending":
                r.state = "cancelled"

    def _advance(self, batch: _Batch, now: float) -> None:
        expired = batch.expires is not None and now >= batch.expires
        for r in batch.requests.values():
            if r.state != "pending":
                continue
            if r.due <= now:
                r.state = "failed" if r.error else "succeeded"
            elif expired:
                r.state, r.error, r.result = "failed", "Batch request expired", None

    def _view(self, batch: _Batch, now: float) -> dict[str, Any]:
        self._advance(batch, now)
        count = Counter(r.state for r in batch.requests.values())
        return {
            "batch_id": batch.id,
            "name": batch.name,
            "create_time": _iso(batch.created),
            "expire_time": None if batch.expires is None else _iso(batch.expires),
            "cancel_time": None if batch.cancelled_at is None else _iso(batch.cancelled_at),
            "state": {
                "num_requests": len(batch.requests),
                "num_pending": count["pending"],
                "num_success": count["succeeded"],
                "num_error": count["failed"],
                "num_cancelled": count["cancelled"],
            },
        }

    def _page(self, batch: _Batch, what: str, query: dict[str, str], now: float) -> dict[str, Any]:
        self._advance(batch, now)
        try:
            limit = max(1, min(int(query.get("limit") or DEFAULT_PAGE), 1000))
            start = int(query.get("pagination_token") or 0)
        except ValueError:
            raise SimError(400, "limit and pagination_token must be integers") from None
        rows = list(batch.requests.values())
        if what == "results":
            rows = [r for r in rows if r.state in ("succeeded", "failed")]
        page = rows[start : start + limit]
        token = str(start + limit) if start + limit < len(rows) else None
        if what == "requests":
            meta = [{"batch_request_id": r.id, "state": r.state} for r in page]
            return {"batch_request_metadata": meta, "pagination_token": token}
        results: list[dict[str, Any]] = []
        for r in page:
            if r.state == "failed":
                results.append({"batch_request_id": r.id, "error_message": r.error})
            else:
                response = {"chat_get_completion": r.result}
                results.append({"batch_request_id": r.id, "batch_result": {"response": response}})
        return {"results": results, "pagination_token": token}


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise SimError(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise SimError(400, "the request body must be a JSON object")
    return body


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
