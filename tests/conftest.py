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


def run_in_kernel(nb: Any, folder: Path, env: dict[str, str], unset: tuple[str, ...] = ()) -> Any:
    """Execute ``nb`` in a real kernel started in ``folder`` with ``env`` set (and
    ``unset`` removed), importing this checkout's grok_nb; errors stay in the outputs."""
    from nbclient import NotebookClient

    mp = pytest.MonkeyPatch()
    for name in ("MPLBACKEND", *unset):  # MPLBACKEND would defeat the inline backend
        mp.delenv(name, raising=False)
    for name, value in env.items():
        mp.setenv(name, value)
    mp.setenv("PYTHONPATH", str(REPO))
    try:
        NotebookClient(
            nb,
            timeout=180,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        ).execute()
    finally:
        mp.undo()
    return nb


def cell_text(cell: Any) -> str:
    """Everything a saved cell shows as text: streams, every mimetype, error values."""
    import json

    chunks = []
    for out in cell.get("outputs", []):
        chunks.append(out.get("text", ""))
        for value in out.get("data", {}).values():
            chunks.append(value if isinstance(value, str) else json.dumps(value))
        chunks.append(out.get("evalue", ""))
    return "\n".join(chunks)
