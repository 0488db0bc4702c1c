"""The running conversation of a notebook: what ``--continue`` resends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grok_nb.answer import Answer
    from grok_nb.tiling import TilePlan

__all__ = ["Conversation"]


@dataclass
class Conversation:
    messages: list[dict[str, Any]] = field(default_factory=list)
    plans: list[TilePlan] = field(default_factory=list)  # earlier images, resent each turn

    def add(self, user_message: dict[str, Any], answer: Answer, plans: list[TilePlan]) -> None:
        self.messages.append(user_message)
        self.messages.append({"role": "assistant", "content": answer.text})
        self.plans.extend(plans)

    def __len__(self) -> int:
        return len(self.messages) // 2
