"""``Client``: the xAI Chat Completions and Responses APIs over httpx, sync and async.

One ``httpx.Client`` and one ``httpx.AsyncClient`` per event loop own the
connection pools. An async pool belongs to the loop that opened it and is closed on
that loop: ``aclose()`` (this client), or ``close_idle_pools()`` (every client's idle
pool on the running loop; ``ask_many`` calls it before its loop ends, so a batch
leaves no socket open). A pool whose loop was closed without that is dropped. The key
and base URL are resolved at every call unless given, so changing ``XAI_API_KEY`` /
``XAI_BASE_URL`` in a running kernel takes effect at once (see ``credentials.py``).

Retries (``retry.py``, one policy and one loop for sync and async): connection
errors, timeouts, 408, 409, 429 and 5xx, with capped exponential backoff and jitter,
honouring ``Retry-After`` up to ``max_retry_after_s``; never once answer text has
been streamed to the caller; never for spent credits.

Streams that break keep what arrived: ``APIConnectionError.answer`` is the
partial ``Answer`` with ``finish_reason == "incomplete"``. A ``KeyboardInterrupt``
(kernel interrupt) or task cancellation while streaming closes the response and
is re-raised with the partial answer (``finish_reason == "interrupted"``) on its
``partial_answer`` attribute; the client stays usable. Interrupts are not turned
into grok_nb errors on purpose: a loop of calls must stop when the user says so.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import grok_nb.api.catalogue as catalogue
from grok_nb.answer import Answer
from grok_nb.api.call import Call, OnDelta
from grok_nb.api.credentials import (
    KERNEL_SIMULATOR_KEY,
    Secret,
    base_url_problem,
    find_api_key,
    is_kernel_simulator,
    require_api_key,
    resolve_base_url,
)
from grok_nb.api.pools import LIVE, Pool, close_idle_pools
from grok_nb.api.responses_body import RESPONSES_PATH, is_responses_body, responses_body
from grok_nb.api.retry import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER_S,
    RetryPolicy,
    arun,
    run,
)
from grok_nb.api.sse import SSEDecoder
from grok_nb.api.stream import StreamBroken, StreamState
from grok_nb.errors import ConfigError, GrokError

if TYPE_CHECKING:
    import httpx

    from grok_nb.pricing import ModelPrice

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "Client",
    "close_idle_pools",
]

# Read timeout between two pieces of a response. Reasoning models can think for a
# few minutes before the first visible token, so this is generous.
DEFAULT_TIMEOUT_S = 180.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
CHAT_PATH = "/chat/completions"
APIS = ("chat", "responses")

logger = logging.getLogger("grok_nb.api.client")


class Client:
    """Low-level xAI client: ``chat``/``achat``, ``models``, ``language_models``."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Awaitable[Any]] | None = None,
        transport: Any = None,
        async_transport: Any = None,
        rng: Callable[[], float] | None = None,
        api: str = "chat",
    ) -> None:
        if api not in APIS:
            raise ConfigError(f"api must be one of {', '.join(APIS)}, not {api!r}")
        self.api = api  # "responses": chat bodies are sent to POST /responses, converted
        self._api_key = Secret(api_key.strip()) if api_key and api_key.strip() else None
        if base_url is not None:  # refuse a bad one (user:password@...) before keeping it
            problem = base_url_problem(base_url.strip())
            if problem is not None:
                base_url = api_key = None  # kept out of verbose tracebacks' locals
                raise ConfigError(problem)
        self._base_url = base_url
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        if not 0.0 <= float(max_retry_after_s) < math.inf:
            raise ConfigError(
                "max_retry_after_s must be a finite number of seconds, 0 or more, not "
                f"{max_retry_after_s!r}"
            )
        self.max_retry_after_s = float(max_retry_after_s)
        self._sleep = sleep or time.sleep
        self._async_sleep = async_sleep
        self._transport = transport
        self._async_transport = async_transport
        self._rng = rng or random.random
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()  # threads sharing a client share one pool
        # id(loop) -> that loop's pool; entries of closed loops are dropped on next use
        self._apools: dict[int, Pool] = {}
        LIVE.add(self)

    # -- configuration ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return resolve_base_url(self._base_url)

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry rules in force (``max_retries`` and ``max_retry_after_s`` now)."""
        return RetryPolicy(self.max_retries, self.max_retry_after_s, rng=self._rng)

    def _secret(self) -> Secret:
        # The simulator %grokvision_simulate runs in this kernel needs no key, and is
        # never sent a real one; every other endpoint, a loopback one too, needs a key.
        if self._api_key is None and is_kernel_simulator(self.base_url):
            return Secret(KERNEL_SIMULATOR_KEY)
        return Secret(require_api_key(self._api_key))

    def _timeout(self) -> httpx.Timeout:
        import httpx

        return httpx.Timeout(self.timeout_s, connect=min(DEFAULT_CONNECT_TIMEOUT_S, self.timeout_s))

    def _sync_http(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None or self._http.is_closed:
                import httpx

                self._http = httpx.Client(timeout=self._timeout(), transport=self._transport)
            return self._http

    def _pool(self) -> Pool:
        import asyncio

        import httpx

        loop = asyncio.get_running_loop()
        # An AsyncClient's connections belong to the loop that opened them; a
        # notebook may run several loops over time (asyncio.run in a cell, ask_many).
        with self._http_lock:
            for key in [k for k, p in self._apools.items() if p.dead()]:
                del self._apools[key]  # its loop is gone: nothing can close it any more
            pool = self._apools.get(id(loop))
            if pool is None or pool.loop() is not loop:
                http = httpx.AsyncClient(timeout=self._timeout(), transport=self._async_transport)
                pool = self._apools[id(loop)] = Pool(http, loop)
            return pool

    @contextlib.contextmanager
    def _async_http(self) -> Iterator[httpx.AsyncClient]:
        """The running loop's pool, counted as in use until the block ends."""
        pool = self._pool()
        pool.users += 1  # only ever touched from the pool's own loop
        try:
            yield pool.http
        finally:
            pool.users -= 1

    async def _aclose_pool(self, *, only_idle: bool) -> int:
        import asyncio

        loop = asyncio.get_running_loop()
        with self._http_lock:
            pool = self._apools.get(id(loop))
            if pool is None or pool.loop() is not loop or (only_idle and pool.users):
                return 0
            del self._apools[id(loop)]
        await pool.http.aclose()
        return 1

    def __repr__(self) -> str:
        if not hasattr(self, "_apools"):  # a verbose traceback of a refused __init__
            return "Client(<not initialised>)"
        try:
            base = repr(self.base_url)
        except GrokError:
            base = "<invalid>"
        if self._api_key is not None:
            key = "given"
        else:
            key = "from environment" if find_api_key() else "missing"
        return (
            f"Client(base_url={base}, api_key={key}, timeout_s={self.timeout_s}, "
            f"max_retries={self.max_retries}, max_retry_after_s={self.max_retry_after_s:g})"
        )

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    async def aclose(self) -> None:
        """Close the sync pool and the running loop's async pool (other loops' pools
        stay theirs: ``close_idle_pools`` on each, or they go when their loop closes)."""
        self.close()
        await self._aclose_pool(only_idle=False)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- shared pieces -------------------------------------------------------------------

    def _route(self, body: dict[str, Any], conv_id: str | None) -> tuple[str, dict[str, Any]]:
        """Where a body goes: a Responses body to /responses, a chat body to
        /chat/completions unless this client speaks the Responses API."""
        if is_responses_body(body):
            return RESPONSES_PATH, body
        if self.api == "responses":
            return RESPONSES_PATH, responses_body(body, conv_id=conv_id)
        return CHAT_PATH, body

    def _start(
        self, path: str, body: dict[str, Any] | None = None, schema: Any = None,
        conv_id: str | None = None,
    ) -> Call:  # fmt: skip
        call = Call(
            self.base_url + path, self._secret(), body or {}, schema, self.timeout_s, conv_id
        )
        if body is not None:
            logger.debug(
                "POST %s model=%s stream=%s", call.url, body.get("model"), bool(body.get("stream"))
            )
        return call

    # -- sync --------------------------------------------------------------------------

    def chat(
        self, body: dict[str, Any], *, on_delta: OnDelta | None = None, schema: Any = None,
        conv_id: str | None = None,
    ) -> Answer:  # fmt: skip
        """Send a chat request (streams when ``body["stream"]``); ``on_delta`` gets each
        piece of answer text as it arrives. A Responses body (``input``) goes to
        ``/responses``; ``conv_id`` routes to a warm prompt cache."""
        call = self._start(*self._route(body, conv_id), schema, conv_id)
        if body.get("stream"):
            return run(lambda: self._stream_once(call, on_delta), *self._retry(call))
        return run(lambda: self._post_once(call), *self._retry(call))

    def _retry(self, call: Call) -> tuple[RetryPolicy, Callable[[float], Any], str]:
        return self.retry_policy, self._sleep, call.host

    # The error is raised after the ``except`` block ends, so neither the low-level
    # exception nor raw response bytes linger in the frame's locals: a verbose
    # traceback (``%xmode Verbose``) of a grok_nb error shows no unredacted text.

    def _post_once(self, call: Call) -> Answer:
        import httpx

        state = call.new_state()
        try:
            response = self._sync_http().post(
                call.url, json=call.body, headers=call.headers, timeout=self._timeout()
            )
            call.request_id = response.headers.get("x-request-id")
            if response.status_code >= 400:
                raise call.status_error(response)
            state.add_completion(call.json(response))
            return call.finish(state, None)
        except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
            error = call.transport_error(exc, state)
        raise error

    def _stream_once(self, call: Call, on_delta: OnDelta | None) -> Answer:
        import httpx

        state = call.new_state()
        http = self._sync_http()
        try:
            with http.stream(
                "POST", call.url, json=call.body, headers=call.headers, timeout=self._timeout()
            ) as response:
                call.request_id = response.headers.get("x-request-id")
                if response.status_code >= 400:
                    response.read()
                    raise call.status_error(response)
                self._pump(response, call, state, on_delta)
            return call.end_of_stream(state)
        except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
            error = call.transport_error(exc, state)
        except KeyboardInterrupt as exc:
            exc.partial_answer = call.finish(state, "interrupted")  # type: ignore[attr-defined]
            raise
        raise error

    def _pump(
        self, response: httpx.Response, call: Call, state: StreamState, on_delta: OnDelta | None
    ) -> None:
        if "json" in response.headers.get("content-type", ""):
            response.read()  # an endpoint that ignored "stream": one whole completion
            call.whole(state, call.json(response), on_delta)
            return
        decoder = SSEDecoder()
        for chunk in response.iter_bytes():
            for event in decoder.feed(chunk):
                call.event(state, event, on_delta)
        for event in decoder.flush():
            call.event(state, event, on_delta)

    def _get_json(self, path: str) -> Any:
        import httpx

        call = self._start(path)

        def once() -> Any:
            try:
                response = self._sync_http().get(
                    call.url, headers=call.headers, timeout=self._timeout()
                )
                if response.status_code >= 400:
                    raise call.status_error(response)
                return call.json(response)
            except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
                error = call.transport_error(exc, StreamState())
            raise error

        return run(once, *self._retry(call))

    def models(self) -> list[str]:
        """Model ids from ``GET /models``."""
        return catalogue.model_ids(self._get_json("/models"))

    def language_models(self, *, refresh: bool = False) -> list[ModelPrice]:
        """Models with prices and a ``vision`` flag from ``GET /language-models``.

        Cached on disk for a day per base URL (``grok_nb.api.catalogue``); ``refresh=True``
        asks the server again. The prices are remembered for later estimates.
        """
        base = self.base_url
        payload = None if refresh else catalogue.read_cache(base)
        return catalogue.use_fetched(payload or self._get_json("/language-models"), base, payload)

    # -- async -------------------------------------------------------------------------

    async def _asleep(self, delay: float) -> None:
        if self._async_sleep is not None:
            await self._async_sleep(delay)
        else:
            import asyncio

            await asyncio.sleep(delay)

    async def achat(
        self, body: dict[str, Any], *, on_delta: OnDelta | None = None, schema: Any = None,
        conv_id: str | None = None,
    ) -> Answer:  # fmt: skip
        """``chat`` for ``await``; cancellation behaves like a kernel interrupt."""
        call = self._start(*self._route(body, conv_id), schema, conv_id)
        if body.get("stream"):
            return await arun(lambda: self._astream_once(call, on_delta), *self._aretry(call))
        return await arun(lambda: self._apost_once(call), *self._aretry(call))

    def _aretry(self, call: Call) -> tuple[RetryPolicy, Callable[[float], Awaitable[Any]], str]:
        return self.retry_policy, self._asleep, call.host

    async def _apost_once(self, call: Call) -> Answer:
        import httpx

        state = call.new_state()
        try:
            with self._async_http() as http:
                response = await http.post(
                    call.url, json=call.body, headers=call.headers, timeout=self._timeout()
                )
            call.request_id = response.headers.get("x-request-id")
            if response.status_code >= 400:
                raise call.status_error(response)
            state.add_completion(call.json(response))
            return call.finish(state, None)
        except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
            error = call.transport_error(exc, state)
        raise error

    async def _astream_once(self, call: Call, on_delta: OnDelta | None) -> Answer:
        import asyncio

        import httpx

        state = call.new_state()
        try:
            with self._async_http() as http:
                async with http.stream(
                    "POST", call.url, json=call.body, headers=call.headers,
                    timeout=self._timeout(),
                ) as response:  # fmt: skip
                    call.request_id = response.headers.get("x-request-id")
                    if response.status_code >= 400:
                        await response.aread()
                        raise call.status_error(response)
                    await self._apump(response, call, state, on_delta)
            return call.end_of_stream(state)
        except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
            error = call.transport_error(exc, state)
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            exc.partial_answer = call.finish(state, "interrupted")  # type: ignore[union-attr]
            raise
        raise error

    async def _apump(
        self, response: httpx.Response, call: Call, state: StreamState, on_delta: OnDelta | None
    ) -> None:
        if "json" in response.headers.get("content-type", ""):
            await response.aread()  # an endpoint that ignored "stream": one whole completion
            call.whole(state, call.json(response), on_delta)
            return
        decoder = SSEDecoder()
        async for chunk in response.aiter_bytes():
            for event in decoder.feed(chunk):
                call.event(state, event, on_delta)
        for event in decoder.flush():
            call.event(state, event, on_delta)

    async def _aget_json(self, path: str) -> Any:
        import httpx

        call = self._start(path)

        async def once() -> Any:
            try:
                with self._async_http() as http:
                    response = await http.get(
                        call.url, headers=call.headers, timeout=self._timeout()
                    )
                if response.status_code >= 400:
                    raise call.status_error(response)
                return call.json(response)
            except (httpx.TransportError, httpx.DecodingError, StreamBroken) as exc:
                error = call.transport_error(exc, StreamState())
            raise error

        return await arun(once, *self._aretry(call))

    async def amodels(self) -> list[str]:
        return catalogue.model_ids(await self._aget_json("/models"))

    async def alanguage_models(self, *, refresh: bool = False) -> list[ModelPrice]:
        base = self.base_url
        payload = None if refresh else catalogue.read_cache(base)
        fetched = payload or await self._aget_json("/language-models")
        return catalogue.use_fetched(fetched, base, payload)
