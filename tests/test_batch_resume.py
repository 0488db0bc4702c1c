"""A kernel killed mid-batch, and a fresh one that resumes from the journal: every
result collected exactly once, no request added twice, none left out."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from conftest import REPO
from conftest import TEST_KEY as KEY

SCRIPT = textwrap.dedent(
    """
    import sys
    from PIL import Image
    import grok_nb
    from grok_nb import batch_upload
    from grok_nb.batch_api import BatchJob, submit_batch

    batch_upload.LIMITS.max_requests_per_add = 1  # many small add calls: a kill lands mid-add
    items = [Image.new("RGB", (200 + 10 * i, 150), (20 * i % 255, 90, 160)) for i in range(8)]
    mode = sys.argv[1]
    if mode == "submit":  # submit, then wait (the test kills it somewhere in here)
        job = submit_batch(items, "Describe.")
        print(job.id, flush=True)
        job.wait(progress=False, poll_s=0.05, max_poll_s=0.1)
    elif mode == "resume":  # the same items again: continues the job in the journal
        job = submit_batch(items, "Describe.")
        job.wait(progress=False, poll_s=0.05, max_poll_s=0.1)
        print(job.id, "|".join(str(a.error) for a in job.results()))
    else:  # attach by id and collect
        job = BatchJob.attach(mode)
        job.wait(progress=False, poll_s=0.05, max_poll_s=0.1)
        print(job.id, "|".join(str(a.error) for a in job.results()))
    """
)


def _env(sim: Any, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GROK_NB_CACHE_DIR=str(cache), XAI_BASE_URL=sim.base_url, XAI_API_KEY=KEY,
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )  # fmt: skip
    return env


def _states(cache: Path) -> dict[str, int]:
    path = cache / "batch_jobs.sqlite3"
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return dict(db.execute("SELECT state, COUNT(*) FROM rows GROUP BY state").fetchall())
    except sqlite3.OperationalError:  # the tables are not there yet
        return {}


def _start(sim: Any, cache: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode], env=_env(sim, cache), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _kill_when(proc: subprocess.Popen[str], cache: Path, ready: Any) -> dict[str, int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = _states(cache)
        if ready(states):
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            return states
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"never reached the state to kill in: {_states(cache)}")


def _run(sim: Any, cache: Path, mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], env=_env(sim, cache), capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _collections(cache: Path) -> list[int]:
    with sqlite3.connect(cache / "batch_jobs.sqlite3") as db:
        return [n for (n,) in db.execute("SELECT collections FROM rows ORDER BY idx")]


def test_killed_while_waiting_then_attached_in_a_fresh_process(sim: Any, tmp_path: Path) -> None:
    sim.batches.seconds, sim.batches.stagger_s = 0.0, 0.3  # results trickle in
    cache = tmp_path / "cache"
    proc = _start(sim, cache, "submit")
    states = _kill_when(proc, cache, lambda s: s.get("done", 0) >= 2)
    assert states.get("done", 0) < 8  # killed with results still to collect
    batch_id = next(iter(sim.batches._batches))
    line = _run(sim, cache, batch_id)
    assert line == f"{batch_id} " + "|".join(["None"] * 8)
    assert _collections(cache) == [1] * 8  # every result collected exactly once
    assert set(sim.batches.received.values()) == {1} and len(sim.batches.received) == 8


def test_killed_mid_add_then_resumed_without_duplicates_or_gaps(sim: Any, tmp_path: Path) -> None:
    sim.latency_s = 0.15  # each add call takes a while
    sim.batches.seconds = 0.0
    cache = tmp_path / "cache"
    proc = _start(sim, cache, "submit")
    states = _kill_when(proc, cache, lambda s: s.get("added", 0) + s.get("done", 0) >= 3)
    assert states.get("new", 0) > 0  # some requests were never added
    added_before = len(sim.batches.received)
    assert 3 <= added_before < 8
    line = _run(sim, cache, "resume")
    batch_id, errors = line.split(" ", 1)
    assert batch_id == next(iter(sim.batches._batches)) and len(sim.batches._batches) == 1
    assert errors == "|".join(["None"] * 8)  # never a gap
    assert sorted(sim.batches.received) == [f"r{n:06d}" for n in range(8)]
    assert set(sim.batches.received.values()) == {1}  # never a duplicate
    assert _collections(cache) == [1] * 8
