"""The simulator's model of xAI's prompt cache (xai-api.md, "Prompt caching").

A request that carries a conversation id (header ``x-grok-conv-id`` on Chat
Completions, ``prompt_cache_key`` on Responses) is routed, on the real service, to a
server that keeps the prompts it saw for that id. Here: when the request's leading
messages are exactly the leading messages of an earlier request with the same id,
those messages (their text, their images, and the hidden prefix) are billed as
``cached_tokens`` at the cached price. A request without an id lands on a cold
server and pays full price for everything but the part of the hidden prefix that is
always reported cached (``validate.CACHED_PREFIX_TOKENS``).

Messages are compared as chat messages (a Responses body is read as one first), so
editing an earlier message — or sending it in another order — misses the cache.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from grok_nb.simulator.validate import HIDDEN_PREFIX_TOKENS, ChatInput

__all__ = ["MAX_PROMPTS_PER_ID", "PromptCache", "message_prints"]

MAX_PROMPTS_PER_ID = 64


def message_prints(messages: list[Any]) -> tuple[str, ...]:
    """One fingerprint per message: equal exactly when the messages are."""
    return tuple(
        hashlib.sha256(json.dumps(m, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        for m in messages
    )


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PromptCache:
    """Prompts seen per conversation id; ``apply`` sets a request's cached tokens."""

    def __init__(self) -> None:
        self._seen: dict[str, list[tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def apply(self, chat: ChatInput, conv_id: str | None) -> int:
        """Mark the prefix ``chat`` shares with an earlier request of ``conv_id`` as
        cached; remember its messages. Returns the number of messages matched."""
        if not conv_id:
            return 0
        prints = message_prints(chat.body.get("messages") or [])
        with self._lock:
            earlier = self._seen.setdefault(conv_id, [])
            matched = max((_common(prints, e) for e in earlier), default=0)
            if prints not in earlier:
                earlier.append(prints)
                del earlier[:-MAX_PROMPTS_PER_ID]
        if matched:
            chat.cached_text_tokens = HIDDEN_PREFIX_TOKENS + sum(chat.message_text_tokens[:matched])
            chat.cached_image_tokens = sum(chat.message_image_tokens[:matched])
        return matched

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
