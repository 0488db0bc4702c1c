"""One call, from planned to answered: ``plan_call`` and ``send``.

Wires the one-way flow: source -> prepared image (``preparing``) -> request (``api``)
-> estimate (``estimate``) and cap (``budget``) -> cache -> client -> Answer. Options
not given explicitly come from the ``GrokVision`` settings (``settings.resolve_options``).
Every entry point (``ask``, ``Conversation``, ``ask_many``, the magic) goes through here.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from grok_nb import budget
from grok_nb.answer import Answer, Usage
from grok_nb.api.client import Client
from grok_nb.api.credentials import resolve_base_url
from grok_nb.api.request import build_chat_request, parse_structured, redact_request
from grok_nb.api.responses_body import RESPONSES_PATH, responses_body
from grok_nb.cache.keys import normalise_base_url
from grok_nb.cache.responses import ResponseCache, cacheable, default_cache_path, request_key
from grok_nb.errors import CacheMiss
from grok_nb.estimate import Estimate, estimate
from grok_nb.images import PreparedImage
from grok_nb.ledger import LEDGER
from grok_nb.preparing import prepare_parts, prompt_parts
from grok_nb.rules import rule_in_force
from grok_nb.settings import resolve_options
from grok_nb.tiling import TilePlan

__all__ = [
    "CallPlan",
    "DeltaCallback",
    "Estimate",
    "plan_call",
    "response_cache",
    "send",
    "send_async",
]

DeltaCallback = Callable[[str], None]


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
    user_message: dict[str, Any] = field(default_factory=dict)  # chat-shaped, for history
    api: str = "chat"
    conv_id: str | None = None  # x-grok-conv-id / prompt_cache_key: a warm prompt cache
    chat_messages: list[dict[str, Any]] = field(default_factory=list)  # as a chat body

    @property
    def path(self) -> str:
        """Where the body is posted, below the base URL."""
        return RESPONSES_PATH if self.api == "responses" else "/chat/completions"


def plan_call(
    prompt: str | Sequence[Any],
    images: Sequence[Any] = (),
    *,
    history: Sequence[dict[str, Any]] = (),
    history_plans: Sequence[TilePlan] = (),
    schema: Any = None,
    conv_id: str | None = None,
    history_warm: bool = True,
    **overrides: Any,
) -> CallPlan:
    """Prepare images, build the request and estimate it, without sending anything.

    ``prompt`` is text, or a list of text and images sent in that order; ``images``
    come first (``ask(prompt, *images)``). The body is built in the chat form and,
    with ``api="responses"``, converted (``api.responses_body``). ``conv_id`` (a
    conversation's id) is sent for prompt caching: the resent earlier turns are then
    estimated at the cached rate (``history_warm=False``: the history was never sent
    under this id, so nothing is expected cached)."""
    opts = resolve_options(**overrides)
    base_url = resolve_base_url(opts["base_url"])
    parts = prepare_parts(prompt_parts(prompt, images), opts, base_url, overrides)
    prepared = [p for p in parts if isinstance(p, PreparedImage)]
    body = build_chat_request(
        parts,
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
    chat = body
    # Without an id the prefix lands on a cache-cold server: expect nothing cached.
    resent = (len(chat["messages"]) - 1) if conv_id and history and history_warm else 0
    expected = estimate(chat, plans, unmeasured, opts, cached_messages=resent,
                        cached_image_tokens=sum(p.tokens for p in history_plans))  # fmt: skip
    if opts["api"] == "responses":
        body = responses_body(chat, conv_id=conv_id)
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
        estimate=expected,
        cache_key=key,
        schema=schema,
        user_message=chat["messages"][-1],
        api=opts["api"],
        conv_id=conv_id,
        chat_messages=chat["messages"],
    )


_lock = threading.Lock()  # ask_many plans and sends from worker threads
_caches: dict[str, ResponseCache] = {}
_clients: dict[tuple[str, float, int, float], Client] = {}


def response_cache(opts: dict[str, Any]) -> ResponseCache:
    """The cache file in use for these options (one open handle per path)."""
    path = str(opts["cache_path"] or default_cache_path())
    with _lock:
        if path not in _caches:
            _caches[path] = cache = ResponseCache(path)
            # closing the last connection folds SQLite's write-ahead log into the file,
            # so a recorded cache file is complete on its own (commit it, replay in CI)
            atexit.register(cache.close)
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
            answer = _client_for(call).chat(
                call.body, on_delta=on_delta, schema=call.schema, conv_id=call.conv_id
            )
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
            answer = await client.achat(
                call.body, on_delta=on_delta, schema=call.schema, conv_id=call.conv_id
            )
        except BaseException as exc:  # cancellation too: a call that reached xAI is billed
            LEDGER.record_failure(call, exc)
            raise
        _store(answer, call)
        answer = _finish(answer, call)
    return answer
