"""The Batch API on the wire: create, add, get, list requests, results, cancel, list.

Routes and envelopes are xai-api.md §"Batch API". Requests go through the existing
``Client``'s connection pool, key handling, error mapping and retry policy.

Reads (get, list, requests, results) are idempotent and use the client's retry loop
as they are. Mutations are not idempotent, so only a refusal is retried here: a 429
(the server said no, nothing happened; its ``Retry-After`` is honoured under the same
policy). Any other failure after the request may have reached the server (a timeout,
a dropped connection, a 5xx) raises ``OutcomeUnknown``: the caller must look (the
batch's request list, or the batch list) before sending anything again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from grok_nb.api.client import Client
from grok_nb.api.retry import run
from grok_nb.api.stream import StreamBroken, StreamState
from grok_nb.errors import APIConnectionError, GrokError, InternalServerError, RateLimitError

__all__ = ["BATCHES_PATH", "BatchAPI", "OutcomeUnknown", "envelope"]

BATCHES_PATH = "/batches"


class OutcomeUnknown(APIConnectionError):
    """A mutation may or may not have happened (its reply never arrived, or a 5xx)."""


def envelope(request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """One inline batch request for a Chat Completions body (never streamed)."""
    chat = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return {"batch_request_id": request_id, "batch_request": {"chat_get_completion": chat}}


class BatchAPI:
    """The Batch API over one ``Client`` (its pool, key, timeouts and retry policy)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # -- plumbing ------------------------------------------------------------------

    def _once(self, method: str, path: str, body: bytes | None) -> Any:
        import httpx

        call = self.client._start(path)
        headers = dict(call.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.client._sync_http().request(
                method, call.url, content=body, headers=headers, timeout=self.client._timeout()
            )
            if response.status_code >= 400:
                raise call.status_error(response)
            return call.json(response)
        except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
            error = call.transport_error(exc, StreamState())
        raise error

    def _read(self, path: str, query: dict[str, Any] | None = None) -> Any:
        if query:
            path += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        call = self.client._start(path)  # for the retry policy's host name
        return run(lambda: self._once("GET", path, None), *self.client._retry(call))

    def _mutate(self, path: str, payload: Any) -> Any:
        return self._mutate_raw(path, json.dumps(payload, separators=(",", ":")).encode())

    def _mutate_raw(self, path: str, data: bytes) -> Any:
        """POST, retrying only refusals (429); an unknown outcome is raised, not retried."""
        call = self.client._start(path)
        policy, sleep, _ = self.client._retry(call)
        refusals = 0
        while True:
            try:
                return self._once("POST", path, data)
            except RateLimitError as exc:
                delay = policy.wait(exc, refusals)
                if delay is None:
                    raise
                refusals += 1
                sleep(delay)
            except (APIConnectionError, InternalServerError) as exc:
                raise OutcomeUnknown(
                    f"POST {path}: the outcome is unknown ({exc}); look before sending again"
                ) from exc

    # -- the routes ----------------------------------------------------------------

    def create(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._mutate(BATCHES_PATH, {"name": name})
        return result

    def add(self, batch_id: str, requests: list[dict[str, Any]] | bytes) -> Any:
        """Add inline requests (``envelope``s, or their JSON already encoded)."""
        path = f"{BATCHES_PATH}/{quote(batch_id)}/requests"
        if isinstance(requests, bytes):
            return self._mutate_raw(path, requests)
        return self._mutate(path, {"batch_requests": requests})

    def get(self, batch_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._read(f"{BATCHES_PATH}/{quote(batch_id)}")
        return result

    def cancel(self, batch_id: str) -> dict[str, Any]:
        path = f"{BATCHES_PATH}/{quote(batch_id)}:cancel"
        call = self.client._start(path)  # cancelling twice is harmless: retried freely
        result: dict[str, Any] = run(
            lambda: self._once("POST", path, b"{}"), *self.client._retry(call)
        )
        return result

    def list_batches(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._read(BATCHES_PATH, {"pagination_token": token})
            out += list(page.get("batches") or [])
            token = page.get("pagination_token")
            if not token:
                return out

    def _pages(self, batch_id: str, what: str, key: str, limit: int) -> Iterator[list[Any]]:
        token = None
        path = f"{BATCHES_PATH}/{quote(batch_id)}/{what}"
        while True:
            page = self._read(path, {"limit": limit, "pagination_token": token})
            if not isinstance(page, dict):
                raise GrokError(f"GET {path}: expected an object, got {type(page).__name__}")
            yield list(page.get(key) or [])
            token = page.get("pagination_token")
            if not token:
                return

    def request_ids(self, batch_id: str, limit: int = 1000) -> set[str]:
        """Every batch_request_id the batch holds (its per-request metadata, paged)."""
        ids: set[str] = set()
        for page in self._pages(batch_id, "requests", "batch_request_metadata", limit):
            ids.update(str(m.get("batch_request_id")) for m in page if isinstance(m, dict))
        return ids

    def results(self, batch_id: str, limit: int = 100) -> Iterator[list[dict[str, Any]]]:
        """Finished results, one page at a time."""
        yield from self._pages(batch_id, "results", "results", limit)
