"""``Usage`` and ``Answer``: what a call billed and what it said.

Plain values, no HTTP. ``Answer`` carries a short Markdown repr (text plus a
one-line footer); ``render.py`` provides the richer views.

It also holds the check of the estimate against the bill in dollars
(``Answer.estimated_cost_usd``, ``Answer.cost_mismatch``): the estimate made before
the call counts text as characters / 4 and cannot see xAI's hidden prompt prefix, so
a dollar difference is flagged only beyond that allowance (``TEXT_ALLOWANCE_*``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from grok_nb.errors import ConfigError
from grok_nb.pricing import (
    LONG_CONTEXT_FACTOR,
    LONG_CONTEXT_TOKENS,
    TICKS_PER_USD,
    ModelPrice,
    price_for,
)
from grok_nb.render import answer_footer, answer_markdown, answer_mimebundle

__all__ = ["Answer", "Usage", "cost_from_usage", "estimated_text_tokens"]

# The estimate counts text as characters / 4 (``asking.CHARS_PER_TOKEN``; the same
# count is redone here from the answer's redacted request).
CHARS_PER_TOKEN = 4
# How far billed text tokens may stray from that count before a dollar difference is
# flagged: half the estimate either way (prose, code and JSON all tokenise within it),
# plus xAI's hidden prompt prefix of "a few hundred tokens", priced at the prompt rate.
TEXT_ALLOWANCE_FRACTION = 0.5
TEXT_ALLOWANCE_PREFIX_TOKENS = 512


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
        if "input_tokens" in d or "output_tokens" in d:
            return cls._from_responses(d)
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

    @classmethod
    def _from_responses(cls, d: dict[str, Any]) -> Usage:
        """The Responses API's usage: ``output_tokens`` counts reasoning too (here
        ``completion_tokens`` does not). Text and image splits are read when sent."""
        inp = d.get("input_tokens_details") or {}
        out = d.get("output_tokens_details") or {}
        reasoning = _int(out.get("reasoning_tokens"))
        ticks = d.get("cost_in_usd_ticks")
        return cls(
            prompt_tokens=_int(d.get("input_tokens")),
            completion_tokens=max(_int(d.get("output_tokens")) - reasoning, 0),
            reasoning_tokens=reasoning,
            image_tokens=_int(inp.get("image_tokens")),
            cached_tokens=_int(inp.get("cached_tokens")),
            text_tokens=_int(inp.get("text_tokens")),
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


def estimated_text_tokens(request: dict[str, Any] | None) -> int | None:
    """Text tokens of a (redacted) request as the estimate counts them: characters / 4."""
    if not request or ("messages" not in request and "input" not in request):
        return None
    chars = 0
    instructions = request.get("instructions")  # the Responses API's system prompt
    if isinstance(instructions, str):
        chars += len(instructions)
    messages = request.get("messages") or request.get("input") or ()
    if isinstance(messages, str):
        messages = [{"content": messages}]
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(
                len(p.get("text", "")) for p in content
                if isinstance(p, dict) and p.get("type") in ("text", "input_text")
            )  # fmt: skip
    return -(-chars // CHARS_PER_TOKEN)


@dataclass
class Answer:
    """One model answer with its usage, cost and the (redacted) request that produced it.

    ``finish_reason`` is the API's (``"stop"``, ``"length"``, ...) or grok_nb's own
    ``"incomplete"`` (the connection broke mid-answer) / ``"interrupted"`` (the kernel
    was interrupted): in both cases ``text`` holds what arrived before.

    ``model`` is the model the response names, the one that was billed (also
    ``billed_model``); ``model_asked`` the name the request asked for, which may be an
    alias billed as another model. ``cost_usd`` is what this call cost (0 for an answer
    served from the cache); ``original_cost_usd`` what the call that produced the answer
    cost when it was made.
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
    model_asked: str = ""
    original_cost_usd: float | None = None
    # the price the estimate used for ``model_asked`` when the answer arrived
    estimate_price: ModelPrice | None = field(default=None, repr=False, compare=False)
    # the grok_nb.Conversation this answer is the latest turn of (set by ask and
    # Conversation.ask); what follow_up continues
    conversation: Any = field(default=None, repr=False, compare=False)
    # ``grok_nb.boxes.Detections`` for an answer asked with ``--boxes`` / ``locate``
    boxes: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.model_asked and isinstance(self.request, dict):
            self.model_asked = str(self.request.get("model") or "")
        if not self.model_asked:
            self.model_asked = self.model
        if self.original_cost_usd is None and not self.cached:
            self.original_cost_usd = self.cost_usd
        if self.estimate_price is None and self.model_asked:
            # taken now, before this answer teaches pricing what the name is billed as
            self.estimate_price = price_for(self.model_asked)

    @property
    def complete(self) -> bool:
        return self.finish_reason not in ("incomplete", "interrupted")

    @property
    def billed_model(self) -> str:
        """The model the response names: the one whose price the call was billed at."""
        return self.model

    @property
    def aliased(self) -> bool:
        """The request asked for one name and was billed as another model."""
        return bool(self.model and self.model_asked and self.model != self.model_asked)

    def _recorded_cost(self) -> float | None:
        return self.original_cost_usd if self.cached else self.cost_usd

    @property
    def estimated_cost_usd(self) -> float | None:
        """What the estimate says this call costs, given the tokens it answered with.

        Priced as the estimate was (``estimate_price``: the asked name's price when the
        answer came), on the estimated image tokens and text counted as characters / 4;
        the completion (unknown before the call) and the part of the prompt the API
        served from its cache are taken from the bill. ``None`` when not measurable.
        """
        u, price = self.usage, self.estimate_price
        text = estimated_text_tokens(self.request)
        if u is None or price is None or text is None:
            return None
        image = (
            u.image_tokens if self.estimated_image_tokens is None else (self.estimated_image_tokens)
        )
        prompt = text + image
        return price.cost(
            prompt_tokens=prompt,
            cached_tokens=min(u.cached_tokens, prompt),
            image_tokens=image,
            completion_tokens=u.completion_tokens,
            reasoning_tokens=u.reasoning_tokens,
        )

    @property
    def cache_saved_usd(self) -> float | None:
        """What xAI's prompt cache took off this call's bill: the billed cached tokens
        at the full prompt rate minus the cached rate of the billed model."""
        u = self.usage
        price = price_for(self.model) if self.model else None
        if u is None or not u.cached_tokens or price is None or price.cached_prompt is None:
            return None
        factor = LONG_CONTEXT_FACTOR if u.prompt_tokens >= LONG_CONTEXT_TOKENS else 1.0
        return u.cached_tokens * (price.prompt - price.cached_prompt) * factor / 1_000_000

    @property
    def cost_allowance_usd(self) -> float | None:
        """How far billed dollars may be from ``estimated_cost_usd`` without a flag: the
        text-token allowance at the estimate's prompt rate (see ``TEXT_ALLOWANCE_*``)."""
        text, price = estimated_text_tokens(self.request), self.estimate_price
        if text is None or price is None:
            return None
        tokens = TEXT_ALLOWANCE_FRACTION * text + TEXT_ALLOWANCE_PREFIX_TOKENS
        return tokens * price.prompt / 1_000_000

    @property
    def cost_mismatch(self) -> bool:
        """The bill and the estimate differ by more than the text-token allowance."""
        billed, est = self._recorded_cost(), self.estimated_cost_usd
        allowance = self.cost_allowance_usd
        if billed is None or est is None or allowance is None:
            return False
        return abs(billed - est) > allowance + 1 / TICKS_PER_USD

    def follow_up(self, prompt: Any, *images: Any, **options: Any) -> Answer:
        """Ask the next question of this answer's conversation (earlier turns and their
        images are resent); ``options`` override the conversation's for this turn."""
        if self.conversation is None:
            raise ConfigError(
                "this answer is not part of a conversation (it was not made by "
                "grok_nb.ask or Conversation.ask); start one with grok_nb.Conversation()"
            )
        answer: Answer = self.conversation.ask(prompt, *images, **options)
        return answer

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
            "original_cost_usd": self.original_cost_usd,
            "estimated_image_tokens": self.estimated_image_tokens,
            "model": self.model,
            "model_asked": self.model_asked,
            "cached": self.cached,
            "latency_s": self.latency_s,
            "first_token_s": self.first_token_s,
            "finish_reason": self.finish_reason,
            "request": self.request,
            "request_id": self.request_id,
            "id": self.id,
        }
