"""Prepared images on disk: a fresh kernel replaying cached answers prepares nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

import grok_nb
import grok_nb.preparing as preparing
from grok_nb.cache.prepared import PreparedStore
from grok_nb.images import prepare
from grok_nb.images.fingerprint import fingerprint


def photo_file(folder: Path, name: str = "photo.jpg") -> Path:
    img = Image.new("RGB", (1600, 1200), (30, 90, 160))
    ImageDraw.Draw(img).ellipse((300, 200, 1200, 1000), fill=(240, 190, 30))
    path = folder / name
    img.save(path, quality=90)
    return path


def test_round_trip_keeps_bytes_plan_and_a_small_preview(tmp_path: Path) -> None:
    store = PreparedStore(tmp_path / "p.sqlite3")
    original = prepare(photo_file(tmp_path), label="photo")
    store.put("k", original)
    back = store.get("k")
    assert back is not None
    assert (back.data, back.mime, back.sha256, back.notes) == (
        original.data,
        original.mime,
        original.sha256,
        original.notes,
    )
    assert back.plan == original.plan and back.plan is not None and back.plan.label == "photo"
    assert max(back.plan.preview.size) <= 384
    assert store.get("missing") is None


def test_file_fingerprint_follows_content_not_mtime(tmp_path: Path) -> None:
    path = photo_file(tmp_path)
    before = fingerprint(path)
    os.utime(path, (1, 1))  # a fresh clone: same photo, new timestamps
    assert fingerprint(path) == before
    Image.new("RGB", (10, 10)).save(path)
    assert fingerprint(path) != before
    assert fingerprint(tmp_path / "nope.png") is None


def test_fresh_kernel_replay_prepares_nothing(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = photo_file(tmp_path)
    recorded = grok_nb.ask("What is this?", path)
    preparing._memo.clear()  # what a new kernel starts with
    import grok_nb.images as images

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the image was prepared again")

    monkeypatch.setattr(images, "prepare_many", fail)
    monkeypatch.delenv("XAI_API_KEY")
    replayed = grok_nb.ask("What is this?", path, cache="replay")
    assert replayed.cached and replayed.text == recorded.text
    assert replayed.images[0].preview is not None


def test_a_broken_store_warns_once_and_never_fails_a_call(sim: Any, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    cache.with_suffix(".prepared.sqlite3").write_bytes(b"this is not a database" * 100)
    preparing._memo.clear()  # so the store is consulted
    with pytest.warns(RuntimeWarning, match="prepared-image store"):
        answer = grok_nb.ask("Describe.", photo_file(tmp_path), cache_path=str(cache))
    assert answer.finish_reason == "stop"


def test_least_recently_used_images_are_evicted(tmp_path: Path) -> None:
    first = prepare(photo_file(tmp_path, "a.jpg"))
    assert first.data is not None
    store = PreparedStore(tmp_path / "p.sqlite3", max_bytes=int(len(first.data) * 1.5))
    store.put("a", first)
    store.put("b", prepare(photo_file(tmp_path, "b.jpg")))
    assert store.get("a") is None and store.get("b") is not None
