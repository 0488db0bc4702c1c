"""The cache file shared between processes, and files that are not a usable cache."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grok_nb.cache.responses import GrokCacheWarning, ResponseCache

ROOT = Path(__file__).resolve().parents[1]
BASE = "https://api.x.ai/v1"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.delenv("XAI_API_KEY", raising=False)


def answer(text: str, cost: float = 0.002) -> dict[str, object]:
    return {"text": text, "cost_usd": cost, "finish_reason": "stop", "model": "grok-4"}


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def fill(path: Path, n: int) -> None:
    with ResponseCache(path) as c:
        for i in range(n):
            c.put(f"k{i}", answer("x" * 500 + str(i)), base_url=BASE, model="grok-4")


def set_aside_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


WRITER = textwrap.dedent(
    """
    import sys, time, warnings
    from pathlib import Path
    from grok_nb.cache.responses import GrokCacheWarning, ResponseCache

    warnings.simplefilter("error", GrokCacheWarning)  # a degraded call would lose data
    path, name, other, go = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    cache = ResponseCache(path)
    cache.stats()  # open (and maybe create) before the race starts
    (go.parent / f"ready-{name}").touch()
    while not go.exists():
        time.sleep(0.005)
    seen = 0
    for i in range(200):
        record = {"text": f"{name} answer {i}", "cost_usd": 0.001, "finish_reason": "stop"}
        assert cache.put(f"{name}-{i}", record, base_url="https://api.x.ai/v1", model="grok-4")
        if cache.get(f"{other}-{i // 2}") is not None:
            seen += 1
        time.sleep(0.001)  # spread the writes so the two processes surely interleave
    cache.close()
    print(seen)
    """
)


def test_two_processes_write_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "responses.sqlite3"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), me, other, str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me, other in (("alpha", "beta"), ("beta", "alpha"))
    ]
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready-{n}").exists() for n in ("alpha", "beta")):
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"writer exited early: {p.communicate()[1]}")
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.005)
    go.touch()  # both have the file open: start them together
    seen = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        seen.append(int(out))
    # each saw some of the other's entries while writing: the runs really overlapped
    assert all(n > 0 for n in seen), seen
    assert integrity(path) == "ok"
    with ResponseCache(path) as c:
        assert c.stats().entries == 400
        for name in ("alpha", "beta"):
            for i in range(200):
                entry = c.get(f"{name}-{i}", count_hit=False)
                assert entry is not None and entry.record["text"] == f"{name} answer {i}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_forked_child_reopens_its_own_connection(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "f.sqlite3")
    cache.put("parent", answer("p"), base_url=BASE, model="grok-4")
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's sqlite connection
        code = 1
        try:
            ok = cache.put("child", answer("c"), base_url=BASE, model="grok-4")
            code = 0 if ok and cache.get("parent") is not None else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get("child") is not None
    assert cache.stats().entries == 2
    cache.close()
    assert integrity(cache.path) == "ok"


def recovers(path: Path) -> None:
    """Assert a cache at ``path`` warns, sets the file aside, and then works normally."""
    with ResponseCache(path) as c:
        with pytest.warns(GrokCacheWarning, match=r"moved it to responses\.sqlite3\.corrupt-"):
            assert c.get("k1") is None
        assert c.put("new", answer("fresh"), base_url=BASE, model="grok-4")
        assert c.get("new") is not None
        assert c.stats().entries == 1
    assert integrity(path) == "ok"
    assert len(set_aside_files(path)) >= 1


def test_garbage_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    garbage = b"this is not a database\n" * 200
    path.write_bytes(garbage)
    Path(f"{path}-wal").write_bytes(b"stale wal")
    recovers(path)
    aside = [p for p in set_aside_files(path) if not p.name.endswith("-wal")]
    assert aside[0].read_bytes() == garbage  # kept for inspection, not deleted
    # the stale WAL never ends up replayed into the fresh cache (recovers() checked it)
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.read_bytes() != b"stale wal"


def test_truncated_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    fill(path, 300)
    size = path.stat().st_size
    assert size > 100_000
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    recovers(path)


def test_file_cut_inside_the_header_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    fill(path, 5)
    path.write_bytes(path.read_bytes()[:60])
    recovers(path)


def test_foreign_database_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    recovers(path)


@pytest.mark.parametrize(
    "setup",
    [
        "PRAGMA user_version = 99",
        "CREATE TABLE responses (key TEXT PRIMARY KEY, blob BLOB); PRAGMA user_version = 1",
    ],
    ids=["newer-schema-version", "malformed-schema"],
)
def test_unreadable_schema_is_set_aside(tmp_path: Path, setup: str) -> None:
    path = tmp_path / "responses.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(setup)
    conn.close()
    recovers(path)


def test_empty_file_is_just_a_new_cache(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    path.touch()
    with ResponseCache(path) as c:  # no warning expected (warnings are errors here)
        assert c.put("k", answer("x"), base_url=BASE, model="grok-4")
        assert c.get("k") is not None
    assert set_aside_files(path) == []


def test_unusable_path_degrades_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "is-a-directory"
    path.mkdir()
    c = ResponseCache(path)
    with pytest.warns(GrokCacheWarning, match="lookup failed"):
        assert c.get("k") is None
    with pytest.warns(GrokCacheWarning, match="store failed"):
        assert c.put("k", answer("x"), base_url=BASE, model="grok-4") is False
    assert path.is_dir()  # a directory is never "set aside"


def hold_write_lock(path: Path, release: threading.Event, held: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(10)
    conn.execute("COMMIT")
    conn.close()


def test_a_short_lock_is_waited_out(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    fill(path, 1)
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, release, held))
    holder.start()
    held.wait(5)
    timer = threading.Timer(0.3, release.set)  # longer than the busy timeout below
    timer.start()
    with ResponseCache(path, busy_timeout_s=0.05) as c:
        assert c.put("late", answer("x"), base_url=BASE, model="grok-4")
    holder.join()
    with ResponseCache(path) as c:
        assert c.get("late") is not None


def test_a_lock_that_never_ends_degrades_instead_of_hanging(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    fill(path, 1)
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, release, held))
    holder.start()
    held.wait(5)
    try:
        with ResponseCache(path, busy_timeout_s=0.02) as c:
            # readers are never blocked by a writer in WAL mode
            assert c.get("k0") is not None
            with pytest.warns(GrokCacheWarning, match="store failed"):
                assert c.put("blocked", answer("x"), base_url=BASE, model="grok-4") is False
    finally:
        release.set()
        holder.join()
    assert set_aside_files(path) == []
