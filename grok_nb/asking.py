"""The public entry points: ``tiles``, ``ask``, ``ask_async``.

``ask`` is the first turn of a ``Conversation`` (``answer.follow_up`` continues it);
the call itself is planned and sent by ``grok_nb.calls``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from grok_nb.answer import Answer
from grok_nb.api.credentials import resolve_base_url
from grok_nb.calls import CallPlan, DeltaCallback, plan_call, response_cache, send, send_async
from grok_nb.conversation import Conversation
from grok_nb.images import load_image
from grok_nb.preparing import Labelled, as_source, prepared_store
from grok_nb.rules import rule_in_force
from grok_nb.settings import resolve_options
from grok_nb.tiling import TilePlan, plan

__all__ = [
    "CallPlan",
    "Labelled",
    "ask",
    "ask_async",
    "plan_call",
    "prepared_store",
    "resolve_options",
    "response_cache",
    "send",
    "send_async",
    "tiles",
]

PREVIEW_PX = 512  # longest side of the thumbnail kept on a plan for display


def _is_size(obj: object) -> bool:
    return (
        isinstance(obj, tuple)
        and len(obj) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in obj)
    )


def tiles(
    image: Any,
    *,
    rule: str | None = None,
    detail: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
) -> TilePlan:
    """How ``image`` will be cut into 448 px tiles, its token count and cost.

    ``image`` is anything ``%%grokvision`` accepts, or a ``(width, height)`` tuple.
    The rule is the one ``ask`` would use (``rules.rule_in_force``). The returned plan
    displays as the image with its tile grid drawn over it.
    """
    opts = resolve_options(model=model, base_url=base_url, detail=detail)
    source = as_source(image)
    endpoint = resolve_base_url(opts["base_url"])
    choice = rule_in_force(
        model=opts["model"], endpoint=endpoint, explicit=rule, explorer=source.rule
    )
    detail = detail or source.detail or opts["detail"]
    if _is_size(source.source):
        width, height = source.source
        return replace(plan(width, height, choice.name, detail), rule_source=choice.where)
    pil, label, _notes = load_image(source.source, rule=choice.name, detail=detail)
    result = plan(pil.width, pil.height, choice.name, detail)
    thumb = pil.copy()
    thumb.thumbnail((PREVIEW_PX, PREVIEW_PX))
    return replace(result.with_preview(thumb, source.label or label), rule_source=choice.where)


def ask(
    prompt: str | Sequence[Any],
    *images: Any,
    model: str | None = None,
    detail: str | None = None,
    system: str | None = None,
    schema: Any = None,
    stream: bool | None = None,
    cache: str | None = None,
    on_delta: DeltaCallback | None = None,
    history: Sequence[dict[str, Any]] = (),
    **options: Any,
) -> Answer:
    """Ask ``model`` about ``images``; returns an ``Answer`` with text, usage and cost.

    ``images`` are anything ``%%grokvision`` accepts. ``prompt`` may also be a list of
    text and images, which interleave as written: ``ask(["First:", a, "then:", b])``.
    ``schema`` (a pydantic model class or a JSON-schema dict) asks for structured
    output, parsed into ``answer.parsed``. ``answer.follow_up(prompt, *images)`` asks
    the next question of the same conversation (``grok_nb.Conversation``).
    """
    options.update(model=model, detail=detail, system=system, stream=stream, cache=cache)
    conv_id = uuid.uuid4().hex  # the conversation a follow_up continues, prompt-cached
    call = plan_call(
        prompt, images, history=history, schema=schema, conv_id=conv_id, history_warm=False,
        **options,
    )  # fmt: skip
    answer = send(call, on_delta=on_delta)
    Conversation.started_by(call, answer, **options)
    return answer


async def ask_async(
    prompt: str | Sequence[Any],
    *images: Any,
    model: str | None = None,
    detail: str | None = None,
    system: str | None = None,
    schema: Any = None,
    stream: bool | None = None,
    cache: str | None = None,
    on_delta: DeltaCallback | None = None,
    history: Sequence[dict[str, Any]] = (),
    **options: Any,
) -> Answer:
    """``ask`` for ``await``: same arguments, same ``Answer``."""
    options.update(model=model, detail=detail, system=system, stream=stream, cache=cache)
    conv_id = uuid.uuid4().hex  # the conversation a follow_up continues, prompt-cached
    call = plan_call(
        prompt, images, history=history, schema=schema, conv_id=conv_id, history_warm=False,
        **options,
    )  # fmt: skip
    answer = await send_async(call, on_delta=on_delta)
    Conversation.started_by(call, answer, **options)
    return answer
