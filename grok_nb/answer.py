"""``Usage`` and ``Answer``: what a call billed and what it said.

Plain values, no HTTP. ``Answer`` carries a short Markdown repr (text plus a
one-line footer); ``render.py`` provides the richer views.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from grok_nb.pricing import TICKS_PER_USD, price_for
from grok_nb.render import answer_footer, answer_markdown, answer_mimebundle

__all__ = ["Answer", "Usage", "cost_from_usage"]


def _int(value: Any) -> int:
    # Token counts arrive as ints; tolerate null and numeric strings from proxies.
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, as billed by the API.

    ``prompt_tokens`` includes text and image tokens; ``cached_tokens`` is the part of
    the prompt served from xAI's cache; ``reasoning_tokens`` are billed as completion
    tokens but not included in ``completion_tokens``.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    image_tokens: int = 0
    cached_tokens: int = 0
    text_tokens: int = 0
    total_tokens: int = 0
    cost_in_usd_ticks: int | None = None

    @classmethod
    def from_api(cls, d: dict[str, Any] | None) -> Usage:
        """Parse the ``usage`` object of a response or stream chunk (``None`` -> zeros)."""
        d = d or {}
        prompt_details = d.get("prompt_tokens_details") or {}
        completion_details = d.get("completion_tokens_details") or {}
        ticks = d.get("cost_in_usd_ticks")
        return cls(
            prompt_tokens=_int(d.get("prompt_tokens")),
            completion_tokens=_int(d.get("completion_tokens")),
            reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
            image_tokens=_int(prompt_details.get("image_tokens")),
            cached_tokens=_int(prompt_details.get("cached_tokens")),
            text_tokens=_int(prompt_details.get("text_tokens")),
            total_tokens=_int(d.get("total_tokens")),
            cost_in_usd_ticks=None if ticks is None else _int(ticks),
        )

    @property
    def cost_usd(self) -> float | None:
        """Exact cost reported by the API, or ``None`` when it was not sent."""
        if self.cost_in_usd_ticks is None:
            return None
        return self.cost_in_usd_ticks / TICKS_PER_USD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cost_from_usage(usage: Usage | None, model: str | None) -> float | None:
    """USD for ``usage``: the API's own figure when sent, else from known prices."""
    if usage is None:
        return None
    if usage.cost_in_usd_ticks is not None:
        return usage.cost_usd
    price = price_for(model) if model else None
    if price is None:
        return None
    return price.cost(
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        image_tokens=usage.image_tokens,
    )


@dataclass
class Answer:
    """One model answer with its usage, cost and the (redacted) request that produced it.

    ``finish_reason`` is the API's (``"stop"``, ``"length"``, ...) or grok_nb's own
    ``"incomplete"`` (the connection broke mid-answer) / ``"interrupted"`` (the kernel
    was interrupted): in both cases ``text`` holds what arrived before.
    """

    text: str
    parsed: Any = None
    usage: Usage | None = None
    cost_usd: float | None = None
    estimated_image_tokens: int | None = None
    model: str = ""
    cached: bool = False
    latency_s: float | None = None
    finish_reason: str | None = None
    images: list[Any] = field(default_factory=list)
    request: dict[str, Any] | None = field(default=None, repr=False)
    request_id: str | None = None
    id: str | None = None
    first_token_s: float | None = None
    reasoning: str = field(default="", repr=False)
    # ask_many: which item this answers, and the error that item met (finish_reason "error")
    item: str | None = field(default=None, repr=False)
    error: BaseException | None = field(default=None, repr=False)

    @property
    def complete(self) -> bool:
        return self.finish_reason not in ("incomplete", "interrupted")

    def footer(self) -> str:
        """One line: model, image tokens estimated vs billed, cost, latency, cache."""
        return answer_footer(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return answer_mimebundle(self)

    def _repr_markdown_(self) -> str:
        return answer_markdown(self)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return (
            f"Answer(text={text!r}, model={self.model!r}, finish_reason={self.finish_reason!r}, "
            f"usage={self.usage!r}, cost_usd={self.cost_usd!r}, cached={self.cached!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields (no images, no parsed object)."""
        return {
            "text": self.text,
            "usage": None if self.usage is None else self.usage.to_dict(),
            "cost_usd": self.cost_usd,
            "estimated_image_tokens": self.estimated_image_tokens,
            "model": self.model,
            "cached": self.cached,
            "latency_s": self.latency_s,
            "first_token_s": self.first_token_s,
            "finish_reason": self.finish_reason,
            "request": self.request,
            "request_id": self.request_id,
            "id": self.id,
        }
