"""The Responses API request body (``POST /responses``), made from a chat body.

grok_nb plans every call as a Chat Completions body (``request.build_chat_request``):
that is where prompt parts, history, options and structured output are checked, and
what the estimate and a conversation's history read. ``responses_body`` turns such a
body into the Responses form, field by field (xai-api.md, "Responses API"; the
``ModelRequest`` schema):

- ``messages`` -> ``input``; a system message -> ``instructions``; text parts ->
  ``input_text``; image parts -> ``input_image`` whose ``image_url`` is a plain string;
- ``max_completion_tokens`` -> ``max_output_tokens``; ``response_format`` ->
  ``text.format``; ``temperature``, ``seed`` and ``stream`` as they are;
  ``stream_options`` dropped (Responses streams always end with the usage);
- ``store: false`` whenever an image is sent (xAI: storing image requests may fail);
- ``prompt_cache_key``: the conversation id, which xAI routes like ``x-grok-conv-id``.

Earlier turns (chat-shaped, as a ``Conversation`` keeps them) convert the same way, so
turn *n* of a conversation starts with exactly the input of turn *n - 1*.
"""

from __future__ import annotations

import copy
from typing import Any

from grok_nb.api.request import build_chat_request
from grok_nb.errors import ConfigError

__all__ = ["RESPONSES_PATH", "build_responses_request", "is_responses_body", "responses_body"]

RESPONSES_PATH = "/responses"
_COPIED = ("model", "temperature", "seed", "stream", "user")


def is_responses_body(body: dict[str, Any]) -> bool:
    """A body already in the Responses form (it has ``input``, no ``messages``)."""
    return "input" in body and "messages" not in body


def _content(content: Any, where: str) -> tuple[Any, bool]:
    """Chat content -> Responses content; and whether it holds an image."""
    if isinstance(content, str) or content is None:
        return content or "", False
    if not isinstance(content, list):
        raise ConfigError(f"{where}: content must be text or a list of parts")
    out: list[dict[str, Any]] = []
    images = False
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            out.append({"type": "input_text", "text": part["text"]})
        elif kind == "image_url":
            image = part["image_url"]
            item: dict[str, Any] = {"type": "input_image", "image_url": image["url"]}
            if image.get("detail") is not None:
                item["detail"] = image["detail"]
            out.append(item)
            images = True
        elif kind in ("input_text", "input_image"):  # already converted
            out.append(copy.deepcopy(part))
            images = images or kind == "input_image"
        else:
            raise ConfigError(f"{where}.content[{j}]: cannot send a {kind!r} part to /responses")
    return out, images


def responses_body(chat: dict[str, Any], *, conv_id: str | None = None) -> dict[str, Any]:
    """The ``POST /responses`` body asking what the chat body ``chat`` asks."""
    if is_responses_body(chat):
        given = copy.deepcopy(chat)
        if conv_id:
            given["prompt_cache_key"] = conv_id
        return given
    messages = chat.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigError("a chat body needs messages to become a Responses body")
    body: dict[str, Any] = {k: chat[k] for k in _COPIED if k in chat}
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    any_image = False
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role == "system" and not items and isinstance(msg.get("content"), str):
            instructions.append(msg["content"])  # leading system prompt(s)
            continue
        content, has_image = _content(msg.get("content"), f"messages[{i}]")
        any_image = any_image or has_image
        items.append({"role": role, "content": content})
    body["input"] = items
    if instructions:
        body["instructions"] = "\n\n".join(instructions)
    limit = chat.get("max_completion_tokens", chat.get("max_tokens"))
    if limit is not None:
        body["max_output_tokens"] = limit
    fmt = chat.get("response_format")
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema") or {}
            body["text"] = {
                "format": {"type": "json_schema", "name": spec.get("name"),
                           "schema": spec.get("schema")}
            }  # fmt: skip
        else:
            body["text"] = {"format": {"type": fmt.get("type")}}
    if any_image:
        body["store"] = False
    if conv_id:
        body["prompt_cache_key"] = conv_id
    body["stream"] = bool(chat.get("stream", False))
    return body


def build_responses_request(
    parts: Any, *, conv_id: str | None = None, **options: Any
) -> dict[str, Any]:
    """``build_chat_request(parts, **options)`` in the Responses form."""
    return responses_body(build_chat_request(parts, **options), conv_id=conv_id)
