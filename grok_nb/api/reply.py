"""The one gate every reply passes before grok_nb reads it.

Why it exists: the code that folds replies into an ``Answer`` (``stream.py``,
``Usage.from_api``, the model catalogue) reads fields with ``.get`` and trusts
their types. A reply that does not conform (a proxy in the way, an API change,
another provider's dialect) would otherwise escape as a raw ``TypeError``,
``AttributeError`` or ``RecursionError`` from deep inside, or become a silently
wrong answer. So every parsed reply goes through here: a non-streamed completion,
each streamed chunk, and the ``/models`` and ``/language-models`` listings.

``parse`` turns JSON text into Python, naming the parser's failures;
``check(kind, value)`` holds the fields grok_nb reads to the types xAI's OpenAPI
document gives them (``ChatResponse``, ``ChatResponseChunk``,
``ListModelsResponse``, ``ListLanguageModelsResponse``). The checks are lenient
where the service varies: unknown fields are ignored and optional fields may be
missing or null, but a field that is there must have the documented type.

Failures raise ``MalformedReply`` (internal). It is a ``StreamBroken`` so that the
client's existing handlers pass it to ``Call``, which raises ``APIResponseError``
with the JSON path, what was expected and the partial answer. Text that is not
JSON at all stays a plain ``StreamBroken`` (it is what a cut or corrupted transfer
looks like, and is retried as a connection problem).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from grok_nb.redact import configured_secrets, redact_truncate

__all__ = ["KINDS", "MalformedReply", "StreamBroken", "check", "kind_for_url", "parse"]


class StreamBroken(Exception):
    """The reply could not be used (bad JSON, an error event, a stream cut short).

    Internal: ``Call`` turns it into an ``APIConnectionError`` with the partial answer,
    or into an ``APIResponseError`` for a ``MalformedReply``.
    """


class MalformedReply(StreamBroken):
    """The reply parsed (or was too deep to parse) but is not shaped as xAI documents."""

    def __init__(self, json_path: str, expected: str, found: str) -> None:
        self.json_path = json_path
        self.expected = expected
        self.found = found
        super().__init__(f"{json_path} is {found}; expected {expected}")


def _found(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return f"an object with {len(value)} field{'' if len(value) == 1 else 's'}"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'' if len(value) == 1 else 's'}"
    return type(value).__name__


class _Spec:
    expected = "?"

    def check(self, value: Any, path: str) -> None:
        raise NotImplementedError


class _Scalar(_Spec):
    def __init__(self, expected: str, test: Any) -> None:
        self.expected = expected
        self._test = test

    def check(self, value: Any, path: str) -> None:
        if not self._test(value):
            raise MalformedReply(path, self.expected, _found(value))


class _Nullable(_Spec):
    def __init__(self, inner: _Spec) -> None:
        self.inner = inner
        self.expected = f"{inner.expected} or null"

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            try:
                self.inner.check(value, path)
            except MalformedReply as exc:
                if exc.json_path == path:  # this value itself, not something inside it
                    raise MalformedReply(path, self.expected, exc.found) from None
                raise


class _Array(_Spec):
    def __init__(self, item: _Spec) -> None:
        self.item = item
        self.expected = "an array"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise MalformedReply(path, self.expected, _found(value))
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")


class _Object(_Spec):
    def __init__(self, fields: dict[str, _Spec], required: tuple[str, ...] = ()) -> None:
        self.fields = fields
        self.required = required
        self.expected = "an object"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise MalformedReply(path, self.expected, _found(value))
        for name in self.required:
            if name not in value:
                raise MalformedReply(f"{path}.{name}", self.fields[name].expected, "missing")
        for name, spec in self.fields.items():
            if name in value:
                spec.check(value[name], f"{path}.{name}")


def _is_count(value: Any) -> bool:
    """Token counts: integers; numeric strings from proxies are tolerated (see Usage)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            int(value)
        except ValueError:
            return False
        return True
    return False


