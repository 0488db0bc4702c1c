"""Check a chat request the way the real service does, and decode its images.

Errors mirror xAI's: 415 plain text for a wrong content type, 422 plain text for
a body that does not deserialise (missing fields, unknown part types or detail
values), 400 ``{"code", "error"}`` for invalid arguments (bad images, ranges,
unsupported schema keywords, images sent to a model without vision), 404 for an
unknown model.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from grok_nb.simulator.catalog import SimModel, resolve
from grok_nb.simulator.describe import ImageFacts, image_facts
from grok_nb.tiling import DETAILS, TilePlan, get_rule
from grok_nb.tiling import plan as tile_plan

__all__ = [
    "MAX_IMAGE_BYTES", "ChatInput", "ImageInput", "SimError", "chat_input", "parse_chat", "sniff",
]  # fmt: skip

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # the guide's 10 MiB per image
MIME_TYPES = ("image/jpeg", "image/jpg", "image/png", "image/webp")
HIDDEN_PREFIX_TOKENS = 150  # xAI adds a hidden prompt prefix; part of it is reported cached
CACHED_PREFIX_TOKENS = 128
_UNSUPPORTED_SCHEMA = ("allOf", "minLength", "maxLength", "minItems", "maxItems")
_ROLES = ("system", "user", "assistant", "tool", "function")
_DATA_URL = re.compile(r"^data:([^;,]*);base64,(.*)$", re.DOTALL)


class SimError(Exception):
    """An error response: status, message and body shape (``"xai"`` or ``"text"``)."""

    def __init__(self, status: int, message: str, shape: str = "xai") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.shape = shape


def _invalid(message: str) -> SimError:
    return SimError(400, message)


def _deserialize(message: str) -> SimError:
    return SimError(
        422, f"Failed to deserialize the JSON body into the target type: {message}", "text"
    )


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes' magic number says, for the formats that matter here."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


@dataclass
class ImageInput:
    index: int  # 1-based over the whole request
    message: int  # index of the message holding it
    url: str
    detail: str
    tokens: int
    facts: ImageFacts | None = None  # None for http(s) URLs (not fetched offline)
    plan: TilePlan | None = None


@dataclass
class ChatInput:
    requested_model: str
    model: SimModel
    body: dict[str, Any]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    response_format: dict[str, Any] | None
    prompt: str  # text of the last user message
    text_tokens: int
    images: list[ImageInput] = field(default_factory=list)
    last_user: int = -1
    # per message: text and image tokens, for prompt caching
    message_text_tokens: list[int] = field(default_factory=list)
    message_image_tokens: list[int] = field(default_factory=list)
    # set by the prompt cache (``simulator.prompt_cache``); None: only the hidden prefix
    cached_text_tokens: int | None = None
    cached_image_tokens: int = 0

    @property
    def image_tokens(self) -> int:
        return sum(i.tokens for i in self.images)


def _parts(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if content is None:
        return []
    if not isinstance(content, list):
        raise _deserialize(f"{where}.content: expected a string or an array of content parts")
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _deserialize(f"{where}.content[{j}]: missing field `type`")
        kind = part["type"]
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise _deserialize(f"{where}.content[{j}]: missing field `text`")
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise _deserialize(f"{where}.content[{j}].image_url: missing field `url`")
            detail = image.get("detail", "auto")
            if detail not in DETAILS:
                raise _deserialize(
                    f"{where}.content[{j}].image_url.detail: unknown variant `{detail}`, "
                    "expected one of `auto`, `low`, `high`"
                )
        else:
            raise _deserialize(
                f"{where}.content[{j}].type: unknown variant `{kind}`, expected `text` or "
                "`image_url`"
            )
    return content


def _image(url: str, detail: str, index: int, message: int, rule: str) -> ImageInput:
    r = get_rule(rule)
    if url.startswith(("http://", "https://")):
        tokens = (r.max_tiles + r.extra_for(r.max_tiles)) * r.tokens_per_tile
        return ImageInput(index, message, url, detail, tokens)
    m = _DATA_URL.match(url)
    if m is None:
        raise _invalid(
            f"Image {index}: unsupported image URL; use https:// or data:image/...;base64,"
        )
    mime, b64 = m.groups()
    if mime not in MIME_TYPES:
        raise _invalid(
            f"Image {index}: unsupported image type {mime!r}; use image/jpeg or image/png"
        )
    if len(b64) > (MAX_IMAGE_BYTES + 3) * 4 // 3 + 4:
        raise _invalid(
            f"Image {index} is larger than the limit of 10 MiB ({MAX_IMAGE_BYTES:,} bytes)"
        )
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"Image {index}: the data URL is not valid base64") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise _invalid(
            f"Image {index} is {len(data):,} bytes; the limit is {MAX_IMAGE_BYTES:,} bytes"
        )
    actual = sniff(data)
    declared = "image/jpeg" if mime == "image/jpg" else mime
    if actual != declared:
        what = actual or "not a known image format"
        raise _invalid(f"Image {index}: the data URL says {mime} but the bytes are {what}")
    try:
        facts = image_facts(data)
    except ValueError as exc:
        raise _invalid(f"Image {index}: {exc}") from None
    plan = tile_plan(facts.width, facts.height, rule=r, detail=detail)
    return ImageInput(index, message, url, detail, plan.tokens, facts, plan)


def _check_schema_keywords(node: Any, path: str = "schema") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _UNSUPPORTED_SCHEMA and path.rsplit("/", 1)[-1] != "properties":
                raise _invalid(f"response_format: {path}/{key}: `{key}` is not supported")
            _check_schema_keywords(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_schema_keywords(value, f"{path}/{i}")


def _options(body: dict[str, Any], model: SimModel) -> None:
    t = body.get("temperature")
    if t is not None and (not isinstance(t, (int, float)) or not 0 <= t <= 2):
        raise _invalid(f"temperature must be between 0 and 2, got {t!r}")
    for name in ("max_completion_tokens", "max_tokens"):
        v = body.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise _invalid(f"{name} must be a positive integer, got {v!r}")
    if model.reasoning:
        for name in ("presence_penalty", "frequency_penalty", "stop"):
            if body.get(name) is not None:
                raise _invalid(f"Argument not supported on this model: {name}")
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            raise _deserialize(
                "response_format.type: expected `text`, `json_object` or `json_schema`"
            )
        if kind == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
                raise _invalid("response_format.json_schema must hold a `schema` object")
            _check_schema_keywords(spec["schema"])


def json_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """A request body as xAI reads one: JSON content type, non-empty, an object."""
    if not content_type or content_type.split(";")[0].strip().lower() != "application/json":
        raise SimError(415, "Expected request with `Content-Type: application/json`", "text")
    if not raw.strip():
        raise SimError(415, "Empty request body: expected a JSON object", "text")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError(400, f"Failed to parse the request body as JSON: {exc}", "text") from None
    if not isinstance(body, dict):
        raise _deserialize("expected a JSON object")
    return body


def parse_chat(raw: bytes, content_type: str | None, rule: str) -> ChatInput:
    return chat_input(json_body(raw, content_type), rule)


def chat_input(body: dict[str, Any], rule: str) -> ChatInput:
    """A decoded chat body, checked; also what a Responses body is checked as once
    its ``input`` is read as messages (``simulator.responses``)."""
    name = body.get("model")
    if not isinstance(name, str):
        raise _deserialize("missing field `model`")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _deserialize("`messages` must be a non-empty array")
    parts_per_message = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in _ROLES:
            raise _deserialize(f"messages[{i}].role: expected one of {', '.join(_ROLES)}")
        if "content" not in msg and msg.get("role") != "assistant":
            raise _deserialize(f"messages[{i}]: missing field `content`")
        parts_per_message.append(_parts(msg.get("content"), f"messages[{i}]"))
    model = resolve(name)
    if model is None:
        raise SimError(
            404,
            f"The model {name} does not exist or your team does not have access to it "
            "(grok_nb simulator: see GET /v1/models).",
        )
    if not model.vision and any(p["type"] == "image_url" for ps in parts_per_message for p in ps):
        raise _invalid(f"Model {model.id} does not support image input; use a vision model")
    _options(body, model)
    images: list[ImageInput] = []
    text_tokens = HIDDEN_PREFIX_TOKENS
    last_user = max(i for i, m in enumerate(messages) if m["role"] in ("user", "system"))
    message_text_tokens: list[int] = []
    message_image_tokens: list[int] = []
    for i, parts in enumerate(parts_per_message):
        text_tokens += 3
        text_here, image_here = 3, 0
        for p in parts:
            if p["type"] == "text":
                text_tokens += len(p["text"]) // 4 + 1
                text_here += len(p["text"]) // 4 + 1
            else:
                img = p["image_url"]
                images.append(
                    _image(img["url"], img.get("detail", "auto"), len(images) + 1, i, rule)
                )
                image_here += images[-1].tokens
        message_text_tokens.append(text_here)
        message_image_tokens.append(image_here)
    prompt = " ".join(p["text"] for p in parts_per_message[last_user] if p["type"] == "text")
    options = body.get("stream_options") or {}
    return ChatInput(
        requested_model=name,
        model=model,
        body=body,
        stream=bool(body.get("stream")),
        include_usage=bool(options.get("include_usage")),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        response_format=body.get("response_format"),
        prompt=prompt,
        text_tokens=text_tokens,
        images=images,
        last_user=last_user,
        message_text_tokens=message_text_tokens,
        message_image_tokens=message_image_tokens,
    )
