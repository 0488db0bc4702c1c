"""Scriptable faults: what the simulator does wrong, and to which request.

Faults wait in a queue; each incoming API request takes the first fault meant for
its path (or for any path). Kinds:

- ``"429"`` (rate limit; ``retry_after`` seconds in a ``Retry-After`` header when
  given), any other status such as ``"500"``, ``"503"``, ``"408"``, ``"409"``;
- ``"credits"``: xAI's 429 for spent credits / a reached spending limit;
- ``"bad_key"``: xAI's 400 "Incorrect API key provided";
- ``"credits403"``: the same spent-credits words answered with 403, as xAI also does;
- ``"no_credits_yet"``: xAI's 403 for a newly created team that never bought credits;
- ``"badkey_encoded"``: the early-2025 400 whose wrong-key message arrived
  percent-encoded (``Incorrect%20API%20key%20provided:...``);
- ``"stall"``: wait ``stall_s`` seconds, before the response (``after_chunks=0``)
  or after that many streamed pieces, to exceed the client's read timeout;
- ``"reset"``: drop the connection after ``after_chunks`` pieces (mid-stream);
- ``"truncate"``: end the stream cleanly after ``after_chunks`` pieces, with no
  finish reason and no ``[DONE]``;
- ``"malformed"``: send a stream event that is not valid JSON after
  ``after_chunks`` pieces (a non-streamed answer: a body that is not JSON); with
  ``message``, that event's data (one line) or that body is ``message`` verbatim;
- ``"error_event"``: send an ``{"error": ...}`` event mid-stream; with
  ``shape="text"`` a named SSE ``event: error`` whose data is ``message`` verbatim.

Replies that arrive but are not shaped as xAI documents (``RESHAPE_KINDS``): a
non-streamed completion or a listing is rewritten whole, a stream has its chunk
number ``after_chunks`` rewritten:

- ``"content_list"``: message/delta ``content`` as a list of text parts;
- ``"choices_dict"``: ``choices`` as an object keyed by index;
- ``"usage_list"``: ``usage`` as a list of numbers;
- ``"listing_dict"``: a listing's ``data`` / ``models`` as an object keyed by id;
- ``"not_object"``: a JSON array instead of an object;
- ``"deep_json"``: JSON nested ``DEEP_JSON_LEVELS`` deep (too deep for Python's parser);
- ``"bad_gzip"``: ``Content-Encoding: gzip`` on bytes that are not gzip (in a stream,
  the first ``after_chunks`` chunks are real gzip, then the bytes turn to garbage).

``"none"`` does nothing: the request that takes it is answered normally. A script
spaces its faults out with it (``["none", "503", "none", "none", "reset", ...]``).

``shape`` picks the error body form: ``"xai"`` (``{"code", "error"}``),
``"openai"`` (``{"error": {"message"}}``), ``"string"`` (a bare JSON string),
``"text"`` (plain text) or ``"raw"`` (``message`` verbatim as the JSON body, to script
any body at all, e.g. odd object keys).
"""

from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from grok_nb.errors import ConfigError

__all__ = [
    "DEEP_JSON_LEVELS", "ERROR_SHAPES", "FAULT_KINDS", "RESHAPE_KINDS", "Fault", "FaultQueue",
    "GzipGarbage", "error_body",
]  # fmt: skip

RESHAPE_KINDS = (
    "content_list", "choices_dict", "usage_list", "listing_dict", "not_object", "deep_json",
    "bad_gzip",
)  # fmt: skip
# error replies xAI is seen sending: kind -> status (their words: _XAI_MESSAGES)
_XAI_STATUS = {"credits": 429, "bad_key": 400, "credits403": 403, "no_credits_yet": 403,
               "badkey_encoded": 400}  # fmt: skip
