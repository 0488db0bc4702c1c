"""Offline in one line: ``%grokvision_simulate``, the simulator's start/stop API, its
cache identity, and the settings a whole run takes from the environment."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image
from traitlets.config import Config

import grok_nb
from grok_nb import CacheMiss, ConfigError, MissingKeyError, simulator
from grok_nb.api.client import Client
from grok_nb.api.credentials import DEFAULT_BASE_URL, KERNEL_SIMULATOR_KEY, resolve_base_url
from grok_nb.cache.keys import normalise_base_url, request_key
from grok_nb.notebook import simulate_magic
from grok_nb.notebook.magics import _offline_note
from grok_nb.settings import GrokVision
from grok_nb.tiling import DEFAULT_RULE

NOTE = "answered by grok_nb's offline simulator, not a model"


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    return ip


@pytest.fixture(autouse=True)
def _fresh(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    settings = GrokVision.instance()
    saved = settings.options()
    settings.cache_path = str(tmp_path / "cache.sqlite3")
    monkeypatch.delenv("GROK_NB_OFFLINE", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    simulate_magic.stop()
    for name, value in saved.items():
        setattr(settings, name, value)
    import grok_nb.calls as session

    for client in session._clients.values():  # each simulator has its own port
        client.close()
    session._clients.clear()


def photo() -> Image.Image:
    return Image.linear_gradient("L").resize((320, 200)).convert("RGB")


def line(shell: InteractiveShell, text: str) -> str:
    with capture_output() as captured:
        shell.run_line_magic("grokvision_simulate", text)
    return "\n".join(str(v) for o in captured.outputs for v in o.data.values())


def ask(shell: InteractiveShell, cell: str = "What is this?") -> tuple[Any, str]:
    shell.user_ns["pic"] = photo()
    with capture_output() as captured:
        shell.run_cell_magic("grokvision", "pic", cell)
    text = "\n".join(str(v) for o in captured.outputs for v in o.data.values())
    return shell.user_ns.get("_"), text


def test_one_line_runs_offline_with_no_key_and_says_so(shell: InteractiveShell) -> None:
    assert "XAI_API_KEY" not in os.environ and "XAI_BASE_URL" not in os.environ
    shown = line(shell, "")
    sim = simulate_magic.running()
    assert sim is not None and sim.running
    assert sim.base_url in shown and "no key" in shown and "stop" in shown
    assert resolve_base_url() == sim.base_url
    assert "XAI_BASE_URL" not in os.environ  # grok_nb is pointed at it, not the environment
    answer, text = ask(shell)
    assert "simulator" in answer.text.lower() and len(sim.requests) == 1
    assert NOTE in text
    assert grok_nb.ask("Again?", photo()).text  # the Python API goes there too


def test_options_and_restart(shell: InteractiveShell) -> None:
    line(shell, "--rule ceil --latency-ms 5")
    first = simulate_magic.running()
    assert first is not None and first.rule == "ceil" and first.latency_s == pytest.approx(0.005)
    line(shell, "")  # again: restarted with the new options
    second = simulate_magic.running()
    assert second is not None and second is not first and not first.running
    assert second.rule == DEFAULT_RULE
    with pytest.raises(UsageError):
        shell.run_line_magic("grokvision_simulate", "--rule nonsense")


def test_stop_restores_the_key_requirement(shell: InteractiveShell) -> None:
    line(shell, "")
    sim = simulate_magic.running()
    assert sim is not None
    shown = line(shell, "stop")
    assert "Stopped" in shown and simulate_magic.running() is None and not sim.running
    assert resolve_base_url() == DEFAULT_BASE_URL
    assert "No grok_nb simulator" in line(shell, "stop")
    with pytest.raises(UsageError, match="no xAI API key"):
        ask(shell)


def test_no_key_only_for_the_in_kernel_simulator(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    line(shell, "")
    sim = simulate_magic.running()
    assert sim is not None
    assert Client()._secret().get() == KERNEL_SIMULATOR_KEY
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    assert Client()._secret().get() == KERNEL_SIMULATOR_KEY  # the real key is not sent to it
    monkeypatch.delenv("XAI_API_KEY")
    # another simulator, or any other endpoint: a key
    with simulator.serve() as other, pytest.raises(MissingKeyError):
        Client(base_url=other.base_url)._secret()
    with pytest.raises(MissingKeyError):
        Client(base_url="http://127.0.0.1:9/v1")._secret()


def test_explicit_base_url_is_named(shell: InteractiveShell) -> None:
    GrokVision.instance().base_url = "https://api.x.ai/v1"
    try:
        assert "GrokVision.base_url is set" in line(shell, "")
    finally:
        GrokVision.instance().base_url = None


def test_stopped_at_exit(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[Any] = []
    monkeypatch.setattr(simulate_magic.atexit, "register", registered.append)
    monkeypatch.setattr(simulate_magic.atexit, "unregister", registered.remove)
    line(shell, "")
    assert registered == [simulate_magic.stop]
    registered[0]()
    assert simulate_magic.running() is None and registered == []


def test_recordings_replay_on_another_port(shell: InteractiveShell) -> None:
    line(shell, "")
    first = simulate_magic.running()
    assert first is not None
    recorded, _ = ask(shell, "Describe it.")
    line(shell, "stop")
    line(shell, "")
    second = simulate_magic.running()
    assert second is not None and second.port != first.port
    GrokVision.instance().cache = "replay"
    again, text = ask(shell, "Describe it.")
    assert again.cached and again.text == recorded.text and second.requests == []
    assert NOTE in text


# -- the simulator across cells; no tracebacks on stderr -------------------------------


def test_serve_starts_and_stops_across_cells() -> None:
    sim = simulator.serve()
    try:
        assert sim.running and sim.base_url.endswith("/grok_nb-simulator/v1")
        assert sim.start() is sim  # again: a no-op
        with Client(api_key="k", base_url=sim.base_url) as client:
            assert client.models()
    finally:
        sim.stop()
    assert not sim.running
    sim.stop()  # again: a no-op
    with pytest.raises(ConfigError):
        sim.start()
    with simulator.serve() as sim2:  # still a context manager
        assert sim2.running
    assert not sim2.running


def test_plain_v1_routes_still_served() -> None:
    with (
        simulator.serve() as sim,
        Client(api_key="k", base_url=f"http://127.0.0.1:{sim.port}/v1") as c,
    ):
        assert c.models()
        assert sim.log[-1][1] == "/v1/models"


def _reset_connection(port: int, payload: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(payload)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST: the server's read fails with ConnectionResetError


def test_client_resets_print_no_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    with simulator.serve() as sim:
        for payload in (b"", b"GET /v1/mod", b"POST /v1/chat/completions HTTP/1.1\r\n"):
            _reset_connection(sim.port, payload)
        sim.inject("reset", after_chunks=1)
        client = Client(api_key="k", base_url=sim.base_url, max_retries=0)
        with client, pytest.raises(grok_nb.APIConnectionError):
            client.chat({"model": "grok-4.3", "messages": [{"role": "user", "content": "hi"}]})
        time.sleep(0.3)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err


# -- identity in the cache key -----------------------------------------------------------


def test_simulator_identity_is_stable_and_never_a_real_endpoint() -> None:
    body = {"model": "grok-4.3", "messages": [{"role": "user", "content": "hi"}]}
    a = "http://127.0.0.1:41234/grok_nb-simulator/v1"
    b = "http://localhost:8000/grok_nb-simulator/v1/"
    assert normalise_base_url(a) == normalise_base_url(b) == "grok_nb-simulator"
    assert request_key(body, a) == request_key(body, b)
    assert "://" not in normalise_base_url(a)
    for real in (DEFAULT_BASE_URL, "https://api.x.ai/v1", "http://127.0.0.1:8000/v1"):
        assert request_key(body, real) != request_key(body, a)
        assert "://" in normalise_base_url(real)
    # the marker counts only on loopback: another host is another endpoint
    assert normalise_base_url("https://example.com/grok_nb-simulator/v1").startswith("https://")
    assert normalise_base_url("http://127.0.0.1:1/grok_nb-simulatorx/v1").startswith("http://")
    assert simulator.PATH_PREFIX == "/grok_nb-simulator"  # what keys.py recognises


def test_offline_note_follows_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_BASE_URL", "http://127.0.0.1:8000/v1")  # some local proxy
    assert _offline_note() is None
    monkeypatch.setenv("XAI_BASE_URL", "http://127.0.0.1:9/grok_nb-simulator/v1")
    assert _offline_note() == NOTE


# -- GROK_NB_CACHE / GROK_NB_CACHE_PATH --------------------------------------------------


def test_cache_mode_and_path_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = GrokVision()
    assert settings.cache == "use" and settings.cache_path is None
    monkeypatch.setenv("GROK_NB_CACHE", " Replay ")
    monkeypatch.setenv("GROK_NB_CACHE_PATH", "answers.sqlite3")
    assert settings.cache == "replay"  # read at each use: a variable set later counts
    assert settings.cache_path == str(tmp_path / "answers.sqlite3")  # relative: from cwd
    assert settings.options()["cache"] == "replay"
    configured = GrokVision(config=Config({"GrokVision": {"cache": "use", "cache_path": "x.db"}}))
    assert configured.cache == "use" and configured.cache_path == str(tmp_path / "x.db")
    settings.cache = "off"  # an assignment (or %config) comes first
    assert settings.cache == "off"
    monkeypatch.setenv("GROK_NB_CACHE", "replya")
    with pytest.raises(ConfigError, match="GROK_NB_CACHE='replya'"):
        _ = GrokVision().cache


def test_cache_miss_says_what_was_looked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XAI_BASE_URL", "http://127.0.0.1:9/grok_nb-simulator/v1")
    with pytest.raises(CacheMiss) as info:
        grok_nb.ask(
            "Which  colours are in this gradient image, from left to right, and how many?",
            photo(),
            cache="replay",
            model="grok-4.3",
            cache_path="miss.sqlite3",
        )
    msg = str(info.value)
    assert "endpoint grok_nb-simulator (http://127.0.0.1:9/grok_nb-simulator/v1)" in msg
    assert "model grok-4.3" in msg and "'Which colours are in this gradient" in msg
    assert "1 image" in msg and "320×200" in msg
    assert str(tmp_path / "miss.sqlite3") in msg
    assert "key " in msg and "cache='use'" in msg and "GROK_NB_CACHE" in msg


# -- in a real kernel, as a user types it ------------------------------------------------


@pytest.mark.kernel
def test_offline_in_one_line_in_a_real_kernel(tmp_path: Path) -> None:
    import nbformat
    from conftest import REPO
    from nbclient import NotebookClient

    cells = [
        "%load_ext grok_nb\n%grokvision_simulate",
        "from PIL import Image\npic = Image.new('RGB', (300, 200), 'red')",
        "%%grokvision pic\nWhat is this?",
        "import os\nprint('env untouched:', 'XAI_BASE_URL' not in os.environ)",
        "from grok_nb.notebook import simulate_magic\n"
        "simulate_magic.running().inject('reset', after_chunks=1)",
        "%%grokvision pic\nAnd now?",  # the connection drops mid-answer
        "import time\ntime.sleep(0.5)\nprint('after the reset')",
        "%grokvision_simulate stop",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    mp = pytest.MonkeyPatch()
    for name in ("MPLBACKEND", "XAI_API_KEY", "XAI_BASE_URL", "GROK_NB_OFFLINE"):
        mp.delenv(name, raising=False)
    mp.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "cache"))
    mp.setenv("PYTHONPATH", str(REPO))
    try:
        NotebookClient(
            nb, timeout=120, kernel_name="python3", allow_errors=True,
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()  # fmt: skip
    finally:
        mp.undo()

    def text(cell: Any) -> str:
        return "\n".join(
            o.get("text", "")
            + o.get("evalue", "")
            + "\n".join(map(str, o.get("data", {}).values()))
            for o in cell.outputs
        )

    assert "offline simulator is running for this kernel" in text(nb.cells[0])
    assert NOTE in text(nb.cells[2]) and "image tokens" in text(nb.cells[2])
    assert "env untouched: True" in text(nb.cells[3])
    assert "UsageError" in text(nb.cells[5])  # one line: the partial answer and the error
    assert "after the reset" in text(nb.cells[6]) and "Stopped" in text(nb.cells[7])
    every = "\n".join(text(c) for c in nb.cells)
    assert "Traceback" not in every and "ConnectionResetError" not in every
    assert "no xAI API key" not in every
