"""``Conversation``: several turns about the same images, from Python or the magic.

Each turn resends the earlier messages (their images included: the model keeps no
state between requests), appends only — earlier messages are never edited, so the
request of turn *n* is the same every time the notebook runs and a replayed notebook's
follow-ups are served from the cache too. Every turn carries the conversation's ``id``
(header ``x-grok-conv-id`` on Chat, ``prompt_cache_key`` on Responses), so xAI routes
it to the server that holds the earlier turns in its prompt cache and bills that
prefix at the cached rate; the id is not part of the response-cache key..
``%%grokvision --continue`` is built on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grok_nb.answer import Answer
from grok_nb.calls import CallPlan, plan_call, send, send_async
from grok_nb.images import PreparedImage
from grok_nb.pricing import format_usd
from grok_nb.tiling import TilePlan

__all__ = ["Conversation"]


@dataclass
class Conversation:
    """A running conversation. ``options`` (model, system, detail, ...) apply to every
    turn unless a turn overrides them."""

    options: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)  # as sent, never redacted
    plans: list[TilePlan] = field(default_factory=list)  # earlier images, resent each turn
    images: list[PreparedImage] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def plan(
        self, prompt: str | Sequence[Any], images: Sequence[Any] = (), **options: Any
    ) -> CallPlan:
        """The next turn, planned (images prepared, estimate made), not sent."""
        merged = {**self.options, **{k: v for k, v in options.items() if v is not None}}
        return plan_call(
            prompt, images, history=self.messages, history_plans=self.plans, conv_id=self.id,
            **merged,
        )  # fmt: skip

    def record(self, call: CallPlan, answer: Answer) -> Answer:
        """Append a turn that was sent (``plan`` then ``asking.send``)."""
        self.messages.append(call.user_message)
        self.messages.append({"role": "assistant", "content": answer.text})
        self.plans.extend(p.plan for p in call.images if p.plan is not None)
        self.images.extend(call.images)
        self.answers.append(answer)
        answer.conversation = self
        return answer

    def ask(
        self,
        prompt: str | Sequence[Any],
        *images: Any,
        on_delta: Callable[[str], None] | None = None,
        **options: Any,
    ) -> Answer:
        """Ask the next question; earlier turns (and their images) are resent."""
        call = self.plan(prompt, images, **options)
        return self.record(call, send(call, on_delta=on_delta))

    async def ask_async(
        self,
        prompt: str | Sequence[Any],
        *images: Any,
        on_delta: Callable[[str], None] | None = None,
        **options: Any,
    ) -> Answer:
        call = self.plan(prompt, images, **options)
        return self.record(call, await send_async(call, on_delta=on_delta))

    @property
    def cost_usd(self) -> float:
        """What this conversation cost in this kernel (cache hits cost nothing)."""
        return sum(a.cost_usd or 0.0 for a in self.answers)

    def fork(self) -> Conversation:
        """A copy to go another way from here (the original is not changed). It keeps the
        ``id``: both branches start with the same turns, which the prompt cache holds."""
        return replace(
            self,
            options=dict(self.options),
            messages=list(self.messages),
            plans=list(self.plans),
            images=list(self.images),
            answers=list(self.answers),
        )

    def clear(self) -> None:
        """Forget every turn (the options stay)."""
        for part in (self.messages, self.plans, self.images, self.answers):
            part.clear()

    @classmethod
    def started_by(cls, call: CallPlan, answer: Answer, **options: Any) -> Conversation:
        """The conversation one ``ask`` started (what ``answer.follow_up`` continues)."""
        conv = cls(options={k: v for k, v in options.items() if v is not None})
        if call.conv_id:  # the first turn already went out under this id
            conv.id = call.conv_id
        conv.messages = [m for m in call.chat_messages[:-1] if m.get("role") != "system"]
        conv.record(call, answer)
        return conv

    def __len__(self) -> int:
        return len(self.messages) // 2

    def __repr__(self) -> str:
        return (
            f"<Conversation {len(self)} turn{'s' if len(self) != 1 else ''}, "
            f"{len(self.images)} image{'s' if len(self.images) != 1 else ''}, "
            f"cost {format_usd(self.cost_usd)}>"
        )
