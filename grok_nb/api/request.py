"""The Chat Completions request body: built from prompt parts, shown redacted.

``build_chat_request`` turns text and prepared images, in the order given, into
one user message (after an optional system prompt and earlier turns). Images are
anything with ``.data_url`` and ``.detail`` (``grok_nb.images.PreparedImage``);
this module never touches pixels. Structured output takes a pydantic model class
or a JSON-schema dict and sends it as ``response_format`` after removing the
keywords xAI rejects (``allOf``, string length and array size bounds).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from grok_nb.errors import ConfigError, StructuredOutputError
from grok_nb.redact import configured_secrets, redact_obj
from grok_nb.tiling import DETAILS

__all__ = [
    "UNSUPPORTED_SCHEMA_KEYWORDS",
    "build_chat_request",
    "parse_structured",
    "redact_request",
    "response_format_for",
    "schema_dict",
]

# xai-api.md: structured outputs support no string length or array size bounds.
UNSUPPORTED_SCHEMA_KEYWORDS = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "minContains", "maxContains"}
)
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then")
_SCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")
_ROLES = ("system", "user", "assistant", "tool")


def _is_image(part: object) -> bool:
    return hasattr(part, "data_url") and hasattr(part, "detail")


def _image_part(part: Any, index: int) -> dict[str, Any]:
    url = part.data_url
    if not isinstance(url, str) or not re.match(r"^(data:image/[\w.+-]+;base64,|https?://)", url):
        shown = repr(url)[:60]
        raise ConfigError(
            f"image {index}: its data_url must be a data:image/...;base64, or http(s) URL, "
            f"not {shown}"
        )
    image_url: dict[str, Any] = {"url": url}
    if part.detail is not None:
        if part.detail not in DETAILS:
            raise ConfigError(
                f"image {index}: detail must be one of {', '.join(DETAILS)}, not {part.detail!r}"
            )
        image_url["detail"] = part.detail
    return {"type": "image_url", "image_url": image_url}


def _sendable(text: str, what: str) -> str:
    """``text`` if it can travel as UTF-8 JSON; a lone surrogate (pasted from a broken
    source, or decoded with surrogateescape) cannot, and is refused before sending."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = text[exc.start]
        raise ConfigError(
            f"{what} holds a lone surrogate character (U+{ord(char):04X}) at position "
            f"{exc.start}, which cannot be sent as UTF-8; remove or replace it"
        ) from None
    return text


def _user_content(parts: Sequence[Any]) -> str | list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    images = 0
    for part in parts:
        if isinstance(part, str):
            if part:
                content.append({"type": "text", "text": _sendable(part, "the prompt")})
        elif _is_image(part):
            images += 1
            content.append(_image_part(part, images))
        elif isinstance(part, dict) and part.get("type") in ("text", "image_url"):
            content.append(copy.deepcopy(part))  # an already-built content part
        else:
            raise ConfigError(
                f"cannot send a {type(part).__name__} as part of a prompt: give text (str) or "
                "prepared images (grok_nb.prepare(...))"
            )
    if not content:
        raise ConfigError("nothing to send: give a prompt, at least one image, or both")
    if len(content) == 1 and content[0]["type"] == "text":
        return str(content[0]["text"])  # plain string: accepted by every compatible endpoint
    return content


def _check_history(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, msg in enumerate(history):
        if not isinstance(msg, dict) or msg.get("role") not in _ROLES or "content" not in msg:
            raise ConfigError(
                f"history[{i}] must be a message dict with a role ({', '.join(_ROLES)}) and content"
            )
        out.append(copy.deepcopy(msg))
    return out


def build_chat_request(
    parts: Sequence[Any],
    *,
    model: str,
    system: str | None = None,
    history: Sequence[dict[str, Any]] = (),
    temperature: float | None = None,
    max_tokens: int | None = None,
    schema: Any = None,
    stream: bool = True,
    seed: int | None = None,
) -> dict[str, Any]:
    """The JSON body for ``POST /chat/completions``; parts keep their order."""
    if isinstance(parts, (str, bytes)) or _is_image(parts):
        parts = [parts]
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"model must be a model name such as 'grok-4.3', not {model!r}")
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": _sendable(system, "the system prompt")})
    messages += _check_history(history)
    messages.append({"role": "user", "content": _user_content(parts)})
    body: dict[str, Any] = {"model": model.strip(), "messages": messages}
    if temperature is not None:
        t = float(temperature)
        if not 0.0 <= t <= 2.0:
            raise ConfigError(f"temperature must be between 0 and 2, not {temperature!r}")
        body["temperature"] = t
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ConfigError(f"max_tokens must be a positive integer, not {max_tokens!r}")
        body["max_completion_tokens"] = max_tokens
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, not {seed!r}")
        body["seed"] = seed
    if schema is not None:
        body["response_format"] = response_format_for(schema)
    body["stream"] = bool(stream)
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


# -- structured output ---------------------------------------------------------------


