"""``Chat``: a chat panel in the notebook; drop, paste or pick images, stream the answer.

The widget is an anywidget. Everything the user sees change while typing or attaching
(each image's tile grid, the next message's tokens and cost) is computed in the browser
by ``js/chat_estimate.js`` on ``js/tiles.js`` and ``js/usd.js``, with no kernel round
trip; ``chat_turns.panel_context`` gives it the conversation so far.

Bytes only cross as bytes: dropped files reach the kernel as a custom message's binary
buffer, kernel-added thumbnails as bytes inside the ``pending`` trait (ipywidgets sends
them as buffers; JS sees a ``DataView``). Answers stream as one small ``delta`` message
per piece of text, never the whole text again; the finished turn lands in ``transcript``.

Saved widget state stays small: the panel's own ``_esm`` is a tiny loader; the real
JS and CSS live once per kernel in a shared ``ChatAssets`` model it reaches through
``_assets``. Without a widget front end (nbconvert, GitHub) the mimebundle carries the
transcript with its footers as HTML and plain text (``chat_static``).
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets as t

from grok_nb.api.credentials import resolve_base_url
from grok_nb.conversation import Conversation
from grok_nb.errors import ConfigError, GrokError
from grok_nb.images import MAX_FILE_MB
from grok_nb.images.sources import check_file_size
from grok_nb.notebook import chat_static
from grok_nb.notebook.chat_turns import (
    PendingImage,
    TurnResult,
    from_browser,
    from_kernel,
    panel_context,
    price_entry,
    run_turn,
)
from grok_nb.pricing import FALLBACK_PRICES
from grok_nb.redact import redact
from grok_nb.rules import rule_in_force
from grok_nb.settings import resolve_options
from grok_nb.tiling import DETAILS, RULES, get_rule

__all__ = ["Chat", "ChatAssets"]

JS_DIR = Path(__file__).resolve().parent / "js"
# the modules the loader imports from Blob URLs (anywidget loads _esm from one too, so a
# relative import has nothing to resolve against)
ASSET_FILES = {
    "chat_js": "chat.js",
    "tiles_js": "tiles.js",
    "usd_js": "usd.js",
    "estimate_js": "chat_estimate.js",
    "markdown_js": "markdown.js",
    "css": "chat.css",
}


class ChatAssets(ipywidgets.Widget):
    """The chat panel's JS and CSS, once per kernel, shared by every ``Chat``."""

    chat_js = t.Unicode("").tag(sync=True)
    tiles_js = t.Unicode("").tag(sync=True)
    usd_js = t.Unicode("").tag(sync=True)
    estimate_js = t.Unicode("").tag(sync=True)
    markdown_js = t.Unicode("").tag(sync=True)
    css = t.Unicode("").tag(sync=True)

    def __init__(self) -> None:
        texts = {k: (JS_DIR / f).read_text(encoding="utf-8") for k, f in ASSET_FILES.items()}
        super().__init__(**texts)


_shared: ChatAssets | None = None
_shared_lock = threading.Lock()


