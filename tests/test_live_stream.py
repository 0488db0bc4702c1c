"""A long streamed answer costs display bytes linear in its length (bytes, not time)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest
from conftest import REPO

from grok_nb.notebook.live import LIVE_VIEW_CHARS, REFRESH_GROWTH, LiveMarkdown


def _bench() -> Any:
    path = REPO / "benchmarks" / "bench_stream_display.py"
    spec = importlib.util.spec_from_file_location("bench_stream_display", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()


def test_one_megabyte_at_simulator_speed_is_under_three_times_its_size() -> None:
    size = 1_000_000
    after, _ = bench.run("after", size, seed=0, seconds_per_token=4e-6)
    before, _ = bench.run("before", size, seed=0, seconds_per_token=4e-6)
    assert after <= 3 * size
    assert before > 10 * size  # the old view, kept in the benchmark, for comparison


@pytest.mark.parametrize("seconds_per_token", [1 / 200, 1.0])
def test_bytes_are_linear_however_tokens_are_timed(seconds_per_token: float) -> None:
    ratios = []
    for size in (250_000, 1_000_000):
        sent, updates = bench.run("after", size, seed=1, seconds_per_token=seconds_per_token)
        ratios.append(sent / size)
        assert updates < size / 500
    # final view (Markdown + plain text: 2×) + refreshes (≤ REFRESH_GROWTH ×) + a constant
    assert max(ratios) <= 2 + REFRESH_GROWTH + 0.5
    assert abs(ratios[0] - ratios[1]) < 0.5  # the same ratio at 4× the size: linear


def test_final_view_is_the_answer_and_live_view_is_capped() -> None:
    counter = bench.Counter()
    sizes: list[int] = []
    now = [0.0]
    live = LiveMarkdown(clock=lambda: now[0], display_fn=counter)
    text = "".join(f"line {i} of the answer\n" for i in range(20_000))
    for i in range(0, len(text), 7):
        live(text[i : i + 7])
        now[0] += 0.05
        sizes.append(len(counter.last.get("text/markdown", "")))
    assert live.text == text
    assert max(sizes) < LIVE_VIEW_CHARS + 200
    view = counter.last["text/markdown"]
    assert view.startswith("*… ") and "characters above" in view
    assert "\n\nline " in view  # the tail starts at a line
    live.finish({"text/markdown": text, "text/plain": text})
    assert counter.last == {"text/markdown": text, "text/plain": text}


def test_a_cut_code_block_is_reopened_in_the_live_view() -> None:
    counter = bench.Counter()
    live = LiveMarkdown(max_updates_per_s=0, display_fn=counter)
    live("Intro\n\n```python\n")
    code = "".join(f"x{i} = {i}\n" for i in range(2_000))
    for i in range(0, len(code), 50):
        live(code[i : i + 50])
    view = counter.last["text/markdown"]
    assert "characters above" in view
    assert "\n\n```python\n" in view
    live("```\n\nAfter the code, " + "words " * 1_000)
    assert "```python" not in counter.last["text/markdown"]
