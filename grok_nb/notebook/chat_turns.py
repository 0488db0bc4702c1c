"""The chat panel's kernel side, without the widget: pending images and one turn.

``grok_nb.notebook.chat.Chat`` is the anywidget; this module holds what it decides,
so it can be read (and tested) apart from the front end:

- ``PendingImage``: an image waiting for the next message, prepared at once through
  the same path every source takes (``preparing.prepare_sources``), so an undecodable
  or oversized drop fails with the usual ``ImageError`` while the user is still looking;
- ``run_turn``: plan the message with the ``Conversation`` (``calls.plan_call``), send
  it (``calls.send``: cache, budget cap, client, ledger) streaming each delta to a
  callback, and stop when asked, keeping the partial answer the client attaches;
- ``panel_context``: the numbers ``js/chat_estimate.js`` needs to price the next
  message in the browser exactly as ``grok_nb.estimate`` would.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from grok_nb.answer import Answer
from grok_nb.api.credentials import resolve_base_url
from grok_nb.calls import send
from grok_nb.conversation import Conversation
from grok_nb.errors import BudgetExceeded, GrokError, ImageError
from grok_nb.estimate import CHARS_PER_TOKEN, message_chars
from grok_nb.images import MAX_FILE_MB, load_image
from grok_nb.images.sources import check_file_size
from grok_nb.preparing import Labelled, prepare_sources
from grok_nb.pricing import LONG_CONTEXT_FACTOR, LONG_CONTEXT_TOKENS, price_for
from grok_nb.redact import redact
from grok_nb.render import answer_footer
from grok_nb.settings import resolve_options

__all__ = [
    "ChatStopped",
    "PendingImage",
    "TurnResult",
    "from_browser",
    "from_kernel",
    "panel_context",
    "price_entry",
    "run_turn",
]

PREVIEW_PX = 256  # long side of the thumbnail a kernel-added image shows in the panel


class ChatStopped(KeyboardInterrupt):
    """Raised inside ``on_delta`` when Stop is pressed. A ``KeyboardInterrupt`` on purpose:
    the client closes the stream and re-raises it with ``.partial_answer`` attached."""


@dataclass
class PendingImage:
    """An image attached to the next message; ``source`` is what ``plan_call`` gets."""

    id: str
    name: str
    source: Labelled
    width: int
    height: int
    tokens: int  # the kernel's plan when attached (the browser replans on every change)
    origin: str  # "browser" (drop, paste, picker) or "kernel" (chat.add)
    preview: bytes = b""  # kernel-added images only: the browser has its own pixels
    preview_mime: str = "image/png"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "tokens": self.tokens,
            "origin": self.origin,
            "preview": self.preview or None,  # bytes: ipywidgets sends a binary buffer
            "preview_mime": self.preview_mime,
        }


def _prepare(item: Labelled, options: dict[str, Any]) -> tuple[int, int, int]:
    """Prepare ``item`` as the next call will (same memo): its size and tokens."""
    opts = resolve_options(**options)
    found = prepare_sources([item], opts, resolve_base_url(opts["base_url"]), options)
    if len(found) != 1 or found[0].plan is None:
        raise ImageError(item.label or "image", "did not give exactly one measurable image")
    plan = found[0].plan
    return plan.width, plan.height, plan.tokens


def from_browser(
    image_id: str,
    name: str,
    data: bytes,
    options: dict[str, Any],
    max_file_mb: float | None = MAX_FILE_MB,
) -> PendingImage:
    """A dropped, pasted or picked file: its bytes, checked and prepared like any file."""
    name = name or "image"
    check_file_size(len(data), name, name, max_file_mb)
    if not data:
        raise ImageError(name, "empty file (0 bytes)")
    item = Labelled(bytes(data), name)
    width, height, tokens = _prepare(item, options)
    return PendingImage(image_id, name, item, width, height, tokens, "browser")


def from_kernel(image_id: str, obj: Any, name: str | None, options: dict[str, Any]) -> PendingImage:
    """``chat.add(obj)``: a figure, PIL image, array, file ... frozen as pixels now, so a
    figure drawn on later is sent as it looked when it was added."""
    from PIL import Image  # Pillow is slow to import; only kernel-added images need it

    img, label, _notes = load_image(obj)
    name = name or label or "image"
    item = Labelled(img, name)
    width, height, tokens = _prepare(item, options)
    thumb = img.copy()
    thumb.thumbnail((PREVIEW_PX, PREVIEW_PX), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.convert("RGBA" if "A" in thumb.mode else "RGB").save(buf, format="PNG")
    return PendingImage(image_id, name, item, width, height, tokens, "kernel", buf.getvalue())


def price_entry(model: str) -> dict[str, Any]:
    """A model's prices as ``js/chat_estimate.js`` reads them (``price`` null: unknown)."""
    p = price_for(model)
    price = None
    if p is not None:
        price = {
            "prompt": p.prompt,
            "cached_prompt": p.cached_prompt,
            "completion": p.completion,
            "image": p.image,
        }
    return {"name": model, "price": price}