_STR = _Scalar("a string", lambda v: isinstance(v, str))
_NUMBER = _Scalar("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
_COUNT = _Scalar("an integer", _is_count)
_INT = _Scalar("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))


def _opt(spec: _Spec) -> _Spec:
    return _Nullable(spec)


_USAGE = _Object(
    {
        "prompt_tokens": _opt(_COUNT),
        "completion_tokens": _opt(_COUNT),
        "total_tokens": _opt(_COUNT),
        "cost_in_usd_ticks": _opt(_COUNT),
        "prompt_tokens_details": _opt(
            _Object({k: _opt(_COUNT) for k in ("text_tokens", "image_tokens", "cached_tokens")})
        ),
        "completion_tokens_details": _opt(_Object({"reasoning_tokens": _opt(_COUNT)})),
    }
)
_MESSAGE = _Object({"role": _opt(_STR), "content": _opt(_STR), "reasoning_content": _opt(_STR)})
_CHOICE = _Object(
    {
        "index": _opt(_INT),
        "delta": _opt(_MESSAGE),
        "message": _opt(_MESSAGE),
        "finish_reason": _opt(_STR),
    }
)
_TOP = {"id": _opt(_STR), "model": _opt(_STR), "usage": _opt(_USAGE)}
_CHUNK = _Object({**_TOP, "choices": _opt(_Array(_CHOICE))})
_COMPLETION = _Object({**_TOP, "choices": _Array(_CHOICE)}, required=("choices",))
_MODELS = _Object({"data": _Array(_Object({"id": _STR}, required=("id",)))}, required=("data",))
_LANGUAGE_MODEL = _Object(
    {
        "id": _STR,
        "prompt_text_token_price": _opt(_NUMBER),
        "cached_prompt_text_token_price": _opt(_NUMBER),
        "prompt_image_token_price": _opt(_NUMBER),
        "completion_text_token_price": _opt(_NUMBER),
        "input_modalities": _opt(_Array(_STR)),
        "aliases": _opt(_Array(_STR)),
    },
    required=("id",),
)
_LANGUAGE_MODELS = _Object({"models": _Array(_LANGUAGE_MODEL)}, required=("models",))

KINDS: dict[str, _Spec] = {
    "chunk": _CHUNK,  # one chat.completion.chunk of a stream
    "completion": _COMPLETION,  # a whole chat.completion
    "models": _MODELS,  # GET /models
    "language_models": _LANGUAGE_MODELS,  # GET /language-models
}
_LISTINGS = {"/models": "models", "/language-models": "language_models"}


def kind_for_url(url: str) -> str | None:
    """The listing kind a GET of ``url`` returns; ``None`` for chat (checked per chunk)."""
    for suffix, kind in _LISTINGS.items():
        if url.rstrip("/").endswith(suffix):
            return kind
    return None


def check(kind: str, value: Any) -> Any:
    """``value`` when it is shaped like a reply of ``kind``; else ``MalformedReply``."""
    KINDS[kind].check(value, "$")
    return value


def parse(text: str | bytes, what: str = "a reply", secrets: Iterable[Any] = ()) -> Any:
    """JSON text -> Python. Not JSON: ``StreamBroken`` quoting the start of the text,
    redacted before it is cut; valid JSON that Python cannot hold (nested too deep,
    integers too long): ``MalformedReply``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise MalformedReply(
            "$", "nesting within the interpreter's recursion limit", "nested too deeply to parse"
        ) from None
    except json.JSONDecodeError as exc:
        raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
        excerpt = redact_truncate(raw, 80, (*secrets, *configured_secrets()))
        raise StreamBroken(f"{what} that is not JSON ({exc.msg}): {excerpt!r}") from None
    except ValueError as exc:  # e.g. an integer of more than sys.get_int_max_str_digits()
        raise MalformedReply("$", "JSON that Python can read", f"unreadable ({exc})") from None
