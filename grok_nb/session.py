"""The public entry points: ``tiles``, ``ask``, ``ask_async``.

Wires the one-way flow: source -> prepared image -> request -> cache -> client -> Answer.
"""

from __future__ import annotations

from typing import Any

from .tiling import TilePlan, plan

__all__ = ["tiles"]

PREVIEW_PX = 512  # longest side of the thumbnail kept on a plan for display


def _is_size(obj: object) -> bool:
    return (
        isinstance(obj, tuple)
        and len(obj) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in obj)
    )


def tiles(image: Any, *, rule: str | None = None, detail: str = "high") -> TilePlan:
    """How ``image`` will be cut into 448 px tiles, its token count and cost.

    ``image`` is anything ``%%grokvision`` accepts, or a ``(width, height)`` tuple.
    The returned plan displays as the image with its tile grid drawn over it.
    """
    if _is_size(image):
        width, height = image
        return plan(width, height, rule, detail)
    from .images import load_image

    pil, label, _notes = load_image(image)
    result = plan(pil.width, pil.height, rule, detail)
    thumb = pil.copy()
    thumb.thumbnail((PREVIEW_PX, PREVIEW_PX))
    return result.with_preview(thumb, label)