def panel_context(conversation: Conversation, options: dict[str, Any]) -> dict[str, Any]:
    """What the browser adds its prompt and images to: the conversation so far."""
    opts = resolve_options(**options)
    system = [{"role": "system", "content": opts["system"]}] if opts["system"] else []
    return {
        "history_chars": message_chars(conversation.messages),
        "history_image_tokens": sum(p.tokens for p in conversation.plans),
        "system_chars": message_chars(system),
        "max_tokens": opts["max_tokens"],
        "chars_per_token": CHARS_PER_TOKEN,
        "long_context_tokens": LONG_CONTEXT_TOKENS,
        "long_context_factor": LONG_CONTEXT_FACTOR,
    }


@dataclass
class TurnResult:
    """How one turn ended: ``status`` is "done", "stopped", "refused" or "error"."""

    status: str
    answer: Answer | None = None
    message: str = ""
    footer: str = ""
    images: list[dict[str, Any]] = field(default_factory=list)


def _panel_message(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, GrokError) else f"{type(exc).__name__}: {exc}"
    return redact(text)


def run_turn(
    conversation: Conversation,
    text: str,
    images: Sequence[PendingImage],
    options: dict[str, Any],
    on_delta: Callable[[str], None],
    stop: threading.Event,
) -> TurnResult:
    """Plan, send and record one message. Never raises a ``GrokError``: refusals (the
    cost cap) and failures come back as the result the panel shows."""

    seen: list[str] = []

    def delta(piece: str) -> None:
        # show ``piece``, then stop: what is kept is exactly what the panel showed (the
        # client holds back the last characters of a stream until the next piece)
        seen.append(piece)
        on_delta(piece)
        if stop.is_set():
            raise ChatStopped("stopped from the chat panel")

    shown = [{"id": i.id, "name": i.name, "width": i.width, "height": i.height} for i in images]
    try:
        call = conversation.plan(text, [i.source for i in images], **options)
        answer = send(call, on_delta=delta)
    except BudgetExceeded as exc:
        return TurnResult("refused", message=_panel_message(exc), images=shown)
    except ChatStopped as exc:
        partial: Answer | None = getattr(exc, "partial_answer", None)
        if partial is None:  # stopped while a cached answer was replayed: nothing to keep
            return TurnResult("error", message="stopped before the answer began", images=shown)
        partial.text = "".join(seen)
        conversation.record(call, partial)
        return TurnResult("stopped", partial, footer=answer_footer(partial), images=shown)
    except Exception as exc:  # shown in the panel: a worker thread has nobody to raise to
        return TurnResult("error", message=_panel_message(exc), images=shown)
    conversation.record(call, answer)
    return TurnResult("done", answer, footer=answer_footer(answer), images=shown)
