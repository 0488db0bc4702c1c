"""``answers_to_frame``: answers as a pandas DataFrame, one row per answer.

Its own module because it is the one place grok_nb touches pandas, and because the
columns are a promise: ``cost_usd`` sums to money really spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grok_nb.answer import Answer
from grok_nb.errors import ConfigError

__all__ = ["answers_to_frame"]


def answers_to_frame(answers: Sequence[Answer]) -> Any:
    """A pandas DataFrame, one row per answer (pandas must be installed).

    ``cost_usd`` is what each call cost this time (0 for a cached answer), so the column
    sums to money really spent; ``original_cost_usd`` is what the recorded call cost.
    ``model`` is the billed model, ``model_asked`` the name the request used.
    """
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("answers_to_frame needs pandas: pip install pandas") from None
    rows = []
    for n, a in enumerate(answers):
        u = a.usage
        error = getattr(a, "error", None)
        rows.append(
            {
                "item": getattr(a, "item", n),
                "text": a.text,
                "model": a.model,
                "model_asked": getattr(a, "model_asked", "") or a.model,
                "finish_reason": a.finish_reason,
                "error": None if error is None else str(error),
                "cached": a.cached,
                "estimated_image_tokens": a.estimated_image_tokens,
                "image_tokens": None if u is None else u.image_tokens,
                "prompt_tokens": None if u is None else u.prompt_tokens,
                "completion_tokens": None if u is None else u.completion_tokens,
                "cost_usd": 0.0 if a.cached else a.cost_usd,
                "original_cost_usd": getattr(a, "original_cost_usd", None),
                "latency_s": a.latency_s,
            }
        )
    return pd.DataFrame(rows)
