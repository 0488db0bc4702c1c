"""The HTTP server: stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread.

HTTP/1.1 with keep-alive; streamed answers use chunked transfer encoding so a
"reset" fault can drop the connection mid-body exactly as a broken network does.

The base URL is ``http://127.0.0.1:<port>/grok_nb-simulator/v1``: the path names the
simulator on the wire, so a cache key can give every simulator, on any port, one
identity that no real endpoint has (``grok_nb.cache.keys.normalise_base_url``). The
plain ``/v1/...`` routes are served too.

Nothing the server meets reaches ``sys.stderr``: a client that went away (a reset
fault, an interrupted call) is logged at debug level on ``grok_nb.simulator``, so an
in-kernel simulator never prints tracebacks into whichever notebook cell is running.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from grok_nb.errors import ConfigError
from grok_nb.simulator import responses
from grok_nb.simulator.batches import BatchStore
from grok_nb.simulator.catalog import language_models_payload, models_payload, resolve
from grok_nb.simulator.faults import (
    BAD_KEY_MESSAGE,
    RESHAPE_KINDS,
    Fault,
    FaultQueue,
    GzipGarbage,
    error_body,
)
from grok_nb.simulator.prompt_cache import PromptCache
from grok_nb.simulator.respond import USAGE_MODES, Reply, make_reply
from grok_nb.simulator.validate import SimError, parse_chat
from grok_nb.tiling import DEFAULT_RULE, get_rule

__all__ = ["Simulator", "serve"]

logger = logging.getLogger("grok_nb.simulator")
# a library's logger: silent unless the application configures logging (no last-resort
# printing to stderr, which in a kernel lands in the running cell)
logger.addHandler(logging.NullHandler())
MAX_BODY_BYTES = 64 * 1024 * 1024
# The first path segment of every simulator base URL; cache/keys.py recognises it.
PATH_PREFIX = "/grok_nb-simulator"
# A client that went away: expected with faults and interrupts, never a traceback.
_GONE = (ConnectionError, TimeoutError)


class _Stopped(Exception):
    """The simulator was stopped while a request waited: drop it without an answer."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stalled handlers must not hold up stop()
    sim: Simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints these tracebacks to stderr, which a kernel shows in a cell
        exc = sys.exc_info()[1]
        if isinstance(exc, _GONE):
            logger.debug("grok_nb simulator: client %s went away: %r", client_address, exc)
        else:
            logger.error("grok_nb simulator: error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "grok_nb-simulator"
    # small SSE writes must leave at once: with Nagle's algorithm each one can wait
    # ~40 ms for the client's delayed ACK
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after two minutes
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.sim._connections.add(self.connection)

    def finish(self) -> None:
        self.server.sim._connections.discard(self.connection)
        with suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY_BYTES:
                    raise SimError(413, "request body too large", "text")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise SimError(413, "request body too large", "text")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", self._request_id)
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        # recorded before the client can see the response end, so tests never race it
        self.server.sim._record(self.command, self._path, status)
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", {})

    def _reply(self, obj: Any, fault: Fault | None) -> None:
        """A 200 JSON reply, reshaped by a reply fault (``faults.RESHAPE_KINDS``)."""
        if fault is None or fault.kind not in RESHAPE_KINDS:
            self._json(200, obj)
            return
        body, extra = fault.reply_body(obj)
        self._send(200, body, "application/json", extra)

    def _error(self, status: int, message: str, shape: str = "xai", extra: Any = None) -> None:
        body, ctype = error_body(status, message, shape)
        self._send(status, body, ctype, extra or {})

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _wait(self, sim: Simulator, seconds: float) -> None:
        if sim._stop.wait(seconds):
            raise _Stopped

    def _drop_connection(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- routing -------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        sim = self.server.sim
        self._request_id = sim._next_id()
        path = self.path.split("?")[0].rstrip("/")
        if path.startswith(PATH_PREFIX + "/"):
            path = path[len(PATH_PREFIX) :]
        self._path = path  # the route, as the log records it
        try:
            raw = self._read_body() if self.command == "POST" else b""
            self._route(sim, path, raw)
        except SimError as exc:
            self._error(exc.status, exc.message, exc.shape)
        except _GONE:
            self.close_connection = True  # the client went away (a timeout, an interrupt)
        except _Stopped:
            self._drop_connection()
        except Exception as exc:  # a simulator bug must still answer, not hang the client
            logger.exception("grok_nb simulator failed on %s %s", self.command, path)
            self.close_connection = True
            with suppress(OSError):
                self._error(500, f"grok_nb simulator error: {type(exc).__name__}: {exc}")

    def _auth(self, sim: Simulator) -> None:
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SimError(401, "Missing or invalid Authorization header: expected `Bearer <key>`")
        if sim.api_key is not None and token.strip() != sim.api_key:
            raise SimError(400, BAD_KEY_MESSAGE)

    def _route(self, sim: Simulator, path: str, raw: bytes) -> None:
        routes = {
            ("GET", "/v1/models"): self._models,
            ("GET", "/v1/language-models"): self._language_models,
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/responses"): self._responses,
        }
        handler = routes.get((self.command, path))
        single = path.rsplit("/", 1)
        if handler is None and self.command == "GET" and single[0] in (
            "/v1/models", "/v1/language-models",
        ):  # fmt: skip
            handler = self._one_model
        if handler is None and (path + "/").startswith("/v1/batches/"):
            handler = self._batches  # the Batch API (simulator/batches.py)
        if handler is None:
            raise SimError(404, f"No handler for {self.command} {path} (grok_nb simulator)")
        self._auth(sim)
        fault = sim.faults.take(path)
        if fault is not None and self._early_fault(fault, sim):
            return
        if sim.latency_s:
            self._wait(sim, sim.latency_s)
        handler(sim, path, raw, fault)

    def _early_fault(self, fault: Fault, sim: Simulator) -> bool:
        """Faults that replace the response; ``True`` when the request is answered."""
        if fault.status is not None:
            extra = {}
            if fault.retry_after is not None:
                extra["Retry-After"] = f"{fault.retry_after:g}"
            self._error(fault.status, fault.error_message(), fault.shape, extra)
            return True
        if fault.kind == "stall" and fault.after_chunks == 0:
            self._wait(sim, fault.stall_s)
        return False

    def _models(self, sim: Simulator, path: str, raw: bytes, fault: Fault | None) -> None:
        self._reply(models_payload(), fault)

    def _language_models(self, sim: Simulator, path: str, raw: bytes, fault: Fault | None) -> None:
        self._reply(language_models_payload(), fault)

    def _one_model(self, sim: Simulator, path: str, raw: bytes, fault: Fault | None) -> None:
        model = resolve(path.rsplit("/", 1)[1])
        if model is None:
            raise SimError(404, f"The model {path.rsplit('/', 1)[1]} does not exist")
        entry = model.language_model()
        if path.startswith("/v1/models"):
            entry = {k: entry[k] for k in ("id", "created", "object", "owned_by")}
        self._json(200, entry)

    def _batches(self, sim: Simulator, path: str, raw: bytes, fault: Fault | None) -> None:
        target = self.path
        if target.startswith(PATH_PREFIX + "/"):  # the simulator's identity, not a route
            target = target[len(PATH_PREFIX) :]
        reply = sim.batches.handle(self.command, target, raw, sim.rule)
        if fault is not None and fault.kind == "reset":  # done, but the reply is lost
            sim._record(self.command, self.path, 0)
            self._drop_connection()
            return
        self._json(200, reply)

    def _chat(self, sim: Simulator, path: str, raw: bytes, fault: Fault | None) -> None:
        with suppress(ValueError):
            sim._remember(json.loads(raw))
        chat = parse_chat(raw, self.headers.get("Content-Type"), sim.rule)
        sim.prompt_cache.apply(chat, self.headers.get("x-grok-conv-id"))
        reply = make_reply(chat, sim.rule, sim._next_number())
        with sim._lock:
            sim.usages.append(reply.usage())  # what this reply bills, for tests to compare
        if not chat.stream:
            if fault is not None and fault.kind == "stall" and fault.after_chunks:
                self._wait(sim, fault.stall_s)
            if fault is not None and fault.kind in ("reset", "truncate"):
                sim._record(self.command, self._path, 0)
                self._drop_connection()  # no response at all
                return
            if fault is not None and fault.kind == "malformed":
                self._send(200, fault.malformed_body(), "application/json", {})
                return
            self._reply(reply.completion(sim.usage_mode), fault)
            return
        self._stream(sim, reply, fault)

    def _responses(self, sim: Simulator, path: str, raw: bytes, fault: Fault | None) -> None:
        with suppress(ValueError):
            sim._remember(json.loads(raw))
        responses.handle(self, sim, raw, fault)

    def _stream(self, sim: Simulator, reply: Reply, fault: Fault | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", self._request_id)
        gzip = None
        if fault is not None and fault.kind == "bad_gzip":
            gzip = GzipGarbage(fault.after_chunks or 0)
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        payloads = reply.stream_payloads(sim.usage_mode)
        delay = 1.0 / sim.tokens_per_s if sim.tokens_per_s else 0.0
        at = fault.after_chunks if fault is not None else None
        if fault is not None and fault.kind == "stall" and at == 0:
            at = None  # already stalled before the response began
        for n, payload in enumerate(payloads):
            if fault is not None and n == at and n < len(reply.pieces):
                if fault.kind == "reset":
                    sim._record(self.command, self._path, 0)
                    self._drop_connection()
                    return
                if fault.kind == "truncate":
                    break
                if fault.kind == "malformed":
                    self._write_chunk(fault.malformed_event())
                elif fault.kind == "error_event":
                    self._write_chunk(fault.error_event())
                elif fault.kind == "stall":
                    self._wait(sim, fault.stall_s)
                elif fault.kind in RESHAPE_KINDS:
                    payload = fault.reshape(payload)
            data = f"data: {payload}\n\n".encode()
            self._write_chunk(gzip.encode(data) if gzip is not None else data)
            if delay and n < len(reply.pieces):
                time.sleep(delay)
        sim._record(self.command, self._path, 200)
        self._write_chunk(b"")  # the zero-length chunk ends the body


class Simulator:
    """A running simulator: ``base_url``, received ``requests``, ``inject``, ``stats``."""

    def __init__(
        self,
        *,
        port: int = 0,
        rule: str = DEFAULT_RULE,
        latency_s: float = 0.0,
        faults: list[Fault | str] | None = None,
        api_key: str | None = None,
        usage_mode: str = "final",
        tokens_per_s: float | None = None,
    ) -> None:
        if usage_mode not in USAGE_MODES:
            raise ConfigError(f"usage_mode must be one of {', '.join(USAGE_MODES)}")
        self.rule = get_rule(rule).name
        self.latency_s = latency_s
        self.api_key = api_key
        self.usage_mode = usage_mode
        self.tokens_per_s = tokens_per_s
        self.faults = FaultQueue()
        self.batches = BatchStore()  # the Batch API's state and knobs (simulator/batches.py)
        self.usages: list[dict[str, Any]] = []
        self.prompt_cache = PromptCache()  # per conversation id: prompts seen
        self.requests: list[Any] = []  # chat request bodies as received (parsed JSON)
        self.log: list[tuple[str, str, int]] = []  # (method, path, status); 0: dropped
        self._lock = threading.Lock()
        self._count = 0
        self._stop = threading.Event()
        for f in faults or ():
            self.inject(f)
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", port), _Handler)  # loopback only, always
        self._server.sim = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH_PREFIX}/v1"

    def inject(self, fault: Fault | str, **options: Any) -> Fault:
        """Queue a fault for a coming request: ``inject("429", retry_after=2)``."""
        if isinstance(fault, str):
            fault = Fault.parse(fault) if ":" in fault else Fault(fault, **options)
        self.faults.add(fault)
        return fault

    @property
    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_status: dict[int, int] = {}
            for _, _, status in self.log:
                by_status[status] = by_status.get(status, 0) + 1
            return {
                "requests": len(self.log),
                "chat_requests": len(self.requests),
                "by_status": by_status,
                "faults_fired": len(self.faults.fired),
                "faults_pending": len(self.faults.pending()),
            }

    @property
    def running(self) -> bool:
        """Listening now: started and not yet stopped."""
        return self._thread is not None and not self._stop.is_set()

    def start(self) -> Simulator:
        """Serve in a background thread (returns at once; again is a no-op)."""
        if self._thread is not None or self._stop.is_set():
            if self._stop.is_set():
                raise ConfigError("this simulator was stopped; start a new one with serve()")
            return self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"grok_nb-simulator-{self.port}",
        )  # fmt: skip
        self._thread.start()
        logger.info("grok_nb simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop listening and close open connections (stalled handlers wake up too).

        Safe to call again, and on a simulator that was never started.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        for conn in list(self._connections):
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<grok_nb simulator {self.base_url} rule={self.rule} usage={self.usage_mode}>"

    # -- used by the handler ---------------------------------------------------------

    def _next_id(self) -> str:
        with self._lock:
            self._count += 1
            return f"sim-req-{self._count:06d}"

    def _next_number(self) -> int:
        with self._lock:
            return len(self.requests)

    def _remember(self, body: Any) -> None:
        with self._lock:
            self.requests.append(body)

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((method, path, status))


def serve(
    port: int = 0,
    rule: str = DEFAULT_RULE,
    latency_s: float = 0.0,
    faults: list[Fault | str] | None = None,
    api_key: str | None = None,
    usage_mode: str = "final",
    tokens_per_s: float | None = None,
) -> Simulator:
    """A running simulator, for a ``with`` block or across notebook cells.

    ``with serve() as sim: ...`` stops it when the block ends; ``sim = serve()`` keeps it
    running until ``sim.stop()`` (or the process exits: its thread is a daemon).
    """
    sim = Simulator(
        port=port, rule=rule, latency_s=latency_s, faults=faults, api_key=api_key,
        usage_mode=usage_mode, tokens_per_s=tokens_per_s,
    )  # fmt: skip
    return sim.start()
