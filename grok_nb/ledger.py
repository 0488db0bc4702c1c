"""This kernel's calls: tokens estimated and billed, and what they cost.

``%grokvision_usage`` shows it. Cached answers are listed but cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grok_nb.answer import Answer

__all__ = ["LEDGER", "Ledger", "LedgerRow"]


@dataclass(frozen=True)
class LedgerRow:
    at: datetime
    model: str
    cached: bool
    finish_reason: str | None
    estimated_image_tokens: int | None
    image_tokens: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float  # what this call cost now: 0 for a cache hit

    @property
    def mismatch(self) -> bool:
        return (
            self.estimated_image_tokens is not None
            and self.image_tokens is not None
            and self.estimated_image_tokens != self.image_tokens
        )


@dataclass
class Ledger:
    rows: list[LedgerRow] = field(default_factory=list)

    def record(self, answer: Answer) -> None:
        u = answer.usage
        self.rows.append(
            LedgerRow(
                at=datetime.now(),
                model=answer.model,
                cached=answer.cached,
                finish_reason=answer.finish_reason,
                estimated_image_tokens=answer.estimated_image_tokens,
                image_tokens=None if u is None else u.image_tokens,
                prompt_tokens=None if u is None else u.prompt_tokens,
                completion_tokens=None if u is None else u.completion_tokens,
                reasoning_tokens=None if u is None else u.reasoning_tokens,
                cost_usd=0.0 if answer.cached else (answer.cost_usd or 0.0),
            )
        )

    def clear(self) -> None:
        self.rows.clear()

    def totals(self) -> dict[str, Any]:
        live = [r for r in self.rows if not r.cached]
        return {
            "calls": len(self.rows),
            "cached": len(self.rows) - len(live),
            "estimated_image_tokens": sum(r.estimated_image_tokens or 0 for r in live),
            "image_tokens": sum(r.image_tokens or 0 for r in live),
            "prompt_tokens": sum(r.prompt_tokens or 0 for r in live),
            "completion_tokens": sum(r.completion_tokens or 0 for r in live),
            "reasoning_tokens": sum(r.reasoning_tokens or 0 for r in live),
            "cost_usd": sum(r.cost_usd for r in live),
            "mismatches": sum(1 for r in live if r.mismatch),
        }


LEDGER = Ledger()
