"""One cache-directory resolver: every store follows ``GROK_NB_CACHE_DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grok_nb.api.catalogue import read_cache
from grok_nb.api.client import Client
from grok_nb.cache import paths, responses


def test_cache_dir_override_and_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    assert paths.default_cache_path() == tmp_path / "c" / "responses.sqlite3"
    assert responses.default_cache_path is paths.default_cache_path  # re-exported, not copied
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GROK_NB_CACHE_DIR", "~/elsewhere")
    assert paths.cache_dir() == tmp_path / "elsewhere"
    import platformdirs

    monkeypatch.setenv("GROK_NB_CACHE_DIR", "  ")  # blank counts as unset
    assert paths.cache_dir() == Path(platformdirs.user_cache_dir("grok_nb"))


def test_prepared_store_sits_beside_its_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path))
    assert paths.prepared_store_path() == tmp_path / "responses.prepared.sqlite3"
    assert paths.prepared_store_path(tmp_path / "x.sqlite3") == tmp_path / "x.prepared.sqlite3"
    import grok_nb.preparing as preparing

    store = preparing.prepared_store({"cache": "use", "cache_path": str(tmp_path / "y.sqlite3")})
    assert store is not None and Path(store.path) == tmp_path / "y.prepared.sqlite3"
    assert preparing.prepared_store({"cache": "off", "cache_path": None}) is None


def test_model_listing_cache_follows_grok_nb_cache_dir(
    sim: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "models-here"))
    with Client() as client:
        client.language_models(refresh=True)
    path = paths.models_cache_path(sim.base_url)
    assert path.parent == tmp_path / "models-here" and path.is_file()
    assert read_cache(sim.base_url) is not None
    assert paths.models_cache_path("https://api.x.ai/v1") != path  # one file per base URL
