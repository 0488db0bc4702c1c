"""A streamed answer in one output area, updated at most ``MAX_UPDATES_PER_S`` times.

Sending an update per token floods the front end (and the saved notebook's history
of messages); a 20 Hz cap looks live to a person and costs a fraction of the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_UPDATES_PER_S", "LiveMarkdown"]

MAX_UPDATES_PER_S = 20
CURSOR = " ▍"


class LiveMarkdown:
    """Shows growing Markdown through one display handle; ``finish`` shows the final view."""

    def __init__(
        self,
        *,
        max_updates_per_s: float = MAX_UPDATES_PER_S,
        clock: Callable[[], float] = time.monotonic,
        display_fn: Callable[..., Any] | None = None,
    ) -> None:
        from IPython.display import display

        self._display = display_fn or display
        self._interval = 1.0 / max_updates_per_s if max_updates_per_s > 0 else 0.0
        self._clock = clock
        self._parts: list[str] = []
        self._last = float("-inf")
        self._handle: Any = None
        self.updates = 0

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def _show(self, bundle: dict[str, Any]) -> None:
        self.updates += 1
        if self._handle is None:
            self._handle = self._display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def __call__(self, delta: str) -> None:
        self._parts.append(delta)
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            text = self.text
            self._show({"text/markdown": text + CURSOR, "text/plain": text})

    def finish(self, bundle: dict[str, Any]) -> None:
        self._show(bundle)