def _is_model_class(schema: Any) -> bool:
    return isinstance(schema, type) and hasattr(schema, "model_json_schema")


def schema_dict(schema: Any) -> tuple[str, dict[str, Any]]:
    """(name, JSON schema) for a pydantic model class or a JSON-schema dict."""
    if _is_model_class(schema):
        return schema.__name__, schema.model_json_schema()
    if isinstance(schema, dict):
        return str(schema.get("title") or "answer"), copy.deepcopy(schema)
    raise ConfigError(
        f"schema must be a pydantic model class or a JSON-schema dict, not {type(schema).__name__}"
    )


def _merge_all_of(node: dict[str, Any], subs: list[Any]) -> dict[str, Any]:
    merged = dict(node)
    for sub in subs:
        if not isinstance(sub, dict):
            raise ConfigError("schema: allOf entries must be schemas (objects)")
        for key, value in sub.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            elif key in merged and merged[key] != value and key not in ("title", "description"):
                raise ConfigError(
                    f"schema: allOf combines conflicting {key!r} values; xAI does not support "
                    "allOf, so write the combined schema out"
                )
            else:
                merged.setdefault(key, value)
    return merged


def _clean(node: Any) -> Any:
    if isinstance(node, list):
        return [_clean(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in UNSUPPORTED_SCHEMA_KEYWORDS or key == "allOf":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _clean(sub) for name, sub in value.items()}
        elif key in _SCHEMA_ONE or key in _SCHEMA_LISTS or key == "else":
            out[key] = _clean(value)
        else:
            out[key] = value
    if isinstance(node.get("allOf"), list):
        out = _merge_all_of(out, [_clean(s) for s in node["allOf"]])
    return out


def response_format_for(schema: Any) -> dict[str, Any]:
    """``response_format`` for structured output, with unsupported keywords removed."""
    name, raw = schema_dict(schema)
    name = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "answer"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": _clean(raw)}}


def _excerpt(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _strip_fence(text: str) -> str:
    # Some compatible endpoints wrap JSON in a Markdown fence despite response_format.
    m = re.match(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", text, re.DOTALL)
    return m.group(1) if m else text.strip()


def parse_structured(text: str, schema: Any) -> Any:
    """The answer text as a pydantic instance (model class) or a dict/list (schema dict)."""
    body = _strip_fence(text)
    name, raw = schema_dict(schema)
    if _is_model_class(schema):
        from pydantic import ValidationError

        try:
            return schema.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "top level"
            raise StructuredOutputError(
                f"the answer does not match {name}: {where}: {first.get('msg')}; "
                f"answer starts {_excerpt(text)!r}",
                text=text,
            ) from None
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(
            f"the answer is not valid JSON ({exc.msg} at position {exc.pos}); "
            f"answer starts {_excerpt(text)!r}",
            text=text,
        ) from None
    try:  # jsonschema is optional at run time: validate when it is installed
        import jsonschema
    except ImportError:
        return value
    cls = jsonschema.validators.validator_for(raw)
    error = jsonschema.exceptions.best_match(cls(raw).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise StructuredOutputError(
            f"the answer does not match the schema {name!r}: {where}: {error.message}; "
            f"answer starts {_excerpt(text)!r}",
            text=text,
        )
    return value


# -- redaction -----------------------------------------------------------------------

_DATA_URL = re.compile(r"^(data:[^;,]*;base64,)(.*)$", re.DOTALL)


def _short_url(url: str, max_url_chars: int) -> str:
    m = _DATA_URL.match(url)
    if m is None:
        return url if len(url) <= 2 * max_url_chars else url[: 2 * max_url_chars] + "…"
    head, b64 = m.groups()
    size = len(b64) * 3 // 4 - b64[-2:].count("=")
    keep = max(max_url_chars - len(head), 8)
    shown = f"{size:,}".replace(",", " ")  # "123 456 bytes"
    return f"{head}{b64[:keep]}…({shown} bytes)"


def redact_request(
    body: dict[str, Any], *, max_url_chars: int = 64, secrets: Iterable[Any] = ()
) -> dict[str, Any]:
    """A copy of ``body`` fit to show or store: data URLs shortened, no credentials.

    Every string and object key is scrubbed (``grok_nb.redact``) of ``secrets``, the
    configured key and anything shaped like an xAI key (a key pasted into a prompt),
    before any text is shortened, so no cut can leave a key's first characters.
    """
    values = configured_secrets(secrets)

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {
                k: walk(v, k)
                for k, v in node.items()
                if str(k).lower() not in ("api_key", "authorization")
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        # chat: image_url.url; Responses: input_image.image_url, a plain string
        if key in ("url", "image_url") and isinstance(node, str):
            if _DATA_URL.match(node):  # base64 holds no key: shorten first, cheaply
                return redact_obj(_short_url(node, max_url_chars), values)
            return _short_url(redact_obj(node, values), max_url_chars)
        return node

    result: dict[str, Any] = redact_obj(walk(body), values)
    return result
