"""Chat completion chunks -> the pieces of an ``Answer``.

``StreamState`` folds decoded ``chat.completion.chunk`` objects (or one whole
``chat.completion``) into text, usage, finish reason, resolved model and ids. It
is independent of HTTP so the sync and async clients share it, and so it can be
benchmarked on its own.

Usage may come on every chunk (cumulative, older xAI behaviour), only on a final
chunk with ``choices: []`` (2026 behaviour with ``include_usage``), or not at
all; the last non-null usage wins.

Every chunk and completion is parsed and checked by ``grok_nb.api.reply`` before
it is read, so the folding below can trust the types it finds.
"""

from __future__ import annotations

from typing import Any

from grok_nb.answer import Usage
from grok_nb.api import reply
from grok_nb.api.reply import StreamBroken

__all__ = ["DONE", "StreamBroken", "StreamState"]

DONE = "[DONE]"


class StreamState:
    __slots__ = (
        "_parts",
        "_reasoning",
        "delivered",
        "done",
        "finish_reason",
        "id",
        "model",
        "usage_raw",
    )

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self.usage_raw: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.model = ""
        self.id: str | None = None
        self.done = False  # "[DONE]" seen
        self.delivered = False  # some text reached the caller: never retry after this

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def usage(self) -> Usage | None:
        return None if self.usage_raw is None else Usage.from_api(self.usage_raw)

    @property
    def finished(self) -> bool:
        """The server said it was done: ``[DONE]`` or a finish reason arrived."""
        return self.done or self.finish_reason is not None

    def add_data(self, data: str) -> str:
        """Fold one SSE ``data`` payload in; return the new answer text (may be "")."""
        if data == DONE:
            self.done = True
            return ""
        return self.add_chunk(reply.parse(data, "the server sent a malformed stream event"))

    def add_chunk(self, chunk: Any, kind: str = "chunk") -> str:
        """Fold one parsed chunk (``kind="completion"``: a whole completion) in."""
        if isinstance(chunk, dict) and "error" in chunk and not chunk.get("choices"):
            err = chunk["error"]
            message = err.get("message", err) if isinstance(err, dict) else err
            raise StreamBroken(f"the server reported an error mid-answer: {str(message)[:300]}")
        reply.check(kind, chunk)
        if chunk.get("model"):
            self.model = chunk["model"]
        if chunk.get("id"):
            self.id = chunk["id"]
        usage = chunk.get("usage")
        if usage:
            self.usage_raw = usage
        new = ""
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # n > 1 is not something grok_nb asks for
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content")
            if content:
                self._parts.append(content)
                new = content
            reasoning = delta.get("reasoning_content")
            if reasoning:
                self._reasoning.append(reasoning)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return new

    def add_completion(self, body: Any) -> None:
        """A whole non-streamed ``chat.completion``."""
        self.add_chunk(body, "completion")
        self.done = True
