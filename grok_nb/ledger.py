"""This kernel's calls: tokens estimated and billed, and what they cost.

``%grokvision_usage`` shows it. Every call that reached the server is a row: answers,
answers served from the cache (they cost nothing now), and calls cut short — an
interrupt, a broken or timed-out stream — with the usage that arrived, or else
"billed: unknown" and the most the estimate says it can have cost. Calibration probes
are kept apart (``purpose``), so a session's spend on questions is not mixed with
what measuring the tile rule cost.

The ledger is also where an answer teaches pricing what an asked name is billed as
(``pricing.remember_billed``): every answer of the session passes through it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from grok_nb.errors import APIError, APITimeoutError
from grok_nb.pricing import remember_billed

if TYPE_CHECKING:
    from grok_nb.answer import Answer

__all__ = ["LEDGER", "PURPOSES", "Ledger", "LedgerRow", "purpose"]

PURPOSES = ("ask", "calibration")
_purpose: contextvars.ContextVar[str] = contextvars.ContextVar("grok_nb_purpose", default="ask")
UNFINISHED = ("incomplete", "interrupted", "error")


@contextlib.contextmanager
def purpose(name: str) -> Iterator[None]:
    """Calls made inside the block are recorded under ``name`` (``"calibration"``)."""
    if name not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, not {name!r}")
    token = _purpose.set(name)
    try:
        yield
    finally:
        _purpose.reset(token)


@dataclass(frozen=True)
class LedgerRow:
    at: datetime
    model: str  # the model billed (the response's ``model``)
    cached: bool
    finish_reason: str | None
    estimated_image_tokens: int | None
    image_tokens: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float | None  # what this call cost now: 0 for a cache hit; None: unknown
    model_asked: str = ""
    purpose: str = "ask"
    # when the cost is unknown: the most it can be (prompt + max completion when the
    # answer was capped); None: no bound is known either
    at_most_usd: float | None = None
    cost_mismatch: bool = False
    cached_tokens: int | None = None  # billed from xAI's prompt cache
    cache_saved_usd: float | None = None  # what that cache took off the bill

    @property
    def mismatch(self) -> bool:
        return (
            self.estimated_image_tokens is not None
            and self.image_tokens is not None
            and self.estimated_image_tokens != self.image_tokens
        )

    @property
    def unfinished(self) -> bool:
        return self.finish_reason in UNFINISHED


def _reached_server(error: BaseException, answer: Answer | None) -> bool:
    """Whether a failed call got as far as the server (so it may have been billed).

    Something arrived (text or usage): yes. An interrupt or a timeout while waiting for
    the answer: the request was sent and the server may be working on it: yes. A
    connection error with nothing received, or an HTTP error (the server refused the
    request): not counted.
    """
    if answer is not None and (answer.text or answer.usage is not None):
        return True
    if isinstance(error, APIError):
        return False
    return answer is not None and (
        isinstance(error, APITimeoutError) or answer.finish_reason == "interrupted"
    )


@dataclass
class Ledger:
    rows: list[LedgerRow] = field(default_factory=list)

    def record(self, answer: Answer, *, at_most_usd: float | None = None) -> None:
        """One call. ``at_most_usd``: the estimate's ceiling, shown when the bill is unknown."""
        u = answer.usage
        remember_billed(answer.model_asked, answer.model if u is not None else None)
        if answer.cached:
            cost: float | None = 0.0
        elif answer.cost_usd is not None:
            cost = answer.cost_usd
        else:
            cost = None
        self.rows.append(
            LedgerRow(
                at=datetime.now(),
                model=answer.model,
                model_asked=answer.model_asked,
                cached=answer.cached,
                finish_reason=answer.finish_reason,
                estimated_image_tokens=answer.estimated_image_tokens,
                image_tokens=None if u is None else u.image_tokens,
                prompt_tokens=None if u is None else u.prompt_tokens,
                completion_tokens=None if u is None else u.completion_tokens,
                reasoning_tokens=None if u is None else u.reasoning_tokens,
                cost_usd=cost,
                purpose=_purpose.get(),
                at_most_usd=None if cost is not None else at_most_usd,
                cost_mismatch=bool(getattr(answer, "cost_mismatch", False)),
                cached_tokens=None if u is None else u.cached_tokens,
                cache_saved_usd=None if answer.cached else getattr(answer, "cache_saved_usd", None),
            )
        )

    def record_failure(self, call: Any, error: BaseException) -> bool:
        """A call that raised: recorded when it reached the server; True if it was.

        ``call`` is the ``asking.CallPlan`` (its estimate bounds an unknown bill);
        the partial answer is the error's ``.answer`` (a broken stream) or
        ``.partial_answer`` (an interrupt), as the client attaches them.
        """
        answer = getattr(error, "answer", None) or getattr(error, "partial_answer", None)
        if not _reached_server(error, answer):
            return False
        assert answer is not None  # _reached_server says so
        answer.images = list(getattr(call, "plans", ()) or answer.images)
        estimate = getattr(call, "estimate", None)
        unset = answer.estimated_image_tokens is None
        if estimate is not None and unset and not estimate.unmeasured_images:
            answer.estimated_image_tokens = estimate.image_tokens
        ceiling = None
        if estimate is not None and estimate.max_completion_usd is not None:
            # prompt + the capped completion, plus the text the estimate cannot see
            # (xAI's hidden prefix; the answer's text-token allowance)
            ceiling = (estimate.worst_usd or 0.0) + (answer.cost_allowance_usd or 0.0)
        self.record(answer, at_most_usd=ceiling)
        return True

    def clear(self) -> None:
        self.rows.clear()

    def totals(self, purpose: str | None = None) -> dict[str, Any]:
        """Sums over the rows of one ``purpose`` (all rows when ``None``)."""
        rows = [r for r in self.rows if purpose is None or r.purpose == purpose]
        live = [r for r in rows if not r.cached]
        unknown = [r for r in live if r.cost_usd is None]
        bounds = [r.at_most_usd for r in unknown]
        return {
            "calls": len(rows),
            "cached": len(rows) - len(live),
            # estimates only where a bill says what they are compared with
            "estimated_image_tokens": sum(
                r.estimated_image_tokens or 0 for r in live if r.image_tokens is not None
            ),
            "image_tokens": sum(r.image_tokens or 0 for r in live),
            "prompt_tokens": sum(r.prompt_tokens or 0 for r in live),
            "completion_tokens": sum(r.completion_tokens or 0 for r in live),
            "reasoning_tokens": sum(r.reasoning_tokens or 0 for r in live),
            "cost_usd": sum(r.cost_usd or 0.0 for r in live),
            "cached_tokens": sum(r.cached_tokens or 0 for r in live),
            "cache_saved_usd": sum(r.cache_saved_usd or 0.0 for r in live),
            "unknown_cost_calls": len(unknown),
            # None when some unknown bill has no bound either
            "unknown_at_most_usd": (
                None if any(b is None for b in bounds) else sum(b or 0.0 for b in bounds)
            ),
            "unfinished": sum(1 for r in live if r.unfinished),
            "mismatches": sum(1 for r in live if r.mismatch),
            "cost_mismatches": sum(1 for r in live if r.cost_mismatch),
        }

    def purposes(self) -> list[str]:
        """The purposes present, in ``PURPOSES`` order."""
        present = {r.purpose for r in self.rows}
        return [p for p in PURPOSES if p in present]


LEDGER = Ledger()
