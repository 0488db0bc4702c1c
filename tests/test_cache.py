"""ResponseCache in one process: hits, misses, refresh, stats, clear, and the key scan."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_nb.cache.responses import (
    REDACTED,
    CacheEntry,
    GrokCacheWarning,
    ResponseCache,
    request_key,
)

SECRET = "xai-TESTKEY-9f8e7d6c5b4a3210zz"
BASE = "https://api.x.ai/v1"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.delenv("XAI_API_KEY", raising=False)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ResponseCache]:
    c = ResponseCache(tmp_path / "c" / "responses.sqlite3")
    yield c
    c.close()


def answer(text: str, cost: float = 0.0125, **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "text": text,
        "parsed": None,
        "usage": {"prompt_tokens": 1300, "completion_tokens": 12, "image_tokens": 1024},
        "cost_usd": cost,
        "model": "grok-4",
        "finish_reason": "stop",
        "estimated_image_tokens": 1024,
    }
    record.update(extra)
    return record


def key_for(prompt: str) -> str:
    return request_key({"model": "grok-4", "messages": [{"role": "user", "content": prompt}]}, BASE)


def test_miss_then_hit(cache: ResponseCache) -> None:
    key = key_for("what is this?")
    assert cache.get(key) is None
    assert key not in cache
    assert cache.put(key, answer("A cat."), base_url=BASE, model="grok-4") is True
    assert key in cache
    entry = cache.get(key)
    assert isinstance(entry, CacheEntry)
    assert entry.key == key
    assert entry.record == answer("A cat.")
    assert entry.model == "grok-4" and entry.base_url == BASE
    assert entry.hits == 1
    assert entry.cost_usd == pytest.approx(0.0125)
    assert cache.get(key).hits == 2  # type: ignore[union-attr]


def test_uses_default_path_from_env(tmp_path: Path) -> None:
    with ResponseCache() as c:
        c.put("k", answer("x"), base_url=BASE, model="grok-4")
    assert (tmp_path / "user-cache" / "responses.sqlite3").is_file()


def test_peek_does_not_count(cache: ResponseCache) -> None:
    cache.put("k", answer("x"), base_url=BASE, model="grok-4")
    assert cache.get("k", count_hit=False).hits == 0  # type: ignore[union-attr]
    assert cache.stats().hits == 0


def test_stats_count_hits_and_money_saved(cache: ResponseCache) -> None:
    cache.put("a", answer("A", cost=0.01), base_url=BASE, model="grok-4")
    cache.put("b", answer("B", cost=0.25), base_url=BASE, model="grok-4")
    cache.put("c", answer("C", cost=None), base_url=BASE, model="grok-4")  # unknown cost
    for _ in range(3):
        cache.get("a")
    cache.get("b")
    cache.get("c")
    cache.get("missing")
    stats = cache.stats()
    assert stats.entries == 3
    assert stats.hits == 5
    assert stats.saved_usd == pytest.approx(3 * 0.01 + 0.25)
    assert stats.stored_cost_usd == pytest.approx(0.26)
    assert stats.bytes > 0
    assert stats.path == str(cache.path)
    assert "3 cached answers" in str(stats) and "5 hits" in str(stats)
    assert stats.to_dict()["entries"] == 3


def test_refresh_replaces_the_answer_and_keeps_the_tally(cache: ResponseCache) -> None:
    cache.put("k", answer("old", cost=0.5), base_url=BASE, model="grok-4")
    cache.get("k")
    cache.put("k", answer("new", cost=0.1), base_url=BASE, model="grok-4")
    entry = cache.get("k")
    assert entry is not None and entry.record["text"] == "new"
    assert entry.hits == 2
    assert cache.stats().entries == 1


def test_unfinished_answers_are_not_stored(cache: ResponseCache) -> None:
    assert cache.put("k", answer("half", finish_reason="incomplete"), base_url=BASE, model="m") is (
        False
    )
    assert cache.put(
        "k", answer("half", finish_reason="interrupted"), base_url=BASE, model="m"
    ) is (False)
    assert cache.get("k") is None
    assert cache.stats().entries == 0


def test_non_json_record_is_not_stored_and_does_not_fail_the_call(cache: ResponseCache) -> None:
    with pytest.warns(GrokCacheWarning, match="not stored, its record is not JSON"):
        assert cache.put("k", answer("x", parsed={1, 2}), base_url=BASE, model="grok-4") is False
    assert cache.get("k") is None


def test_delete_and_clear(cache: ResponseCache) -> None:
    for i in range(5):
        cache.put(f"k{i}", answer(str(i)), base_url=BASE, model="grok-4")
    assert cache.delete("k0") is True
    assert cache.delete("k0") is False
    assert cache.clear() == 4
    assert cache.stats().entries == 0
    assert cache.clear() == 0
    cache.put("again", answer("x"), base_url=BASE, model="grok-4")
    assert cache.get("again") is not None


def test_entries_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "persist.sqlite3"
    with ResponseCache(path) as c:
        c.put("k", answer("kept", parsed={"cats": 2}), base_url=BASE, model="grok-4")
    with ResponseCache(path) as c:
        entry = c.get("k")
    assert entry is not None and entry.record["parsed"] == {"cats": 2}
    # the file is a WAL-mode database stamped with the schema version
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_threads_share_one_cache(cache: ResponseCache) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(50):
                cache.put(f"t{t}-{i}", answer(f"{t}/{i}"), base_url=BASE, model="grok-4")
                assert cache.get(f"t{t}-{i}") is not None
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.stats().entries == 200


def _file_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            data += p.read_bytes()
    return data


def test_api_key_never_reaches_the_file(
    cache: ResponseCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", SECRET)
    other = "dotenv-only-secret-value-42"
    record = answer(
        f"Your key is {SECRET}. marker-visible-123",
        parsed={"key": SECRET, SECRET: [f"x{SECRET}y", other]},
        request={"headers": {"Authorization": f"Bearer {SECRET}"}},
    )
    stored = cache.put(
        "k",
        record,
        base_url=f"http://127.0.0.1:9/v1?token={SECRET}",
        model=f"grok-{SECRET}",
        secrets=[other],
    )
    assert stored
    # connection still open: the rows live in the WAL file right now
    assert Path(f"{cache.path}-wal").exists()
    blob = _file_bytes(cache.path)
    assert b"marker-visible-123" in blob  # the scan does see the stored record
    assert SECRET.encode() not in blob
    assert other.encode() not in blob
    entry = cache.get("k")
    assert entry is not None
    assert entry.record["text"] == f"Your key is {REDACTED}. marker-visible-123"
    assert entry.record["parsed"] == {"key": REDACTED, REDACTED: [f"x{REDACTED}y", REDACTED]}
    assert SECRET not in repr(entry) and SECRET not in entry.base_url + entry.model
    cache.close()  # checkpoint into the main file, scan again
    assert SECRET.encode() not in _file_bytes(cache.path)
    assert other.encode() not in _file_bytes(cache.path)


def test_constructor_secrets_and_escaped_forms(tmp_path: Path) -> None:
    odd = 'key"with\\escapes-0001'
    c = ResponseCache(tmp_path / "s.sqlite3", secrets=[odd])
    assert odd not in repr(c)
    c.put("k", answer(f"leak {odd}"), base_url=BASE, model="grok-4")
    c.close()
    blob = _file_bytes(c.path)
    assert odd.encode() not in blob
    assert b'key\\"with\\\\escapes-0001' not in blob
    with ResponseCache(c.path) as again:
        assert again.get("k").record["text"] == f"leak {REDACTED}"  # type: ignore[union-attr]


def test_short_strings_are_not_treated_as_keys(
    cache: ResponseCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an env var holding "a" must not turn every "a" in every answer into [redacted]
    monkeypatch.setenv("XAI_API_KEY", "a")
    cache.put("k", answer("a cat"), base_url=BASE, model="grok-4")
    assert cache.get("k").record["text"] == "a cat"  # type: ignore[union-attr]


def test_key_from_dotenv_and_key_shapes_are_scrubbed(
    cache: ResponseCache, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the client reads .env without copying it into os.environ: the cache must too
    dotenv_key = "from-dotenv-file-secret-77"
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(f"XAI_API_KEY={dotenv_key}\n")
    monkeypatch.chdir(project)
    someone_elses = "xai-" + "Q" * 40  # not our key, but shaped like one

    class Secret:  # the client's wrapper: never shows itself, .get() gives the value
        def get(self) -> str:
            return "wrapped-secret-value-99"

    text = f"{dotenv_key} {someone_elses} wrapped-secret-value-99"
    cache.put("k", answer(text), base_url=BASE, model="grok-4", secrets=[Secret(), None])
    cache.close()
    blob = _file_bytes(cache.path)
    for leaked in (dotenv_key, someone_elses, "wrapped-secret-value-99"):
        assert leaked.encode() not in blob
    assert cache.get("k").record["text"] == f"{REDACTED} {REDACTED} {REDACTED}"  # type: ignore[union-attr]


def test_importing_the_cache_stays_cheap() -> None:
    code = (
        "import sys, grok_nb.cache.responses; "
        "print(sorted(m for m in ('platformdirs', 'dotenv', 'httpx', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"