FAULT_KINDS = (
    "none", *_XAI_STATUS, "stall", "reset", "truncate", "malformed", "error_event",
    *RESHAPE_KINDS,
)  # fmt: skip
DEEP_JSON_LEVELS = 100_000
# faults that break an answer: a listing has none, so they wait for a chat request
_CHAT_ONLY = (
    "reset", "truncate", "malformed", "error_event", "content_list", "choices_dict", "usage_list",
)  # fmt: skip
ERROR_SHAPES = ("xai", "openai", "string", "text", "raw")

_CODES = {
    400: "Client specified an invalid argument",
    401: "The request does not have valid authentication credentials",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    408: "Request timed out",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    429: "Some resource has been exhausted",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
CREDITS_MESSAGE = (
    "Your team has either used all available credits or reached its monthly spending "
    "limit. To continue making API requests, please purchase more credits or raise your "
    "spending limit."
)
_BROKEN_JSON = '{"id": "broken", "choices": ['
BAD_KEY_MESSAGE = (
    "Incorrect API key provided: ***. You can obtain an API key from https://console.x.ai."
)
NO_CREDITS_YET_MESSAGE = (
    "Your newly created team doesn't have any credits or licenses yet. You can purchase "
    "those on https://console.x.ai/team/00000000-0000-4000-8000-000000000000."
)
BAD_KEY_ENCODED_MESSAGE = BAD_KEY_MESSAGE.replace(" ", "%20")
_XAI_MESSAGES = {
    "credits": CREDITS_MESSAGE,
    "bad_key": BAD_KEY_MESSAGE,
    "credits403": CREDITS_MESSAGE,
    "no_credits_yet": NO_CREDITS_YET_MESSAGE,
    "badkey_encoded": BAD_KEY_ENCODED_MESSAGE,
}


@dataclass
class Fault:
    kind: str
    retry_after: float | None = None
    after_chunks: int | None = None
    stall_s: float = 30.0
    shape: str = "xai"
    message: str | None = None
    path: str | None = None  # e.g. "/chat/completions"; None: the next request of any kind

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in FAULT_KINDS and not (
            self.kind.isdigit() and 400 <= int(self.kind) <= 599
        ):
            kinds = ", ".join(FAULT_KINDS)
            raise ConfigError(f"unknown fault {self.kind!r}: use an HTTP status 400-599 or {kinds}")
        if self.shape not in ERROR_SHAPES:
            raise ConfigError(f"unknown error shape {self.shape!r}: use {', '.join(ERROR_SHAPES)}")
        if self.path is None and self.kind in _CHAT_ONLY:
            self.path = "/chat/completions"  # they break an answer; a listing has none
        if self.after_chunks is None:
            self.after_chunks = 0 if self.kind == "stall" else 2

    @property
    def status(self) -> int | None:
        if self.kind.isdigit():
            return int(self.kind)
        return _XAI_STATUS.get(self.kind)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``"429"``, ``"429:retry_after=2"``, ``"reset:after_chunks=3,path=/chat/completions"``."""
        kind, _, rest = spec.partition(":")
        options: dict[str, Any] = {}
        for item in filter(None, rest.split(",")):
            name, _, value = item.partition("=")
            name = name.strip()
            if name in ("retry_after", "stall_s"):
                options[name] = float(value)
            elif name == "after_chunks":
                options[name] = int(value)
            elif name in ("shape", "message", "path"):
                options[name] = value
            else:
                raise ConfigError(f"unknown fault option {name!r} in {spec!r}")
        return cls(kind.strip(), **options)

    def malformed_body(self) -> bytes:
        """A non-streamed "malformed" answer body: ``message``, else cut-off JSON."""
        return (self.message or _BROKEN_JSON).encode()

    def malformed_event(self) -> bytes:
        """A "malformed" stream event: ``message`` as its data, else cut-off JSON."""
        return f"data: {self.message or _BROKEN_JSON}\n\n".encode()

    def error_event(self) -> bytes:
        """The "error_event" stream event: JSON ``{"error": ...}``, or with
        ``shape="text"`` a named ``event: error`` carrying ``message`` as sent."""
        message = self.message or "simulated mid-stream error"
        if self.shape == "text":
            return f"event: error\ndata: {message}\n\n".encode()
        event = json.dumps({"error": {"message": message, "code": "internal"}})
        return f"data: {event}\n\n".encode()

    def reply_body(self, obj: Any) -> tuple[bytes, dict[str, str]]:
        """A whole JSON reply (completion or listing) as this fault sends it, with any
        extra headers; unchanged JSON for faults that do not reshape replies."""
        if self.kind == "bad_gzip":
            return b"\x1f\x8b\x08\x00 these bytes are not gzip", {"Content-Encoding": "gzip"}
        return self.reshape(json.dumps(obj)).encode(), {}

    def reshape(self, text: str) -> str:
        """One JSON text (a reply or a stream chunk) as this fault rewrites it."""
        if self.kind == "deep_json":
            return (
                '{"id": "deep", "choices": ' + "[" * DEEP_JSON_LEVELS + "]" * DEEP_JSON_LEVELS + "}"
            )
        if self.kind == "not_object":
            return json.dumps(["not", "an", "object"])
        change = _RESHAPES.get(self.kind)
        if change is None:
            return text
        obj = json.loads(text)
        change(obj)
        return json.dumps(obj)

    def error_message(self) -> str:
        if self.message:
            return self.message
        if self.kind in _XAI_MESSAGES:
            return _XAI_MESSAGES[self.kind]
        return f"simulated HTTP {self.kind} (grok_nb simulator fault)"


def _content_list(obj: dict[str, Any]) -> None:
    for choice in obj.get("choices") or ():
        for key in ("message", "delta"):
            part = choice.get(key)
            if isinstance(part, dict):
                part["content"] = [{"type": "text", "text": part.get("content") or ""}]


def _choices_dict(obj: dict[str, Any]) -> None:
    obj["choices"] = {str(i): c for i, c in enumerate(obj.get("choices") or [{}])}


def _usage_list(obj: dict[str, Any]) -> None:
    usage = obj.get("usage") or {"prompt_tokens": 1, "completion_tokens": 1}
    obj["usage"] = [v for v in usage.values() if isinstance(v, int)]


def _listing_dict(obj: dict[str, Any]) -> None:
    for key in ("data", "models"):
        if isinstance(obj.get(key), list):
            obj[key] = {m["id"]: m for m in obj[key]}


_RESHAPES = {
    "content_list": _content_list,
    "choices_dict": _choices_dict,
    "usage_list": _usage_list,
    "listing_dict": _listing_dict,
}


class GzipGarbage:
    """The body encoder of a streamed ``bad_gzip`` fault: real gzip for the first
    ``good`` writes, then bytes no gzip decoder accepts."""

    def __init__(self, good: int) -> None:
        self._good = good
        self._gzip = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)

    def encode(self, data: bytes) -> bytes:
        if self._good <= 0:
            return b"\xff\xfe these bytes are not gzip \x00"
        self._good -= 1
        return self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH)


def error_body(status: int, message: str, shape: str = "xai") -> tuple[bytes, str]:
    """(body, content type) of an error response in one of the shapes xAI is seen using."""
    if shape == "text":
        return message.encode(), "text/plain; charset=utf-8"
    if shape == "raw":
        return message.encode(), "application/json"
    if shape == "string":
        obj: Any = message
    elif shape == "openai":
        obj = {"error": {"message": message, "type": "invalid_request_error", "code": status}}
    else:
        obj = {"code": _CODES.get(status, "Error"), "error": message}
    return json.dumps(obj).encode(), "application/json"


class FaultQueue:
    """Thread-safe queue of faults; requests take the first one meant for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.path is None or path.endswith(fault.path):
                    self.fired.append(fault)
                    return self._faults.pop(i)
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
