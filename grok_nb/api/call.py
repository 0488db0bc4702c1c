"""One call to the API across its attempts, and the ``Answer`` it builds.

``Call`` holds what every attempt shares (URL, headers with the key, the body and
its redacted copy, timings) and turns what came back (a ``StreamState``, an error
response, a broken connection) into an ``Answer`` or a grok_nb error. The client
(``client.py``) does the I/O, sync and async, around it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grok_nb._version import __version__
from grok_nb.answer import Answer, cost_from_usage
from grok_nb.api import reply
from grok_nb.api.credentials import Secret
from grok_nb.api.error_map import error_for_status
from grok_nb.api.request import parse_structured, redact_request
from grok_nb.api.responses_body import RESPONSES_PATH
from grok_nb.api.responses_stream import ResponsesState
from grok_nb.api.sse import SSEEvent
from grok_nb.api.stream import StreamBroken, StreamState
from grok_nb.errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    GrokError,
    StructuredOutputError,
)
from grok_nb.redact import KEY_SHAPE, redact, redact_obj, redact_truncate, secret_values

if TYPE_CHECKING:
    import httpx

__all__ = ["Call", "OnDelta"]

HOLD_CHARS = 128  # streamed text held back until the next event: longer than a key

logger = logging.getLogger("grok_nb.api.client")

OnDelta = Callable[[str], None]


class _Headers(dict[str, str]):
    """Request headers whose repr hides the Authorization value (verbose tracebacks)."""

    def __repr__(self) -> str:
        return repr({k: ("Bearer ***" if k == "Authorization" else v) for k, v in self.items()})


def _headers(key: str) -> _Headers:
    return _Headers(
        {
            "Authorization": f"Bearer {key}",
            "Accept": "application/json, text/event-stream",
            "User-Agent": f"grok-nb/{__version__}",
        }
    )


class Call:
    """One logical call, across its attempts."""

    __slots__ = (
        "_on_delta",
        "_shown",
        "body",
        "first_token",
        "headers",
        "redacted",
        "request_id",
        "schema",
        "secret",
        "started",
        "timeout_s",
        "url",
    )  # fmt: skip

    def __init__(
        self, url: str, secret: Secret, body: dict[str, Any], schema: Any, timeout_s: float,
        conv_id: str | None = None,
    ) -> None:  # fmt: skip
        self.url = url
        self.secret = secret
        self.headers = _headers(secret.get())
        if conv_id and not self.responses:  # Responses sends it as prompt_cache_key
            self.headers["x-grok-conv-id"] = conv_id  # routes to a warm prompt cache
        self.body = body
        self.schema = schema
        self.timeout_s = timeout_s
        self._shown = 0  # characters of the streamed text already passed to on_delta
        self._on_delta: OnDelta | None = None
        sent = "messages" in body or "input" in body
        self.redacted = redact_request(body, secrets=(secret,)) if sent else None
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.request_id: str | None = None

    @property
    def responses(self) -> bool:
        """This call goes to the Responses API."""
        return self.url.rstrip("/").endswith(RESPONSES_PATH)

    def new_state(self) -> StreamState:
        """An empty reply state for one attempt, for this call's API."""
        return ResponsesState() if self.responses else StreamState()

    @property
    def host(self) -> str:
        return self.url.split("/")[2]

    def __repr__(self) -> str:
        return f"<grok_nb call {self.url}>"

    def status_error(self, response: httpx.Response) -> GrokError:
        return error_for_status(
            response.status_code, response.text, response.headers, url=self.url,
            secrets=(self.secret,),
        )  # fmt: skip

    def transport_error(self, exc: Exception, state: StreamState) -> GrokError:
        import httpx

        if isinstance(exc, (reply.MalformedReply, httpx.DecodingError)):
            return self.reply_error(exc, state)
        timeout = isinstance(exc, httpx.TimeoutException)
        if timeout:
            reason = f"no data for {self.timeout_s:g} s ({type(exc).__name__})"
        else:
            reason = str(exc) or type(exc).__name__
        reason = redact(reason, (self.secret,))
        cls = APITimeoutError if timeout else APIConnectionError
        answer = self.finish(state, "incomplete")
        if state.delivered:
            error = cls(
                f"the connection to {self.host} broke after {len(answer.text)} characters of "
                f"the answer: {reason}. The partial answer is on this error's .answer",
                answer=answer,
            )
        elif isinstance(exc, StreamBroken):
            error = cls(f"{self.host}: {reason}", answer=answer)
        else:
            hint = "" if timeout else " (check the network and XAI_BASE_URL)"
            error = cls(f"could not get an answer from {self.host}: {reason}{hint}", answer=answer)
        error.after_first_token = state.delivered  # type: ignore[attr-defined]
        return error

    def reply_error(self, exc: Exception, state: StreamState) -> APIResponseError:
        """A reply that arrived but is not what xAI's API sends: never retried (the
        request was served, and likely billed), the partial answer kept."""
        path = self.url.split("/", 3)[3] if self.url.count("/") >= 3 else ""
        if isinstance(exc, reply.MalformedReply):
            what = str(exc)
            json_path: str | None = exc.json_path
            expected: str | None = exc.expected
        else:  # httpx.DecodingError: the Content-Encoding does not match the bytes
            what = f"its body could not be decoded ({exc or type(exc).__name__})"
            json_path = expected = None
        answer = self.finish(state, "incomplete")
        message = f"the reply from {self.host} to /{path} is not what xAI's API sends: {what}"
        if state.delivered:
            message += (
                f". {len(answer.text)} characters of the answer arrived before it; the "
                "partial answer is on this error's .answer"
            )
        error = APIResponseError(
            redact(message, (self.secret,)), json_path=json_path, expected=expected,
            request_id=self.request_id, answer=answer,
        )  # fmt: skip
        error.after_first_token = state.delivered  # type: ignore[attr-defined]
        return error

    def event(self, state: StreamState, event: SSEEvent, on_delta: OnDelta | None) -> None:
        if state.done:
            return  # anything after [DONE] is ignored; the body is drained to reuse the socket
        # Redacted before anything reads it: the stream parser quotes cut pieces of bad
        # events in its errors, and a cut key is no longer recognisable as one.
        data = redact(event.data, (self.secret,))
        if event.event == "error":
            raise StreamBroken(
                f"the server reported an error mid-answer: {redact_truncate(data, 200)}"
            )
        new = state.add_data(data)
        if new:
            if self.first_token is None:
                self.first_token = time.perf_counter()
            state.delivered = True
            if on_delta is not None:
                self._on_delta = on_delta
                self._release(state, on_delta, final=False)

    def _release(self, state: StreamState, on_delta: OnDelta, *, final: bool) -> None:
        # A model streams a key in many pieces, so no single event holds it whole: the
        # last HOLD_CHARS characters wait for the next event, and a cut never falls
        # inside a secret, so what reaches the screen is redacted as a whole.
        text = state.text
        end = len(text) if final else self._safe_end(text)
        if end > self._shown:
            start, self._shown = self._shown, end  # first: on_delta may raise (an interrupt)
            on_delta(redact(text[start:end], (self.secret,)))

    def _safe_end(self, text: str) -> int:
        end = max(self._shown, len(text) - HOLD_CHARS)
        start = max(0, self._shown - HOLD_CHARS)
        for value in secret_values((self.secret,)):
            at = text.find(value, start)
            while at != -1:
                if at < end < at + len(value):
                    end = at
                at = text.find(value, at + 1)
        for match in KEY_SHAPE.finditer(text, start):
            if match.start() < end < match.end():
                end = match.start()
        return max(end, self._shown)

    def whole(self, state: StreamState, completion: Any, on_delta: OnDelta | None) -> None:
        """A complete ``chat.completion`` where a stream was expected."""
        state.add_completion(completion)
        if state.text:
            self.first_token = time.perf_counter()
            state.delivered = True
            if on_delta is not None:
                on_delta(state.text)

    def end_of_stream(self, state: StreamState) -> Answer:
        if not state.finished:
            raise StreamBroken("the stream ended without [DONE] or a finish reason")
        return self.finish(state, None)

    def finish(self, state: StreamState, override: str | None) -> Answer:
        if self._on_delta is not None and override != "interrupted":
            # the end, or a broken stream: the held-back text is shown too
            self._release(state, self._on_delta, final=True)
        usage = state.usage
        model = state.model or str(self.body.get("model", ""))
        finish = override or state.finish_reason or ("stop" if state.done else None)
        answer = Answer(
            text=redact(state.text, (self.secret,)),  # a key streamed in pieces, too
            usage=usage,
            cost_usd=cost_from_usage(usage, model),
            model=model,
            latency_s=time.perf_counter() - self.started,
            first_token_s=None if self.first_token is None else self.first_token - self.started,
            finish_reason=finish,
            request=self.redacted,
            request_id=self.request_id,
            id=state.id,
            reasoning=state.reasoning,
        )
        if override is None:
            logger.debug(
                "answer from %s: %d chars, finish=%s, %.3f s",
                answer.model, len(answer.text), finish, answer.latency_s,
            )  # fmt: skip
            if self.schema is not None:
                try:
                    answer.parsed = parse_structured(answer.text, self.schema)
                except StructuredOutputError as exc:
                    exc.answer = answer
                    raise
        return answer

    def json(self, response: httpx.Response) -> Any:
        """The parsed body, redacted (an answer echoing the key never shows it); a listing
        is checked here, a completion by ``StreamState``."""
        what = f"the server answered HTTP {response.status_code} with something"
        data = reply.parse(response.text, what, (self.secret,))
        kind = reply.kind_for_url(self.url)
        return redact_obj(data if kind is None else reply.check(kind, data), (self.secret,))
