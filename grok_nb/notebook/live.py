"""A streamed answer in one output area, with display cost linear in its length.

Every update of a display handle re-sends the whole view, so updating the whole
answer 20 times a second costs (answer length × updates): a 5 MB answer moved half
a gigabyte of display messages. Three rules keep the bytes linear, and the output
area stays one output whose final state is exactly the normal answer view:

* at most ``MAX_UPDATES_PER_S`` updates a second (a person sees it as live);
* the live view is the answer while it is short; past ``LIVE_VIEW_CHARS`` it is the
  newest part (from a line start, a cut code block re-opened) under a line saying
  how much is above; ``finish`` then shows the whole answer once;
* a view longer than ``SMALL_VIEW_CHARS`` is refreshed only once the answer has grown
  by ``1 / REFRESH_GROWTH`` of the view since the last refresh, so all the refreshes
  together send at most ``REFRESH_GROWTH`` × the answer (plus a small constant),
  however the tokens are timed.

While streaming, ``text/plain`` is a one-line status (a terminal prints every
update); the final view carries the full text in both Markdown and plain text.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from typing import Any

__all__ = ["LIVE_VIEW_CHARS", "MAX_UPDATES_PER_S", "LiveMarkdown"]

MAX_UPDATES_PER_S = 20
LIVE_VIEW_CHARS = 4_000  # longest live view: about a screen of Markdown
SMALL_VIEW_CHARS = 1_000  # views up to this long refresh at the full rate
REFRESH_GROWTH = 4  # a longer view waits for the answer to grow by a quarter of it
CURSOR = " ▍"
_FENCE_CHARS = ("`", "~")


class _Fences:
    """Where fenced code blocks open and close, found line by line as text arrives."""

    def __init__(self) -> None:
        self.starts: list[int] = []  # offsets of lines that open or close a fence
        self.openers: list[str | None] = []  # the opening line, or None for a close
        self._line: list[str] = []
        self._offset = 0  # where the current (unfinished) line starts
        self._open: str | None = None

    def feed(self, delta: str) -> None:
        start = 0
        while (end := delta.find("\n", start)) >= 0:
            self._line.append(delta[start:end])
            line = "".join(self._line)
            self._line.clear()
            self._check(line)
            self._offset += len(line) + 1
            start = end + 1
        if start < len(delta):
            self._line.append(delta[start:])

    def _check(self, line: str) -> None:
        body = line.lstrip(" ")
        if len(line) - len(body) > 3 or not body.startswith(("```", "~~~")):
            return
        mark = body[0]
        run = len(body) - len(body.lstrip(mark))
        if self._open is None:
            self._open = line
            self.starts.append(self._offset)
            self.openers.append(line.strip())
            return
        opener = self._open.lstrip(" ")
        opened_run = len(opener) - len(opener.lstrip(opener[0]))
        if mark == opener[0] and run >= opened_run and not body[run:].strip():
            self._open = None
            self.starts.append(self._offset)
            self.openers.append(None)

    def open_at(self, offset: int) -> str | None:
        """The opening line of the code block ``offset`` falls in, if any."""
        i = bisect.bisect_right(self.starts, offset - 1)
        return self.openers[i - 1] if i else None


class LiveMarkdown:
    """Shows growing Markdown through one display handle; ``finish`` shows the final view."""

    def __init__(
        self,
        *,
        max_updates_per_s: float = MAX_UPDATES_PER_S,
        clock: Callable[[], float] = time.monotonic,
        display_fn: Callable[..., Any] | None = None,
        view_chars: int = LIVE_VIEW_CHARS,
    ) -> None:
        from IPython.display import display

        self._display = display_fn or display
        self._interval = 1.0 / max_updates_per_s if max_updates_per_s > 0 else 0.0
        self._clock = clock
        self._view_chars = max(SMALL_VIEW_CHARS, view_chars)
        self._parts: list[str] = []
        self._length = 0
        self._fences = _Fences()
        self._last = float("-inf")
        self._shown_at = 0  # the answer's length at the last refresh
        self._shown_size = 0  # ... and the size of the view shown then
        self._handle: Any = None
        self.updates = 0

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def _show(self, bundle: dict[str, Any]) -> None:
        self.updates += 1
        if self._handle is None:
            self._handle = self._display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def _tail(self, chars: int) -> str:
        picked: list[str] = []
        size = 0
        for part in reversed(self._parts):
            picked.append(part)
            size += len(part)
            if size >= chars:
                break
        return "".join(reversed(picked))[-chars:]

    def _view(self) -> str:
        if self._length <= self._view_chars:
            return self.text
        tail = self._tail(self._view_chars)
        newline = tail.find("\n")
        if 0 <= newline < len(tail) // 2:
            tail = tail[newline + 1 :]  # start at a line, not mid-word
        cut = self._length - len(tail)
        opener = self._fences.open_at(cut)
        if opener is not None:
            tail = f"{opener}\n{tail}"
        return f"*… {cut:,} characters above; the whole answer shows when it finishes …*\n\n{tail}"

    def _due(self) -> bool:
        if self._clock() - self._last < self._interval:
            return False
        if self._length <= SMALL_VIEW_CHARS:
            return True
        return (self._length - self._shown_at) * REFRESH_GROWTH >= self._shown_size

    def __call__(self, delta: str) -> None:
        if not delta:
            return
        self._parts.append(delta)
        self._length += len(delta)
        self._fences.feed(delta)
        if not self._due():
            return
        self._last = self._clock()
        view = self._view()
        self._shown_at, self._shown_size = self._length, len(view)
        status = f"(streaming: {self._length:,} characters so far)"
        self._show({"text/markdown": view + CURSOR, "text/plain": status})

    def finish(self, bundle: dict[str, Any]) -> None:
        self._show(bundle)
