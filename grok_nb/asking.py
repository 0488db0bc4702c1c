"""The public entry points: ``tiles``, ``ask``, ``ask_async``.

Wires the one-way flow: source -> prepared image (``preparing``) -> request (``api``)
-> estimate and cap (``estimate``) -> cache -> client -> Answer. Options not given
explicitly come from the ``GrokVision`` settings (``settings.resolve_options``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grok_nb import budget
from grok_nb.answer import Answer, Usage
from grok_nb.api.client import Client
from grok_nb.api.credentials import resolve_base_url
from grok_nb.api.request import build_chat_request, parse_structured, redact_request
from grok_nb.cache.keys import normalise_base_url
from grok_nb.cache.responses import ResponseCache, cacheable, default_cache_path, request_key
from grok_nb.errors import CacheMiss
from grok_nb.estimate import Estimate, estimate
from grok_nb.images import PreparedImage, load_image
from grok_nb.ledger import LEDGER
from grok_nb.preparing import Labelled, as_source, prepare_sources, prepared_store
from grok_nb.rules import rule_in_force
from grok_nb.settings import resolve_options
from grok_nb.tiling import TilePlan, plan

__all__ = [
    "CallPlan",
    "Estimate",
    "Labelled",
    "ask",
    "ask_async",
    "plan_call",
    "prepared_store",
    "resolve_options",
    "tiles",
]

PREVIEW_PX = 512  # longest side of the thumbnail kept on a plan for display
DeltaCallback = Callable[[str], None]


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


@dataclass
class CallPlan:
    """Everything decided before a call: the body, its cache key and its estimate."""

    body: dict[str, Any]
    base_url: str
    model: str
    options: dict[str, Any]
    images: list[PreparedImage]
    plans: list[TilePlan]  # this call's images, then earlier images resent from history
    estimate: Estimate
    cache_key: str | None
    schema: Any = None
    user_message: dict[str, Any] = field(default_factory=dict)


def plan_call(
    prompt: str,
    images: Sequence[Any] = (),
    *,
    history: Sequence[dict[str, Any]] = (),
    history_plans: Sequence[TilePlan] = (),
    schema: Any = None,
    **overrides: Any,
) -> CallPlan:
    """Prepare images, build the request and estimate it, without sending anything."""
    opts = resolve_options(**overrides)
    base_url = resolve_base_url(opts["base_url"])
    prepared = prepare_sources(images, opts, base_url, overrides)
    body = build_chat_request(
        [*prepared, prompt],
        model=opts["model"],
        system=opts["system"],
        history=history,
        temperature=opts["temperature"],
        max_tokens=opts["max_tokens"],
        schema=schema,
        stream=opts["stream"],
    )
    plans = [p.plan for p in prepared if p.plan is not None] + list(history_plans)
    url_rule = rule_in_force(
        model=opts["model"], endpoint=base_url, explicit=overrides.get("tile_rule")
    )
    unmeasured = [(url_rule.name, p.detail) for p in prepared if p.plan is None]
    key = None
    if opts["cache"] != "off":
        key = request_key(body, base_url)
    return CallPlan(
        body=body,
        base_url=base_url,
        model=opts["model"],
        options=opts,
        images=prepared,
        plans=plans,
        estimate=estimate(body, plans, unmeasured, opts),
        cache_key=key,
        schema=schema,
        user_message=body["messages"][-1],
    )


_lock = threading.Lock()  # ask_many plans and sends from worker threads
_caches: dict[str, ResponseCache] = {}
_clients: dict[tuple[str, float, int, float], Client] = {}


def response_cache(opts: dict[str, Any]) -> ResponseCache:
    """The cache file in use for these options (one open handle per path)."""
    path = str(opts["cache_path"] or default_cache_path())
    with _lock:
        if path not in _caches:
            _caches[path] = ResponseCache(path)
        return _caches[path]


def _client_for(call: CallPlan) -> Client:
    # The key itself is looked up by the client at each call, so a key set in a
    # running kernel takes effect at once; base URL and timeouts pick the pool.
    opts = call.options
    key = (
        call.base_url,
        float(opts["timeout_s"]),
        int(opts["max_retries"]),
        float(opts["max_retry_after_s"]),
    )
    with _lock:
        if key not in _clients:
            _clients[key] = Client(
                base_url=key[0], timeout_s=key[1], max_retries=key[2], max_retry_after_s=key[3]
            )
        return _clients[key]


def _from_cache(call: CallPlan) -> Answer | None:
    mode = call.options["cache"]
    if call.cache_key is None or mode in ("off", "refresh"):
        return None
    started = time.perf_counter()
    entry = response_cache(call.options).get(call.cache_key)
    if entry is None:
        if mode == "replay":
            content = call.user_message.get("content")
            parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
            text = " ".join(str(p.get("text") or "") for p in parts if p.get("type") == "text")
            text = " ".join(text.split())
            prompt = repr(text if len(text) <= 60 else text[:59] + "…")
            shown = [
                f"{i.label} {i.size[0]}×{i.size[1]}" if i.size else i.label for i in call.images
            ]
            images = f"{len(shown)} image{'s' if len(shown) != 1 else ''}"
            if shown:
                images += f" ({', '.join(shown[:3])}{', …' if len(shown) > 3 else ''})"
            identity = normalise_base_url(call.base_url)
            endpoint = identity if identity == call.base_url else f"{identity} ({call.base_url})"
            raise CacheMiss(
                f"cache='replay' but this request is not in the cache "
                f"{call.options['cache_path'] or default_cache_path()}: endpoint {endpoint}, "
                f"model {call.model}, prompt {prompt} with {images}, key "
                f"{call.cache_key[:12]}…. Any change of endpoint, model, prompt, image or "
                "option is a new request. To record it, run the notebook once with "
                "cache='use' (GROK_NB_CACHE unset) and a key, against the same endpoint and "
                "cache file; then replay"
            )
        return None
    answer = _answer_from_record(entry.record, call.schema)
    answer.latency_s = time.perf_counter() - started
    return _finish(answer, call)


def _answer_from_record(record: dict[str, Any], schema: Any) -> Answer:
    usage, request = record.get("usage"), record.get("request") or {}
    answer = Answer(
        text=record.get("text", ""),
        usage=None if usage is None else Usage(**usage),
        cost_usd=0.0,  # a cache hit costs nothing now; the recorded call cost this:
        original_cost_usd=record.get("original_cost_usd", record.get("cost_usd")),
        model=record.get("model", ""),
        model_asked=record.get("model_asked") or str(request.get("model") or ""),
        cached=True,
        finish_reason=record.get("finish_reason"),
        request_id=record.get("request_id"),
        id=record.get("id"),
    )
    if schema is not None:
        answer.parsed = parse_structured(answer.text, schema)
    return answer


def _finish(answer: Answer, call: CallPlan) -> Answer:
    answer.images = list(call.plans)
    answer.estimated_image_tokens = (
        call.estimate.image_tokens if not call.estimate.unmeasured_images else None
    )
    answer.request = redact_request(call.body)
    LEDGER.record(answer)
    return answer


def _store(answer: Answer, call: CallPlan) -> None:
    if call.cache_key is None or call.options["cache"] not in ("use", "refresh"):
        return
    record = answer.to_dict()
    if cacheable(record):
        response_cache(call.options).put(
            call.cache_key, record, base_url=call.base_url, model=answer.model or call.model
        )


def _before_sending(call: CallPlan, on_delta: DeltaCallback | None) -> Answer | None:
    """A cached answer (replayed through ``on_delta``), else ``None`` once the budget allows."""
    cached = _from_cache(call)
    if cached is not None:
        if on_delta is not None:
            on_delta(cached.text)
        return cached
    budget.check(call.estimate.worst_usd, call.options["max_cost_usd"])
    return None


def send(call: CallPlan, *, on_delta: DeltaCallback | None = None) -> Answer:
    """Serve ``call`` from the cache or the API (after the budget check)."""
    answer = _before_sending(call, on_delta)
    if answer is None:
        try:
            answer = _client_for(call).chat(call.body, on_delta=on_delta, schema=call.schema)
        except BaseException as exc:  # an interrupt too: a call that reached xAI is billed
            LEDGER.record_failure(call, exc)
            raise
        _store(answer, call)
        answer = _finish(answer, call)
    return answer


async def send_async(call: CallPlan, *, on_delta: DeltaCallback | None = None) -> Answer:
    answer = _before_sending(call, on_delta)
    if answer is None:
        client = _client_for(call)
        try:
            answer = await client.achat(call.body, on_delta=on_delta, schema=call.schema)
        except BaseException as exc:  # cancellation too: a call that reached xAI is billed
            LEDGER.record_failure(call, exc)
            raise
        _store(answer, call)
        answer = _finish(answer, call)
    return answer


def ask(
    prompt: str,
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

    ``images`` are anything ``%%grokvision`` accepts. ``schema`` (a pydantic model class
    or a JSON-schema dict) asks for structured output, parsed into ``answer.parsed``.
    """
    options.update(model=model, detail=detail, system=system, stream=stream, cache=cache)
    call = plan_call(prompt, images, history=history, schema=schema, **options)
    return send(call, on_delta=on_delta)


async def ask_async(
    prompt: str,
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
    call = plan_call(prompt, images, history=history, schema=schema, **options)
    return await send_async(call, on_delta=on_delta)
