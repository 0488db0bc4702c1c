"""Responses API replies -> the pieces of an ``Answer``.

``ResponsesState`` is a ``StreamState`` (so ``Call`` and the client treat both APIs
alike) that folds the typed events of a streamed ``POST /responses``
(``response.created``, ``response.output_text.delta``, ...,
``response.completed`` carrying the final response with its usage) or one whole
non-streamed response (``ModelResponse``) into text, usage, finish reason, model
and id.

Usage comes in the Responses shape (``input_tokens``, ``output_tokens``,
``input_tokens_details.cached_tokens``, ``output_tokens_details.reasoning_tokens``,
``cost_in_usd_ticks``); ``Usage.from_api`` reads both shapes into one ``Usage``.

A finish reason is derived from the response's ``status``: ``completed`` ->
``"stop"``, ``incomplete`` for ``max_output_tokens`` -> ``"length"``. An ``error``
or ``response.failed`` event breaks the stream (``StreamBroken``). As for chat, each
event and response is checked (``reply``'s specs) before it is read.
"""

from __future__ import annotations

from typing import Any

from grok_nb.api import reply
from grok_nb.api.reply import _COUNT, _INT, _STR, _Array, _Object, _opt
from grok_nb.api.stream import DONE, StreamBroken, StreamState

__all__ = ["ResponsesState", "check_response"]

_RESPONSES_USAGE = _Object(
    {
        "input_tokens": _opt(_COUNT),
        "output_tokens": _opt(_COUNT),
        "total_tokens": _opt(_COUNT),
        "cost_in_usd_ticks": _opt(_COUNT),
        "input_tokens_details": _opt(_Object({"cached_tokens": _opt(_COUNT)})),
        "output_tokens_details": _opt(_Object({"reasoning_tokens": _opt(_COUNT)})),
    }
)
_CONTENT = _Object({"type": _opt(_STR), "text": _opt(_STR)})
_OUTPUT_ITEM = _Object({"type": _opt(_STR), "content": _opt(_Array(_CONTENT))})
_RESPONSE = _Object(
    {
        "id": _opt(_STR),
        "model": _opt(_STR),
        "status": _opt(_STR),
        "output": _Array(_OUTPUT_ITEM),
        "usage": _opt(_RESPONSES_USAGE),
        "incomplete_details": _opt(_Object({"reason": _opt(_STR)})),
    },
    required=("output",),
)
_EVENT = _Object({"type": _STR, "delta": _opt(_STR), "sequence_number": _opt(_INT)}, ("type",))
_FINISH = {"completed": "stop", "max_output_tokens": "length"}


def check_response(value: Any, path: str = "$") -> dict[str, Any]:
    """``value`` when it is shaped like a Responses ``ModelResponse``."""
    _RESPONSE.check(value, path)
    result: dict[str, Any] = value
    return result


def _output_text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text") or ""
        for item in response.get("output") or ()
        if item.get("type") in (None, "message")
        for part in item.get("content") or ()
        if part.get("type") == "output_text"
    )


class ResponsesState(StreamState):
    """``StreamState`` for the Responses API."""

    __slots__ = ("completed",)

    def __init__(self) -> None:
        super().__init__()
        self.completed = False  # response.completed / .incomplete arrived

    def _take(self, response: dict[str, Any]) -> None:
        if response.get("model"):
            self.model = response["model"]
        if response.get("id"):
            self.id = response["id"]
        if response.get("usage"):
            self.usage_raw = response["usage"]
        status = response.get("status")
        if status == "incomplete":
            reason = (response.get("incomplete_details") or {}).get("reason") or "incomplete"
            self.finish_reason = _FINISH.get(reason, reason)
        elif status == "completed":
            self.finish_reason = "stop"

    def add_data(self, data: str) -> str:
        if data == DONE:  # not in xAI's Responses streams, but harmless
            self.done = True
            return ""
        event = reply.parse(data, "the server sent a malformed stream event")
        return self.add_chunk(event)

    def add_chunk(self, chunk: Any, kind: str = "event") -> str:
        if kind == "completion":
            self._whole(chunk)
            return self.text
        _EVENT.check(chunk, "$")
        kind = chunk["type"]
        if kind in ("error", "response.failed"):
            error = chunk.get("error") or (chunk.get("response") or {}).get("error") or chunk
            message = error.get("message", error) if isinstance(error, dict) else error
            raise StreamBroken(f"the server reported an error mid-answer: {str(message)[:300]}")
        if kind == "response.output_text.delta":
            delta = chunk.get("delta") or ""
            if delta:
                self._parts.append(delta)
            return delta
        if kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            self._reasoning.append(chunk.get("delta") or "")
            return ""
        if "response" in chunk:
            response = check_response(chunk["response"], "$.response")
            self._take(response)
            if kind in ("response.completed", "response.incomplete"):
                self.completed = True
                if not self._parts:  # a server that sent no deltas: the final text
                    text = _output_text(response)
                    if text:
                        self._parts.append(text)
                        return text
        return ""

    def _whole(self, body: Any) -> None:
        if isinstance(body, dict) and body.get("error") and not body.get("output"):
            raise StreamBroken(f"the server reported an error: {str(body['error'])[:300]}")
        response = check_response(body)
        self._take(response)
        text = _output_text(response)
        if text:
            self._parts.append(text)
        self.completed = True

    def add_completion(self, body: Any) -> None:
        self._whole(body)
        self.done = True

    @property
    def finished(self) -> bool:
        return self.completed or self.done
