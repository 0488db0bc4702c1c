"""The simulator's reply: text (or a schema-valid JSON document), pieces, usage, chunks.

Usage follows xai-api.md: ``prompt_tokens`` = text + image tokens, part of the
hidden prefix reported as cached (or, for a conversation's follow-up, the whole
resent prefix: ``prompt_cache``), ``completion_tokens`` = the number of streamed
pieces, reasoning models report some reasoning tokens, and ``cost_in_usd_ticks``
is computed exactly from the catalogue's prices (ticks per token).

The reply's ``model`` is the model that served the request, not the name asked for:
a request for an alias is answered, and billed, as its target (``catalog.resolve``).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from grok_nb.simulator.boxes import box_answer, is_box_request
from grok_nb.simulator.describe import answer_text, describe_image, describe_url
from grok_nb.simulator.jsonfill import instance_for
from grok_nb.simulator.validate import CACHED_PREFIX_TOKENS, ChatInput

__all__ = ["USAGE_MODES", "Reply", "make_reply"]

USAGE_MODES = ("final", "every", "none")
REASONING_TOKENS = 32
FINGERPRINT = "fp_grok_nb_sim"
_PIECE = re.compile(r"\S+\s*|\s+")


@dataclass
class Reply:
    id: str
    created: int
    model: str  # the billed model: the catalogue entry that served the request
    text: str
    pieces: list[str]
    finish_reason: str
    chat: ChatInput

    def usage(self, completion_tokens: int | None = None) -> dict[str, Any]:
        chat, m = self.chat, self.chat.model
        completion = len(self.pieces) if completion_tokens is None else completion_tokens
        reasoning = REASONING_TOKENS if m.reasoning else 0
        image, text = chat.image_tokens, chat.text_tokens
        if chat.cached_text_tokens is None:  # cold: only part of the hidden prefix
            cached, cached_image = min(CACHED_PREFIX_TOKENS, text), 0
        else:  # a prefix seen before under this conversation id (``prompt_cache``)
            cached, cached_image = min(chat.cached_text_tokens, text), chat.cached_image_tokens
        ticks = (
            (text - cached) * m.prompt
            + (cached + cached_image) * m.cached
            + (image - cached_image) * m.image
            + (completion + reasoning) * m.completion
        )
        cached += cached_image
        return {
            "prompt_tokens": text + image,
            "completion_tokens": completion,
            "total_tokens": text + image + completion + reasoning,
            "prompt_tokens_details": {
                "text_tokens": text,
                "audio_tokens": 0,
                "image_tokens": image,
                "cached_tokens": cached,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "num_sources_used": 0,
            "cost_in_usd_ticks": ticks,
        }

    def completion(self, usage_mode: str) -> dict[str, Any]:
        """The non-streamed ``chat.completion`` body."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text, "refusal": None},
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": None if usage_mode == "none" else self.usage(),
            "system_fingerprint": FINGERPRINT,
        }

    def chunk(
        self, delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None
    ) -> dict[str, Any]:
        """One ``chat.completion.chunk``; ``delta=None`` gives the final ``choices: []`` one."""
        out: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [] if delta is None else [{"index": 0, "delta": delta}],
            "system_fingerprint": FINGERPRINT,
        }
        if finish is not None:
            out["choices"][0]["finish_reason"] = finish
        if usage is not None:
            out["usage"] = usage
        return out

    def stream_payloads(self, usage_mode: str) -> list[str]:
        """Every SSE ``data`` payload of the streamed answer, ``[DONE]`` included."""
        every = usage_mode == "every"
        out = []
        for n, piece in enumerate(self.pieces, 1):
            delta = {"role": "assistant", "content": piece} if n == 1 else {"content": piece}
            out.append(json.dumps(self.chunk(delta, usage=self.usage(n) if every else None)))
        out.append(json.dumps(self.chunk({}, self.finish_reason, self.usage() if every else None)))
        if usage_mode == "final" and self.chat.include_usage:
            out.append(json.dumps(self.chunk(None, usage=self.usage())))
        out.append("[DONE]")
        return out


def _structured_text(chat: ChatInput) -> str | None:
    fmt = chat.response_format or {}
    if is_box_request(fmt):  # grok_nb's own box schema: answered with measured boxes
        return box_answer(chat)
    if fmt.get("type") == "json_schema":
        schema = fmt["json_schema"]["schema"]
        return json.dumps(instance_for(schema))
    if fmt.get("type") == "json_object":
        return json.dumps({"simulator": "offline, not a model", "images": len(chat.images)})
    return None


def make_reply(chat: ChatInput, rule: str, number: int) -> Reply:
    """The deterministic reply to a validated request."""
    text = _structured_text(chat)
    if text is None:
        lines = []
        for img in chat.images:
            if img.message != chat.last_user:
                continue
            if img.facts is not None and img.plan is not None:
                lines.append(describe_image(img.index, img.facts, img.plan))
            else:
                lines.append(describe_url(img.index, img.url, img.tokens, rule))
        earlier = sum(1 for i in chat.images if i.message != chat.last_user)
        text = answer_text(chat.prompt, lines, chat.image_tokens, rule, earlier)
    pieces = _PIECE.findall(text)
    finish = "stop"
    if chat.max_tokens is not None and len(pieces) > chat.max_tokens:
        pieces, finish = pieces[: chat.max_tokens], "length"
    return Reply(
        id=f"sim-{number:06d}",
        created=int(time.time()),
        model=chat.model.id,
        text="".join(pieces),
        pieces=pieces,
        finish_reason=finish,
        chat=chat,
    )
