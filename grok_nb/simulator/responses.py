"""The simulator's ``POST /v1/responses``: the Responses API, beside Chat Completions.

A body is checked against the shape of xAI's ``ModelRequest`` (``input`` as text or
messages whose content is ``input_text`` / ``input_image`` parts, ``image_url`` a
plain string; ``instructions``, ``max_output_tokens``, ``temperature``, ``stream``,
``store``, ``prompt_cache_key``, ``text.format``), with the same error statuses as
the chat route (``validate``), then read as the chat body it amounts to, so images
are decoded, tiled and billed exactly as on ``/v1/chat/completions``. Two rules of
the Responses API are enforced: images need ``store: false`` (xAI: "Otherwise the
request may fail"), and ``previous_response_id`` is refused (nothing is stored).

Replies are ``ModelResponse`` objects; streamed, the typed events
``response.created``, ``response.in_progress``, ``response.output_item.added``,
``response.content_part.added``, ``response.output_text.delta`` (one per piece),
``response.output_text.done``, ``response.content_part.done``,
``response.output_item.done`` and ``response.completed`` (``response.incomplete``
when ``max_output_tokens`` cut the answer), each as ``event: <type>`` plus
``data: {...}``, with the usage on the final one. Usage is the Responses shape
(``input_tokens``, ``output_tokens`` counting reasoning, ``input_tokens_details.
cached_tokens``, ``output_tokens_details.reasoning_tokens``, ``cost_in_usd_ticks``);
``input_tokens_details`` also carries ``text_tokens`` and ``image_tokens`` as the
chat usage does — fields the OpenAPI document does not list (the schema is open).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from grok_nb.simulator.faults import Fault
from grok_nb.simulator.respond import Reply, make_reply
from grok_nb.simulator.validate import ChatInput, SimError, chat_input, json_body
from grok_nb.tiling import DETAILS

__all__ = ["ResponsesInput", "events", "handle", "parse_responses", "response_object"]

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_FORMATS = ("text", "json_object", "json_schema")


def _deserialize(message: str) -> SimError:
    return SimError(
        422, f"Failed to deserialize the JSON body into the target type: {message}", "text"
    )


def _invalid(message: str) -> SimError:
    return SimError(400, message)


@dataclass
class ResponsesInput:
    body: dict[str, Any]  # as received
    chat: ChatInput  # the same request read as a chat body
    conv_id: str | None
    store: bool


def _part(item: Any, where: str) -> dict[str, Any]:
    kind = item.get("type") if isinstance(item, dict) else None
    if kind in ("input_text", "output_text"):
        if not isinstance(item.get("text"), str):
            raise _deserialize(f"{where}: missing field `text`")
        return {"type": "text", "text": item["text"]}
    if kind == "input_image":
        url = item.get("image_url")
        if not isinstance(url, str):
            raise _deserialize(f"{where}.image_url: expected a string (a URL or data URL)")
        detail = item.get("detail", "auto")
        if detail not in DETAILS:
            raise _deserialize(
                f"{where}.detail: unknown variant `{detail}`, expected one of `auto`, `low`, `high`"
            )
        return {"type": "image_url", "image_url": {"url": url, "detail": detail}}
    raise _deserialize(
        f"{where}.type: unknown variant `{kind}`, expected `input_text`, `input_image` or "
        "`output_text`"
    )


def _messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise _deserialize("`input` must be a string or a non-empty array of input items")
    out = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise _deserialize(f"{where}: expected an object")
        if item.get("type") not in (None, "message"):
            raise _invalid(f"{where}: items of type {item['type']!r} are not simulated")
        role = item.get("role")
        if role not in _ROLES:
            raise _deserialize(f"{where}.role: expected one of {', '.join(_ROLES)}")
        if "content" not in item:
            raise _deserialize(f"{where}: missing field `content`")
        content = item["content"]
        if isinstance(content, list):
            content = [_part(p, f"{where}.content[{j}]") for j, p in enumerate(content)]
        elif not isinstance(content, str):
            raise _deserialize(f"{where}.content: expected a string or an array")
        out.append({"role": _ROLES[role], "content": content})
    return out


def _optional(body: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool) != (
        kind is bool
    )):  # fmt: skip
        raise _deserialize(f"{name}: invalid type")
    return value


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("text")
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in _FORMATS:
        raise _deserialize("text.format.type: expected `text`, `json_object` or `json_schema`")
    if kind == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise _deserialize("text.format: missing field `schema`")
        return {"type": kind, "json_schema": {"name": fmt.get("name"), "schema": fmt["schema"]}}
    return {"type": kind}


def parse_responses(raw: bytes, content_type: str | None, rule: str) -> ResponsesInput:
    """Check a ``/v1/responses`` body and read it as the chat request it amounts to."""
    body = json_body(raw, content_type)
    if "input" not in body:
        raise _deserialize("missing field `input`")
    if not isinstance(body.get("model"), str):
        raise _deserialize("missing field `model`")
    instructions = _optional(body, "instructions", str)
    limit = _optional(body, "max_output_tokens", int)
    store = _optional(body, "store", bool)
    conv_id = _optional(body, "prompt_cache_key", str)
    _optional(body, "stream", bool)
    if body.get("previous_response_id") is not None:
        raise _invalid("previous_response_id: the grok_nb simulator stores no responses")
    messages = _messages(body["input"])
    if instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    for name in ("temperature", "seed"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if limit is not None:
        chat["max_completion_tokens"] = limit
    fmt = _response_format(body)
    if fmt is not None:
        chat["response_format"] = fmt
    chat["stream"] = bool(body.get("stream"))
    read = chat_input(chat, rule)
    if read.images and store is not False:
        raise _invalid(
            "When sending images, set `store: false`: storing request and response history "
            "with images is not supported"
        )
    return ResponsesInput(body, read, conv_id, store is not False)


# -- replies -------------------------------------------------------------------------


def _usage(reply: Reply) -> dict[str, Any]:
    u = reply.usage()
    p, c = u["prompt_tokens_details"], u["completion_tokens_details"]
    reasoning = c["reasoning_tokens"]
    return {
        "input_tokens": u["prompt_tokens"],
        "input_tokens_details": {
            "cached_tokens": p["cached_tokens"],
            "text_tokens": p["text_tokens"],
            "image_tokens": p["image_tokens"],
        },
        "output_tokens": u["completion_tokens"] + reasoning,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": u["total_tokens"],
        "num_sources_used": 0,
        "num_server_side_tools_used": 0,
        "cost_in_usd_ticks": u["cost_in_usd_ticks"],
    }


def _message(reply: Reply, text: str, status: str) -> dict[str, Any]:
    content = [] if status == "in_progress" else [_text_part(text)]
    return {
        "type": "message", "id": f"msg_{reply.id}", "role": "assistant", "status": status,
        "content": content,
    }  # fmt: skip


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_object(reply: Reply, req: ResponsesInput, status: str | None = None) -> dict[str, Any]:
    """The ``ModelResponse``; ``status="in_progress"`` for ``response.created``."""
    done = status is None
    if done:
        status = "incomplete" if reply.finish_reason == "length" else "completed"
    body = req.body
    fmt = (body.get("text") or {}).get("format") or {"type": "text"}
    return {
        "id": f"resp_{reply.id}",
        "object": "response",
        "created_at": reply.created,
        "completed_at": int(time.time()) if done else None,
        "model": reply.model,
        "status": status,
        "output": [_message(reply, reply.text, "completed")] if done else [],
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "temperature": body.get("temperature"),
        "previous_response_id": None,
        "prompt_cache_key": req.conv_id,
        "parallel_tool_calls": True,
        "text": {"format": fmt},
        "tool_choice": "auto",
        "tools": [],
        "store": req.store,
        "metadata": {},
        "background": False,
        "service_tier": "default",
        "truncation": "disabled",
        "top_logprobs": 0,
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "usage": _usage(reply) if done else None,
    }


def events(reply: Reply, req: ResponsesInput) -> list[dict[str, Any]]:
    """Every event of the streamed reply, in order, numbered."""
    item, n = f"msg_{reply.id}", 0
    out: list[dict[str, Any]] = [
        {"type": "response.created", "response": response_object(reply, req, "in_progress")},
        {"type": "response.in_progress", "response": response_object(reply, req, "in_progress")},
        {"type": "response.output_item.added", "output_index": 0,
         "item": _message(reply, "", "in_progress")},
        {"type": "response.content_part.added", "item_id": item, "output_index": 0,
         "content_index": 0, "part": _text_part("")},
    ]  # fmt: skip
    at = {"item_id": item, "output_index": 0, "content_index": 0}
    for piece in reply.pieces:
        out.append({"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []})
    final = response_object(reply, req)
    out += [
        {"type": "response.output_text.done", **at, "text": reply.text, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": _text_part(reply.text)},
        {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
        {"type": f"response.{final['status']}", "response": final},
    ]
    for n, event in enumerate(out):
        event["sequence_number"] = n
    return out


# -- the route -----------------------------------------------------------------------


def handle(handler: Any, sim: Any, raw: bytes, fault: Fault | None) -> None:
    """Answer one ``POST /v1/responses`` on ``handler`` (``server._Handler``) for the
    running ``server.Simulator`` ``sim`` (untyped here: the server imports this module)."""
    req = parse_responses(raw, handler.headers.get("Content-Type"), sim.rule)
    sim.prompt_cache.apply(req.chat, req.conv_id or handler.headers.get("x-grok-conv-id"))
    reply = make_reply(req.chat, sim.rule, sim._next_number() - 1)
    with sim._lock:
        sim.usages.append(reply.usage())
    if not req.chat.stream:
        if fault is not None and fault.kind in ("reset", "truncate"):
            sim._record(handler.command, handler._path, 0)
            handler._drop_connection()
            return
        handler._reply(response_object(reply, req), fault)
        return
    _stream(handler, sim, reply, events(reply, req), fault)


def _stream(
    handler: Any, sim: Any, reply: Reply, items: list[dict[str, Any]], fault: Fault | None
) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-cache")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("x-request-id", handler._request_id)
    handler.end_headers()
    delay = 1.0 / sim.tokens_per_s if sim.tokens_per_s else 0.0
    first_delta = 4  # the index of the first response.output_text.delta
    at = None if fault is None or fault.after_chunks is None else first_delta + fault.after_chunks
    for n, event in enumerate(items):
        if fault is not None and n == at:
            if fault.kind == "reset":
                sim._record(handler.command, handler._path, 0)
                handler._drop_connection()
                return
            if fault.kind == "truncate":
                break
            if fault.kind == "stall":
                handler._wait(sim, fault.stall_s)
            if fault.kind == "error_event":
                event = {"type": "error", "code": "internal_error", "message": "simulated error",
                         "sequence_number": n}  # fmt: skip
        data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        handler._write_chunk(data)
        if delay and event["type"] == "response.output_text.delta":
            time.sleep(delay)
    sim._record(handler.command, handler._path, 200)
    handler._write_chunk(b"")
