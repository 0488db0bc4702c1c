"""What a call is expected to cost before it is sent (``grok_nb.budget`` checks it).

Text is counted at about four characters a token, measured images by their tile plans,
and images that were not measured (URLs passed through) at the worst case of their rule
and detail, so a cap can never be bypassed by an image nobody measured.
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

    @property
    def worst_usd(self) -> float | None:
        if self.prompt_usd is None:
            return None
        return self.prompt_usd + (self.max_completion_usd or 0.0)


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
) -> Estimate:
    """Text at ~4 characters a token, measured images by their plans, and images that
    were not measured (URLs) at the worst case of their (rule, detail)."""
    text_tokens = -(-message_chars(body.get("messages", [])) // CHARS_PER_TOKEN)
    image_tokens = sum(p.tokens for p in plans)
    worst = sum(worst_case_tokens(rule, detail) for rule, detail in unmeasured)
    price = price_for(opts["model"])
    prompt_usd = None
    completion_usd = None
    if price is not None:
        prompt_usd = price.cost(prompt_tokens=text_tokens + image_tokens + worst)
        if opts.get("max_tokens"):
            completion_usd = price.cost(completion_tokens=opts["max_tokens"])
    return Estimate(image_tokens, text_tokens, len(unmeasured), prompt_usd, completion_usd, worst)
