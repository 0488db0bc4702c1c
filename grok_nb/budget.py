"""The one budget check: refuse to send what is estimated to cost more than allowed.

Two limits, two settings:

- ``max_cost_usd`` limits **each call** (``ask``, ``%%grokvision``, and every item
  of an ``ask_many`` batch);
- ``max_batch_cost_usd`` limits **a batch's total**: before anything is sent (the sum
  of the estimates of the items that are not already cached), and again before each
  item while the batch runs (spent so far, plus what is in flight, plus this item).

Estimates are worst cases (the prompt, plus ``max_tokens`` of answer when set); an
estimate that cannot be made (a model without a known price) never refuses. Messages
name the setting and the amounts, formatted by ``grok_nb.pricing.format_usd``.
"""

from __future__ import annotations

from grok_nb.errors import BudgetExceeded
from grok_nb.pricing import format_usd

__all__ = ["check", "check_batch_running"]


def check(
    estimate_usd: float | None,
    limit_usd: float | None,
    *,
    setting: str = "max_cost_usd",
    what: str = "estimated cost",
) -> None:
    """Raise ``BudgetExceeded`` when ``estimate_usd`` is above ``limit_usd``."""
    if limit_usd is None or estimate_usd is None or estimate_usd <= limit_usd:
        return
    raise BudgetExceeded(
        f"{what} {format_usd(estimate_usd)} is above {setting}={format_usd(limit_usd)} by "
        f"{format_usd(estimate_usd - limit_usd)}; nothing was sent",
        estimate_usd=estimate_usd,
        limit_usd=limit_usd,
    )


def check_batch_running(
    spent_usd: float, reserved_usd: float, item_usd: float | None, limit_usd: float | None
) -> None:
    """Before one item of a running batch: spent + in flight + this item within the limit."""
    if limit_usd is None or item_usd is None:
        return
    total = spent_usd + reserved_usd + item_usd
    if total <= limit_usd:
        return
    raise BudgetExceeded(
        f"not sent: the batch has spent {format_usd(spent_usd)}, has "
        f"{format_usd(reserved_usd)} in flight, and this item is estimated at "
        f"{format_usd(item_usd)}; together {format_usd(total)}, above "
        f"max_batch_cost_usd={format_usd(limit_usd)}",
        estimate_usd=item_usd,
        limit_usd=limit_usd,
    )
