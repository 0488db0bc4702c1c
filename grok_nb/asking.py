"""The public entry points: ``tiles``, ``ask``, ``ask_async``.

Wires the one-way flow: source -> prepared image -> request -> cache -> client -> Answer.
Options not given explicitly come from the ``GrokVision`` settings (``settings.py``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grok_nb.api.credentials import resolve_base_url
from grok_nb.errors import BudgetExceeded, CacheMiss, ConfigError
from grok_nb.rules import RuleChoice, rule_in_force
from grok_nb.tiling import TilePlan, plan

if TYPE_CHECKING:
    from grok_nb.answer import Answer
    from grok_nb.api.client import Client
    from grok_nb.cache.prepared import PreparedStore
    from grok_nb.cache.responses import ResponseCache
    from grok_nb.images import PreparedImage

__all__ = ["CallPlan", "Estimate", "ask", "ask_async", "plan_call", "resolve_options", "tiles"]

PREVIEW_PX = 512  # longest side of the thumbnail kept on a plan for display
CHARS_PER_TOKEN = 4  # rough text-token estimate; the billed count is shown after the call
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
    from grok_nb.images import load_image  # Pillow: only when an image is given

    pil, label, _notes = load_image(source.source, rule=choice.name, detail=detail)
    result = plan(pil.width, pil.height, choice.name, detail)
    thumb = pil.copy()
    thumb.thumbnail((PREVIEW_PX, PREVIEW_PX))
    return replace(result.with_preview(thumb, source.label or label), rule_source=choice.where)


def resolve_options(**overrides: Any) -> dict[str, Any]:
    """Settings in force, with every non-``None`` override applied and validated."""
    from grok_nb.settings import current

    settings = current()
    known = settings.options()
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    merged = dict(known)
    if any(v is not None for v in overrides.values()):
        from traitlets import TraitError

        from grok_nb.settings import GrokVision

        probe = GrokVision(config=settings.config)  # validate without touching the shared one
        for name, value in overrides.items():
            if value is None:
                continue
            try:
                setattr(probe, name, value)
            except TraitError as exc:
                raise ConfigError(f"{name}={value!r}: {exc}") from None
            merged[name] = getattr(probe, name)
    return merged


@dataclass(frozen=True)
class Estimate:
    """What a call is expected to cost before it is sent."""

    image_tokens: int
    text_tokens: int
    unmeasured_images: int  # URLs passed through without being measured
    prompt_usd: float | None
    max_completion_usd: float | None  # when max_tokens caps the answer

    @property
    def worst_usd(self) -> float | None:
        if self.prompt_usd is None:
            return None
        return self.prompt_usd + (self.max_completion_usd or 0.0)


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


def _estimate(
    body: dict[str, Any], plans: Sequence[TilePlan], unmeasured: int, opts: dict[str, Any]
) -> Estimate:
    from grok_nb.pricing import price_for

    chars = 0
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text", "")) for p in content if p.get("type") == "text")
    text_tokens = -(-chars // CHARS_PER_TOKEN)
    image_tokens = sum(p.tokens for p in plans)
    price = price_for(opts["model"])
    prompt_usd = None
    completion_usd = None
    if price is not None:
        prompt_usd = price.cost(prompt_tokens=text_tokens + image_tokens)
        if opts.get("max_tokens"):
            completion_usd = price.cost(completion_tokens=opts["max_tokens"])
    return Estimate(image_tokens, text_tokens, unmeasured, prompt_usd, completion_usd)


@dataclass(frozen=True)
class Labelled:
    """A source with the name the user gave it (the magic's token, e.g. ``fig``), and
    the rule and detail it carries (an explorer's framing sends what it shows)."""

    source: Any
    label: str | None = None
    rule: str | None = None
    detail: str | None = None


def _frames(obj: Any) -> bool:
    return callable(getattr(obj, "_grok_source_", None)) and not isinstance(obj, type)


def as_source(item: Any) -> Labelled:
    """Any image argument as a ``Labelled``. Objects that frame an image themselves
    (``TileExplorer``) give their framing, rule and detail through ``_grok_source_()``."""
    name = None
    if isinstance(item, Labelled):
        if not _frames(item.source):
            return item
        name, item = item.label, item.source
    if not _frames(item):
        return Labelled(item)
    framed = item._grok_source_()
    if not isinstance(framed, Labelled):
        raise ConfigError(f"{type(item).__name__}._grok_source_() must return a Labelled")
    return replace(framed, label=f"{name} (framed)") if name else framed


MEMO_SIZE = 64  # prepared images remembered per kernel, by source fingerprint
_memo: OrderedDict[tuple[Any, ...], PreparedImage] = OrderedDict()
_lock = threading.Lock()  # ask_many plans items on worker threads


def _prepare_one(
    item: Labelled, opts: dict[str, Any], choice: RuleChoice, detail: str
) -> list[PreparedImage]:
    """Prepare one source (a glob may give several) under ``choice``, reusing an earlier
    preparation: from this kernel's memory, else from the on-disk store beside the cache."""
    from grok_nb.images import prepare, prepare_many
    from grok_nb.images.fingerprint import fingerprint

    source, label = item.source, item.label
    settings = (choice.name, detail, opts["resize"], opts["fetch_urls"], label)
    fp = fingerprint(source)
    key = (fp, *settings)
    store = _prepared_store(opts) if fp is not None else None
    store_key = hashlib.sha256(repr(key).encode()).hexdigest()
    with _lock:
        found = _memo.get(key) if fp is not None else None
    if found is None and store is not None:
        found = store.get(store_key)
    if found is not None:
        _remember(key, found)
        return [_with_rule_source(found, choice)]
    kwargs = dict(rule=choice.name, detail=detail, resize=opts["resize"])
    kwargs["fetch_urls"] = opts["fetch_urls"]
    if label is None:
        prepared = prepare_many([source], **kwargs)
    else:
        prepared = [prepare(source, label=label, **kwargs)]
    if fp is not None and len(prepared) == 1:
        _remember(key, prepared[0])
        if store is not None:
            store.put(store_key, prepared[0])
    return [_with_rule_source(p, choice) for p in prepared]


def _with_rule_source(prepared: PreparedImage, choice: RuleChoice) -> PreparedImage:
    if prepared.plan is None:
        return prepared
    return replace(prepared, plan=replace(prepared.plan, rule_source=choice.where))


def _remember(key: tuple[Any, ...], prepared: PreparedImage) -> None:
    with _lock:
        _memo[key] = prepared
        _memo.move_to_end(key)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)


_stores: dict[str, PreparedStore] = {}


def _prepared_store(opts: dict[str, Any]) -> PreparedStore | None:
    """The prepared-image store paired with the cache file (none when caching is off)."""
    if opts["cache"] == "off":
        return None
    from grok_nb.cache.prepared import PreparedStore
    from grok_nb.cache.responses import default_cache_path

    path = Path(opts["cache_path"] or default_cache_path()).with_suffix(".prepared.sqlite3")
    with _lock:
        if str(path) not in _stores:
            _stores[str(path)] = PreparedStore(path)
        return _stores[str(path)]


def _prepare_in_order(
    images: Sequence[Any],
    opts: dict[str, Any],
    endpoint: str,
    overrides: dict[str, Any],
) -> list[PreparedImage]:
    """Prepare every source, each under the rule in force for it (an explicit rule or
    detail beats an explorer's own); already-prepared images pass through; order kept."""
    from grok_nb.images import PreparedImage

    out: list[PreparedImage] = []
    for item in images:
        if isinstance(item, PreparedImage):
            out.append(item)
            continue
        source = as_source(item)
        choice = rule_in_force(
            model=opts["model"],
            endpoint=endpoint,
            explicit=overrides.get("tile_rule"),
            explorer=source.rule,
        )
        detail = overrides.get("detail") or source.detail or opts["detail"]
        out += _prepare_one(source, opts, choice, detail)
    return out


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
    from grok_nb.api.request import build_chat_request

    opts = resolve_options(**overrides)
    base_url = resolve_base_url(opts["base_url"])
    prepared = _prepare_in_order(images, opts, base_url, overrides)
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
    unmeasured = sum(1 for p in prepared if p.plan is None)
    key = None
    if opts["cache"] != "off":
        from grok_nb.cache.responses import request_key

        key = request_key(body, base_url)
    return CallPlan(
        body=body,
        base_url=base_url,
        model=opts["model"],
        options=opts,
        images=prepared,
        plans=plans,
        estimate=_estimate(body, plans, unmeasured, opts),
        cache_key=key,
        schema=schema,
        user_message=body["messages"][-1],
    )


def check_budget(call: CallPlan) -> None:
    from grok_nb.pricing import format_usd

    limit = call.options["max_cost_usd"]
    worst = call.estimate.worst_usd
    if limit is None or worst is None or worst <= limit:
        return
    raise BudgetExceeded(
        f"estimated cost {format_usd(worst)} is above max_cost_usd={format_usd(limit)} "
        f"by {format_usd(worst - limit)}; nothing was sent",
        estimate_usd=worst,
        limit_usd=limit,
    )


_caches: dict[str, ResponseCache] = {}
_clients: dict[tuple[str, float, int], Client] = {}


def response_cache(opts: dict[str, Any]) -> ResponseCache:
    """The cache file in use for these options (one open handle per path)."""
    from grok_nb.cache.responses import ResponseCache, default_cache_path

    path = str(opts["cache_path"] or default_cache_path())
    with _lock:
        if path not in _caches:
            _caches[path] = ResponseCache(path)
        return _caches[path]


def _client_for(call: CallPlan) -> Client:
    from grok_nb.api.client import Client

    # The key itself is looked up by the client at each call, so a key set in a
    # running kernel takes effect at once; base URL and timeouts pick the pool.
    key = (call.base_url, float(call.options["timeout_s"]), int(call.options["max_retries"]))
    with _lock:
        if key not in _clients:
            _clients[key] = Client(base_url=key[0], timeout_s=key[1], max_retries=key[2])
        return _clients[key]


def _from_cache(call: CallPlan) -> Answer | None:
    mode = call.options["cache"]
    if call.cache_key is None or mode in ("off", "refresh"):
        return None
    started = time.perf_counter()
    entry = response_cache(call.options).get(call.cache_key)
    if entry is None:
        if mode == "replay":
            raise CacheMiss(
                f"cache='replay' but this request is not in the cache "
                f"({call.options['cache_path'] or 'default cache'}); run it once with "
                "cache='use' and a key to record it"
            )
        return None
    answer = _answer_from_record(entry.record, call.schema)
    answer.latency_s = time.perf_counter() - started
    return _finish(answer, call)


def _answer_from_record(record: dict[str, Any], schema: Any) -> Answer:
    from grok_nb.answer import Answer, Usage
    from grok_nb.api.request import parse_structured

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
    from grok_nb.api.request import redact_request

    answer.images = list(call.plans)
    answer.estimated_image_tokens = (
        call.estimate.image_tokens if not call.estimate.unmeasured_images else None
    )
    answer.request = redact_request(call.body)
    from grok_nb.ledger import LEDGER

    LEDGER.record(answer)
    return answer


def _store(answer: Answer, call: CallPlan) -> None:
    if call.cache_key is None or call.options["cache"] not in ("use", "refresh"):
        return
    from grok_nb.cache.responses import cacheable

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
    check_budget(call)
    return None


def send(call: CallPlan, *, on_delta: DeltaCallback | None = None) -> Answer:
    """Serve ``call`` from the cache or the API (after the budget check)."""
    answer = _before_sending(call, on_delta)
    if answer is None:
        answer = _client_for(call).chat(call.body, on_delta=on_delta, schema=call.schema)
        _store(answer, call)
        answer = _finish(answer, call)
    return answer


async def send_async(call: CallPlan, *, on_delta: DeltaCallback | None = None) -> Answer:
    answer = _before_sending(call, on_delta)
    if answer is None:
        answer = await _client_for(call).achat(call.body, on_delta=on_delta, schema=call.schema)
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
