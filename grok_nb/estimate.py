"""What a call is expected to cost before it is sent (``grok_nb.budget`` checks it).

Text is counted at about four characters a token, measured images by their tile plans,
and images that were not measured (URLs passed through) at the worst case of their rule
and detail, so a cap can never be bypassed by an image nobody measured.

A conversation's follow-up resends its earlier turns under the conversation's id, so
that prefix is expected to be billed at the cached rate (``expected_cached_tokens``,
shown as "expected cached"). Caching is not promised, so the budget checks the
cold price (``worst_usd``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grok_nb.pricing import price_for
from grok_nb.tiling import TilePlan, worst_case_tokens

__all__ = ["CHARS_PER_TOKEN", "Estimate", "estimate", "message_chars"]

CHARS_PER_TOKEN = 4  # rough text-token estimate; the billed count is shown after the call


@dataclass(frozen=True)
class Estimate:
    """What a call is expected to cost before it is sent."""

    image_tokens: int
    text_tokens: int
    unmeasured_images: int  # URLs passed through without being measured
    prompt_usd: float | None  # includes the unmeasured images at their worst case
    max_completion_usd: float | None  # when max_tokens caps the answer
    unmeasured_tokens: int = 0  # the worst case for those URLs, under their rule and detail
    expected_cached_tokens: int = 0  # the resent prefix (earlier turns), text and images
    cold_prompt_usd: float | None = None  # prompt_usd if nothing is served from the cache

    @property
    def worst_usd(self) -> float | None:
        prompt = self.prompt_usd if self.cold_prompt_usd is None else self.cold_prompt_usd
        if prompt is None:
            return None
        return prompt + (self.max_completion_usd or 0.0)

    @property
    def cache_saving_usd(self) -> float | None:
        """What the expected prompt caching takes off the prompt's price."""
        if self.prompt_usd is None or self.cold_prompt_usd is None:
            return None
        return self.cold_prompt_usd - self.prompt_usd


def message_chars(messages: Sequence[dict[str, Any]]) -> int:
    """Characters of text in ``messages`` (string contents and text parts): what the
    text estimate counts. The chat panel's ``js/chat_estimate.js`` adds its prompt to
    this number for the messages already in the conversation."""
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text", "")) for p in content if p.get("type") == "text")
    return chars


def estimate(
    body: dict[str, Any],
    plans: Sequence[TilePlan],
    unmeasured: Sequence[tuple[str, str]],
    opts: dict[str, Any],
    *,
    cached_messages: int = 0,
    cached_image_tokens: int = 0,
) -> Estimate:
    """Text at ~4 characters a token, measured images by their plans, and images that
    were not measured (URLs) at the worst case of their (rule, detail).

    ``cached_messages``: how many leading messages were sent before under the same
    conversation id, holding ``cached_image_tokens`` of images: expected cached."""
    messages = body.get("messages", [])
    text_tokens = _text_tokens(messages)
    image_tokens = sum(p.tokens for p in plans)
    worst = sum(worst_case_tokens(rule, detail) for rule, detail in unmeasured)
    cached = 0
    if cached_messages:
        cached = _text_tokens(messages[:cached_messages]) + min(cached_image_tokens, image_tokens)
    price = price_for(opts["model"])
    prompt_usd = cold_usd = None
    completion_usd = None
    if price is not None:
        prompt = text_tokens + image_tokens + worst
        cold_usd = price.cost(prompt_tokens=prompt)
        prompt_usd = price.cost(prompt_tokens=prompt, cached_tokens=cached)
        if opts.get("max_tokens"):
            completion_usd = price.cost(completion_tokens=opts["max_tokens"])
    return Estimate(
        image_tokens, text_tokens, len(unmeasured), prompt_usd, completion_usd, worst, cached,
        cold_usd if cached else None,
    )  # fmt: skip


def _text_tokens(messages: Sequence[dict[str, Any]]) -> int:
    return -(-message_chars(messages) // CHARS_PER_TOKEN)