def shared_assets() -> ChatAssets:
    """The kernel's one ``ChatAssets`` (made again if it was closed)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.comm is None:
            _shared = ChatAssets()
        return _shared


def _rule_entry(name: str) -> dict[str, Any]:
    return RULES[name].to_dict()


_ids = itertools.count(1)


class Chat(anywidget.AnyWidget):
    """A chat about images. ``chat.conversation`` is the ``grok_nb.Conversation``;
    ``chat.add(img)`` attaches a kernel image; ``chat.send(text)`` sends from Python;
    ``chat.to_cells()`` gives the exchange as ``%%grokvision`` cells."""

    _esm = JS_DIR / "chat_boot.js"
    _assets = t.Instance(ChatAssets).tag(sync=True, **ipywidgets.widget_serialization)

    model = t.Unicode("").tag(sync=True)
    models = t.List(t.Dict()).tag(sync=True)
    detail = t.Unicode("high").tag(sync=True)
    rule = t.Unicode("").tag(sync=True)
    rules = t.List(t.Dict()).tag(sync=True)
    context = t.Dict().tag(sync=True)
    pending = t.List(t.Dict(), help="images for the next message").tag(sync=True)
    transcript = t.List(t.Dict(), help="finished turns, with footers").tag(sync=True)
    streaming = t.Bool(False).tag(sync=True)
    error = t.Unicode("", help="the last refusal or failure, shown in the panel").tag(sync=True)
    error_kind = t.Unicode("").tag(sync=True)
    total_usd = t.Float(0.0).tag(sync=True)
    max_file_mb = t.Float(None, allow_none=True).tag(sync=True)
    cells_text = t.Unicode("", help="to_cells(), for the copy button").tag(sync=True)
    name = t.Unicode("chat", help="the variable to_cells() refers to").tag(sync=True)

    def __init__(
        self,
        model: str | None = None,
        *,
        name: str = "chat",
        max_file_mb: float | None = MAX_FILE_MB,
        **options: Any,
    ) -> None:
        opts = resolve_options(model=model, **options)  # an unknown option fails here
        chosen = opts["model"]
        endpoint = resolve_base_url(opts["base_url"])
        rule = rule_in_force(model=chosen, endpoint=endpoint, explicit=options.get("tile_rule"))
        names = [m for m, p in FALLBACK_PRICES.items() if p.vision]
        if chosen not in names:
            names.append(chosen)
        self.conversation = Conversation(
            options={k: v for k, v in options.items() if v is not None}
        )
        self._pending: list[PendingImage] = []
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._turn = 0
        self.images: list[Any] = []  # every image sent, in order: what to_cells() names
        super().__init__(
            _assets=shared_assets(),
            model=chosen,
            models=[price_entry(n) for n in names],
            detail=options.get("detail") or opts["detail"],
            rule=rule.name,
            rules=[_rule_entry(n) for n in RULES],
            max_file_mb=max_file_mb,
            name=name,
        )
        self._refresh_context()
        self.on_msg(self._on_panel_msg)

    # validation: the same ConfigError whether set from Python or the browser

    @t.validate("detail")
    def _valid_detail(self, proposal: Any) -> str:
        if proposal["value"] not in DETAILS:
            raise ConfigError(f"detail must be one of {', '.join(DETAILS)}")
        return str(proposal["value"])

    @t.validate("rule")
    def _valid_rule(self, proposal: Any) -> str:
        return get_rule(proposal["value"]).name

    @t.observe("model")
    def _model_listed(self, change: Any) -> None:
        if all(m["name"] != change["new"] for m in self.models):
            self.models = [*self.models, price_entry(change["new"])]
        self._refresh_context()

    def turn_options(self) -> dict[str, Any]:
        """The options the next message is sent with: the panel's controls win."""
        return {**self.conversation.options, "model": self.model, "detail": self.detail,
                "tile_rule": self.rule}  # fmt: skip

    def _refresh_context(self) -> None:
        self.context = panel_context(self.conversation, self.turn_options())
        self.total_usd = self.conversation.cost_usd
        self.cells_text = chat_static.cells_text(self.to_cells())

    # images

    def add(self, image: Any, name: str | None = None) -> None:
        """Attach a kernel image (figure, PIL image, array, path ...) to the next message."""
        item = from_kernel(f"k{next(_ids)}", image, name, self.turn_options())
        self._pending.append(item)
        self._sync_pending()

    def _sync_pending(self) -> None:
        self.pending = [p.to_json() for p in self._pending]

    def _attach(self, content: dict[str, Any], buffers: list[Any]) -> None:
        image_id, name = str(content.get("id", "")), str(content.get("name") or "image")
        try:
            if content.get("type") == "too_big":
                # refused in the browser before sending the bytes; the words are Python's
                check_file_size(int(content.get("size", 0)), name, name, self.max_file_mb)
            data = bytes(buffers[0]) if buffers else b""
            item = from_browser(image_id, name, data, self.turn_options(), self.max_file_mb)
        except GrokError as exc:
            self._show_error(str(exc), "image")
            self.send({"type": "attach_error", "id": image_id, "message": redact(str(exc))})
            return
        self._pending.append(item)
        self._sync_pending()

    def remove(self, image_id: str) -> None:
        """Drop a pending image."""
        self._pending = [p for p in self._pending if p.id != image_id]
        self._sync_pending()

    # messages from the browser

    def _on_panel_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind in ("attach", "too_big"):
            self._attach(content, buffers)
        elif kind == "remove":
            self.remove(str(content.get("id", "")))
        elif kind == "send":
            self.send_message(str(content.get("text", "")))
        elif kind == "stop":
            self.stop()
        elif kind == "dismiss":
            self.error = ""

    def _show_error(self, message: str, kind: str) -> None:
        self.error_kind = kind
        self.error = redact(message)

    # one turn, on a worker thread so the kernel stays free and Stop can reach it

    def send_message(self, text: str) -> bool:
        """Send ``text`` with the pending images; returns False if a reply is streaming."""
        text = text.strip()  # as a %%grokvision cell body is: to_cells() replays it exactly
        if self._worker is not None and self._worker.is_alive():
            self._show_error("an answer is still streaming: stop it or wait", "busy")
            return False
        if not text.strip() and not self._pending:
            return False
        self._turn += 1
        self._stop.clear()
        self.error = ""
        self.streaming = True
        images = list(self._pending)
        shown = [{"id": i.id, "name": i.name, "width": i.width, "height": i.height} for i in images]
        self.send({"type": "start", "turn": self._turn, "text": text, "images": shown})
        self._worker = threading.Thread(
            target=self._run, args=(self._turn, text, images, self.turn_options()), daemon=True
        )
        self._worker.start()
        return True

    def _run(self, turn: int, text: str, images: list[PendingImage], opts: dict[str, Any]) -> None:
        def on_delta(piece: str) -> None:
            if piece:
                self.send({"type": "delta", "turn": turn, "text": piece})

        result = run_turn(self.conversation, text, images, opts, on_delta, self._stop)
        self._finish(turn, text, images, result)

    def _finish(self, turn: int, text: str, images: list[PendingImage], result: TurnResult) -> None:
        if result.status in ("done", "stopped"):
            sent = {id(p) for p in images}
            self._pending = [p for p in self._pending if id(p) not in sent]
            self.images.extend(p.source.source for p in images)
            entry = _entry(turn, text, result, self.model, self.detail, self.rule)
            with self.hold_sync():
                self.transcript = [*self.transcript, entry]
                self._sync_pending()
                self._refresh_context()
                self.streaming = False
        else:
            with self.hold_sync():
                self._show_error(result.message, result.status)
                self.streaming = False
        self.send({"type": "end", "turn": turn, "status": result.status, "text": text})

    def stop(self) -> None:
        """Stop the streaming reply; the text so far is kept, marked as stopped. Takes
        effect at the next piece of text (a server still thinking is waited for)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current reply has finished (for scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)

    # cells and display

    def to_cells(self, markdown: bool = False) -> list[dict[str, str]]:
        """The exchange as notebook cells: ``%%grokvision`` code cells (the first asks,
        the rest ``--continue``; images named ``chat.images[i]``), or Markdown."""
        return chat_static.to_cells(self.transcript, self.name, markdown=markdown)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        static = chat_static.transcript_bundle(self.transcript, self.total_usd)
        if bundle is None:
            return static
        data, metadata = bundle
        return {**data, **static}, metadata

    def __repr__(self) -> str:
        turns = len(self.transcript)
        return f"<grok_nb.Chat {turns} turn{'s' if turns != 1 else ''}, model={self.model}>"


def _entry(
    turn: int, text: str, result: TurnResult, model: str, detail: str, rule: str
) -> dict[str, Any]:
    answer = result.answer
    return {
        "turn": turn,
        "prompt": text,
        "images": result.images,
        "answer": "" if answer is None else answer.text,
        "footer": result.footer,
        "status": result.status,
        "model": model,
        "detail": detail,
        "rule": rule,
    }
