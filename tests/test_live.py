"""Streamed answers update the display at most 20 times a second."""

from __future__ import annotations

from typing import Any

from grok_nb.notebook.live import LiveMarkdown


class FakeHandle:
    def __init__(self, log: list[dict[str, Any]]) -> None:
        self.log = log

    def update(self, bundle: dict[str, Any], raw: bool = False) -> None:
        self.log.append(bundle)


def test_updates_are_throttled_and_final_view_is_complete() -> None:
    log: list[dict[str, Any]] = []
    now = [0.0]

    def display(bundle: dict[str, Any], raw: bool = False, display_id: bool = False) -> FakeHandle:
        log.append(bundle)
        return FakeHandle(log)

    live = LiveMarkdown(clock=lambda: now[0], display_fn=display)
    for _ in range(200):  # a short answer: 200 tokens over 2 simulated seconds
        live("tok ")
        now[0] += 0.01
    live.finish({"text/markdown": live.text, "text/plain": live.text})
    assert 40 <= live.updates <= 42  # 20/s for 2 s, plus the final view
    assert log[-1]["text/markdown"] == "tok " * 200
    assert log[-2]["text/markdown"].startswith("tok " * 190)
