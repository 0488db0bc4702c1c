"""Display bytes sent while a long answer streams: the old live view vs the new one.

The old view updated one display handle with the whole Markdown (and the whole text
again as text/plain) up to 20 times a second, so its bytes grow with the square of
the answer. The new one (grok_nb.notebook.live) caps the live view and refreshes a
long view only as the answer grows, so its bytes are linear; both end on the same
final view (answer Markdown + plain text), which is counted too.

Bytes are counted, not timed: a fake clock advances per token, so a run is the same
on any machine. Each scenario runs with several random token lengths (seeds); the
table shows the median.

Run: python benchmarks/bench_stream_display.py [--runs 5] [--mb 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Callable, Iterator
from typing import Any

from grok_nb.notebook.live import LiveMarkdown

CURSOR = " ▍"


class OldLiveMarkdown:
    """The algorithm before: the whole text on every update, at up to 20 Hz."""

    def __init__(self, *, clock: Callable[[], float], display_fn: Callable[..., Any]) -> None:
        self._display = display_fn
        self._interval = 1 / 20
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


class Counter:
    """A stand-in for IPython's display: counts the bytes of every bundle sent."""

    def __init__(self) -> None:
        self.bytes = 0
        self.last: dict[str, Any] = {}

    def _count(self, bundle: dict[str, Any]) -> None:
        self.bytes += sum(len(str(v).encode()) for v in bundle.values())
        self.last = bundle

    def __call__(self, bundle: dict[str, Any], **_: Any) -> Counter:
        self._count(bundle)
        return self

    def update(self, bundle: dict[str, Any], **_: Any) -> None:
        self._count(bundle)


def tokens(size: int, seed: int) -> Iterator[str]:
    """Markdown in token-sized pieces (1-12 characters), with paragraphs and code."""
    rng = random.Random(seed)
    words = ["the", "chart", "shows", "sales", "rising", "in", "2024", "**peak**", "and"]
    sent = 0
    line = 0
    while sent < size:
        piece = rng.choice(words)[: rng.randint(1, 12)] + " "
        line += 1
        if line % 40 == 0:
            piece += "\n\n" if rng.random() < 0.8 else "\n```python\nx = 1\n```\n"
        piece = piece[: size - sent]
        sent += len(piece)
        yield piece


def run(algorithm: str, size: int, seed: int, seconds_per_token: float) -> tuple[int, int]:
    now = [0.0]
    counter = Counter()
    cls = OldLiveMarkdown if algorithm == "before" else LiveMarkdown
    live = cls(clock=lambda: now[0], display_fn=counter)
    for piece in tokens(size, seed):
        live(piece)
        now[0] += seconds_per_token
    text = live.text
    footer = "\n\n---\n<small>grok-4 · image tokens 1,792 billed = 1,792 est. ✓</small>"
    live.finish({"text/markdown": text + footer, "text/plain": text + footer})
    return counter.bytes, live.updates


SCENARIOS = [  # name, seconds per token (about 4 characters)
    ("simulator speed (~1 MB/s)", 4e-6),
    ("fast model (~200 tokens/s)", 1 / 200),
    ("every token its own update", 1.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=float, default=1.0, help="answer size in MB")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    print(f"Display bytes while streaming a {size:,}-character answer (median of {args.runs})")
    print(f"{'scenario':<30} {'algorithm':<7} {'updates':>8} {'bytes sent':>15} {'× answer':>9}")
    for name, per_token in SCENARIOS:
        for algorithm in ("before", "after"):
            if algorithm == "before" and per_token >= 1 / 200:
                # quadratic: too slow to run at this size, so the arithmetic instead:
                # one update per 50 ms of tokens, each carrying the text so far twice
                count = sum(1 for _ in tokens(size, 0))
                n_updates = min(count, count * per_token * 20)
                estimate = n_updates * size  # 2 × the average length (size / 2)
                print(
                    f"{name:<30} {algorithm:<7} {n_updates:>8,.0f} "
                    f"{'≈ ' + format(round(estimate), ','):>15} {estimate / size:>9,.0f}"
                )
                continue
            results = [run(algorithm, size, seed, per_token) for seed in range(args.runs)]
            sent = statistics.median(r[0] for r in results)
            updates = statistics.median(r[1] for r in results)
            print(f"{name:<30} {algorithm:<7} {updates:>8,.0f} {sent:>15,.0f} {sent / size:>9.2f}")


if __name__ == "__main__":
    main()
