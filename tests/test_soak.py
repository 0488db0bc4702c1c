"""Soak: 2,000 images through ``ask_many`` at concurrency 64 against the simulator, with
random faults. Every item is answered or failed with a GrokError, none is charged twice,
and the batch leaves no socket, thread or event loop behind. Bounded: well under 60 s."""

from __future__ import annotations

import collections
import gc
import os
import random
import resource
import threading
import time
import warnings
from typing import Any

import pytest
from conftest import TEST_KEY as KEY
from PIL import Image

import grok_nb.calls as calls
from grok_nb import simulator
from grok_nb.batch import ask_many
from grok_nb.errors import GrokError

ITEMS = 2000
CONCURRENCY = 64
FAULT_RATE = 0.08  # of requests
SEED = 20240613
# Mid-stream faults come after the first text piece, so the batch must not resend them
# (resending a stream that already billed tokens would charge the item twice); the
# stalls before any byte are long (the simulator never gets to answer them) and retried.
FAULTS = [
    ("429", {"retry_after": 0.05}),
    ("500", {}),
    ("503", {}),
    ("reset", {"after_chunks": 2}),
    ("malformed", {"after_chunks": 3}),
    ("truncate", {"after_chunks": 3}),
    ("stall", {"after_chunks": 0, "stall_s": 60.0}),
    ("stall", {"after_chunks": 2, "stall_s": 60.0}),
]


def fault_script(n: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(SEED)
    return [rng.choice(FAULTS) if rng.random() < FAULT_RATE else ("none", {}) for _ in range(n)]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def image_of(body: dict[str, Any]) -> str:
    parts = body["messages"][-1]["content"]
    return next(p["image_url"]["url"] for p in parts if p.get("type") == "image_url")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_soak_2000_images_with_random_faults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pictures = [
        Image.new("RGB", (32 + i % 50, 32 + i // 50), (i % 256, (i // 7) % 256, 90))
        for i in range(ITEMS)
    ]
    monkeypatch.setenv("XAI_API_KEY", KEY)
    calls._clients.clear()
    gc.collect()
    threads_before, fds_before = threading.active_count(), open_fds()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with simulator.serve() as sim:
            monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
            script = fault_script(ITEMS + ITEMS // 2)  # retries take entries too
            for kind, options in script:
                sim.inject(kind, **options)
            answers = ask_many(
                pictures, "Describe.", concurrency=CONCURRENCY, progress=False, cache="off",
                timeout_s=1.0, max_retries=4,
            )  # fmt: skip
            fired = collections.Counter(f.kind for f in sim.faults.fired if f.kind != "none")
            requests, usages = list(sim.requests), len(sim.usages)
        wall = time.perf_counter() - started
        for client in calls._clients.values():
            client.close()
        calls._clients.clear()
        gc.collect()
        # the simulator's stalled handlers wake when it stops; give them a moment to end
        deadline = time.monotonic() + 5
        while threading.active_count() > threads_before and time.monotonic() < deadline:
            time.sleep(0.05)
        gc.collect()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # every item answered, or failed with a GrokError, in order
    assert len(answers) == ITEMS
    ok = [a for a in answers if a.finish_reason == "stop" and a.error is None]
    failed = [a for a in answers if a.error is not None]
    assert len(ok) + len(failed) == ITEMS
    assert all(isinstance(a.error, GrokError) for a in failed), {
        type(a.error).__name__ for a in failed
    }
    for a, img in zip(answers, pictures, strict=True):
        if a.error is None:
            assert f"{img.width}×{img.height}" in a.text
    # no item charged twice: each image reached the answering code at most once
    charged = collections.Counter(image_of(body) for body in requests)
    assert usages == len(requests)
    assert max(charged.values()) == 1, charged.most_common(3)
    assert sum(fired.values()) > 100  # the faults really happened
    # nothing left behind
    assert threading.active_count() <= threads_before, threading.enumerate()
    assert open_fds() <= fds_before
    assert wall < 60
    with capsys.disabled():
        print(
            f"\nsoak: {ITEMS} items at concurrency {CONCURRENCY} in {wall:.1f} s; "
            f"{len(ok)} answered, {len(failed)} failed; {len(requests)} charged requests; "
            f"faults fired {dict(fired)}; peak RSS {peak_mb:.0f} MB"
        )
