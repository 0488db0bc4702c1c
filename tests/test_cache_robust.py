"""The cache keeps answers apart, replays from files it may not write, and survives
records of another version's shape."""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import grok_nb.cache.db as db
import grok_nb.calls as calls
from grok_nb import ask
from grok_nb.cache.responses import GrokCacheWarning, ResponseCache, canonical_request, request_key

BASE = "https://api.x.ai/v1"


def text_body(prompt: str) -> dict[str, Any]:
    return {"model": "grok-4", "messages": [{"role": "user", "content": prompt}]}


def parts_body(prompt: str, url: str) -> dict[str, Any]:
    content = [{"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": url}}]
    return {"model": "grok-4", "messages": [{"role": "user", "content": content}]}


# --------------------------------------------------------------------------- keys


def test_prompts_that_begin_with_data_are_never_decoded() -> None:
    # these two decode to the same bytes; as prompts they are different questions
    a, b = "data:,hello%20world", "data:,hello world"
    assert request_key(text_body(a), BASE) != request_key(text_body(b), BASE)
    assert a in canonical_request(text_body(a), BASE)
    png = "data:image/png;base64,AAAA"
    pa, pb = parts_body(a, png), parts_body(b, png)
    assert request_key(pa, BASE) != request_key(pb, BASE)
    system = {"model": "grok-4", "messages": [{"role": "system", "content": a}]}
    assert a in canonical_request(system, BASE)


def test_image_urls_are_still_normalised() -> None:
    plain = parts_body("Describe.", "data:image/png;base64,iVBORw0KGgo=")
    escaped = parts_body("Describe.", "data:image/png;base64,iVBORw0KGgo%3D")
    assert request_key(plain, BASE) == request_key(escaped, BASE)
    assert "sha256:" in canonical_request(plain, BASE)
    bare = {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url",
            "image_url": "data:image/png;base64,iVBORw0KGgo="}]}]}  # fmt: skip
    assert "sha256:" in canonical_request(bare, BASE)


# --------------------------------------------------------------------------- read-only


def record(text: str = "recorded answer", **extra: Any) -> dict[str, Any]:
    usage = {"prompt_tokens": 10, "completion_tokens": 2, "cost_in_usd_ticks": 5}
    return {"text": text, "usage": usage, "cost_usd": 0.01, "finish_reason": "stop", **extra}


def recorded_file(tmp_path: Path) -> Path:
    path = tmp_path / "ro" / "responses.sqlite3"
    with ResponseCache(path) as cache:
        assert cache.put("k", record(), base_url=BASE, model="grok-4")
    return path


def deny_writes(monkeypatch: pytest.MonkeyPatch, under: Path) -> None:
    """What a read-only file and folder look like (tests run as root, who may write)."""
    real = os.access

    def access(path: Any, mode: int, **kw: Any) -> bool:
        if mode & os.W_OK and str(under) in str(path):
            return False
        return real(path, mode, **kw)

    monkeypatch.setattr(db.os, "access", access)


def snapshot(folder: Path) -> dict[str, bytes]:
    # SQLite may add an empty WAL and its index beside a read-only file in a folder it
    # can write; the database itself must not change, nor be set aside.
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if "-" not in p.name}


def test_a_read_only_cache_replays_and_is_left_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = recorded_file(tmp_path)
    before = snapshot(path.parent)
    deny_writes(monkeypatch, path.parent)
    with ResponseCache(path) as cache:
        entry = cache.get("k")
        assert entry is not None and entry.record["text"] == "recorded answer"
        assert cache._db.read_only
        with pytest.warns(GrokCacheWarning):
            assert not cache.put("k2", record(), base_url=BASE, model="grok-4")
        assert cache.get("k2") is None
    assert snapshot(path.parent) == before  # no hit counted, no WAL, nothing set aside


def test_sqlite_refusing_to_write_falls_back_to_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = recorded_file(tmp_path)
    real = db.SharedDB._prepare

    def prepare(self: Any, conn: sqlite3.Connection, read_only: bool = False) -> None:
        if not read_only:  # what a read-only mount says, though access() said yes
            raise sqlite3.OperationalError("attempt to write a readonly database")
        real(self, conn, read_only)

    monkeypatch.setattr(db.SharedDB, "_prepare", prepare)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GrokCacheWarning)
        with ResponseCache(path) as cache:
            entry = cache.get("k")
    assert entry is not None and entry.record["text"] == "recorded answer"


def test_replay_from_a_read_only_cache_end_to_end(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_path = tmp_path / "notebook-cache" / "responses.sqlite3"
    image = Image.new("RGB", (64, 48), (10, 200, 30))
    first = ask("Describe.", image, cache_path=str(cache_path))
    for cache in calls._caches.values():
        cache.close()
    calls._caches.clear()
    deny_writes(monkeypatch, cache_path.parent)
    monkeypatch.delenv("XAI_API_KEY")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GrokCacheWarning)
        again = ask("Describe.", image, cache_path=str(cache_path), cache="replay")
    assert again.cached and again.text == first.text
    calls._caches.clear()


# --------------------------------------------------------------------------- row shapes


def raw_put(cache: ResponseCache, key: str, text: str) -> None:
    cache.put(key, record(), base_url=BASE, model="m")
    conn = sqlite3.connect(cache.path)
    conn.execute("UPDATE responses SET record = ? WHERE key = ?", (text, key))
    conn.commit()
    conn.close()


def test_fields_a_newer_version_added_are_ignored(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "c.sqlite3") as cache:
        newer = record(tool_calls=[{"id": 1}], confidence=0.9)
        newer["usage"]["audio_tokens"] = 7  # a counter this version does not know
        raw_put(cache, "k", json.dumps(newer))
        with warnings.catch_warnings():
            warnings.simplefilter("error", GrokCacheWarning)
            entry = cache.get("k")
    assert entry is not None and "audio_tokens" not in entry.record["usage"]
    answer = calls._answer_from_record(entry.record, None)  # what a replay builds
    assert answer.text == "recorded answer" and answer.usage is not None
    assert answer.usage.prompt_tokens == 10


@pytest.mark.parametrize(
    "stored",
    [
        {"usage": {"prompt_tokens": 1}, "finish_reason": "stop"},  # no text
        {"text": 3},
        {"text": "x", "usage": [1, 2, 3]},
        {"text": "x", "usage": {"prompt_tokens": "many"}},
        ["not", "an", "object"],
    ],
)
def test_unusable_rows_are_misses_with_one_warning(tmp_path: Path, stored: Any) -> None:
    with ResponseCache(tmp_path / "c.sqlite3") as cache:
        raw_put(cache, "a", json.dumps(stored))
        raw_put(cache, "b", json.dumps(stored))
        with pytest.warns(GrokCacheWarning) as seen:
            assert cache.get("a") is None
            assert cache.get("b") is None
        assert len(seen) == 1
        assert "a" in cache  # left for the version that wrote it
