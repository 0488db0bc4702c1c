"""Shared fixtures: every test runs with no real key, and with caches in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_KEY = "xai-test-key-do-not-leak-0123456789abcdef"  # distinctive, so leaks are findable


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    monkeypatch.delenv("XAI_BASE_URL", raising=False)
    monkeypatch.delenv("GROK_NB_CACHE", raising=False)
    monkeypatch.delenv("GROK_NB_CACHE_PATH", raising=False)
    yield
    from grok_nb.notebook import simulate_magic

    simulate_magic.stop()  # a test that ran %grokvision_simulate leaves no simulator behind


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A simulator on loopback, with the environment pointing at it and a test key set."""
    from grok_nb import simulator

    with simulator.serve() as server:
        monkeypatch.setenv("XAI_BASE_URL", server.base_url)
        monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        monkeypatch.chdir(tmp_path)
        yield server
    import grok_nb.calls as session

    for client in session._clients.values():  # each test's simulator has its own URL
        client.close()
    session._clients.clear()
