"""``grok-nb tiles``: a table or JSON; one clear line and exit code 2 for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from PIL import Image

from grok_nb.cli import main


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    a = tmp_path / "wide.png"
    Image.new("RGB", (1920, 1080), (10, 120, 200)).save(a)
    b = tmp_path / "square.jpg"
    Image.new("RGB", (448, 448), (200, 40, 40)).save(b)
    return [a, b]


def test_table_lists_each_image_and_a_total(
    photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tiles", *map(str, photos)]) == 0
    out = capsys.readouterr().out
    assert "wide.png" in out and "1920x1080" in out and "2x1" in out and "768" in out
    assert "square.jpg" in out and "512" in out
    assert "total" in out and "1,280" in out
    assert "rule xai-guide" in out


def test_json_output(photos: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiles", "--json", "--rule", "ceil", str(photos[0])]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["grid"] == [3, 2] and row["tokens"] == 1792 and row["rule"] == "ceil"
    # priced on the default model: offline, the cheapest current vision model of the
    # dated table (grok-4.20-0309-non-reasoning, $1.25 per million prompt tokens)
    assert row["cost_usd"] == pytest.approx(1792 * 1.25 / 1e6)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "grok_nb.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: (d / "notes.png").write_text("hello") and d / "notes.png", "text file"),
        (lambda d: (d / "empty.jpg").write_bytes(b"") or d / "empty.jpg", "empty"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    done = _run("tiles", str(path), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert path.name in lines[0] and reason in lines[0].lower()
    assert "Traceback" not in done.stderr


def test_unknown_rule_is_a_usage_error(tmp_path: Path) -> None:
    done = _run("tiles", "--rule", "square", "x.png", cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_simulate_serves_until_stopped(tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_nb.cli", "simulate", "--port", str(port), "--rule", "ceil"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                models = httpx.get(
                    f"http://127.0.0.1:{port}/v1/models",
                    headers={"Authorization": "Bearer any-key"},
                    timeout=1,
                ).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        ids = {m["id"] for m in models["data"]}
        assert "grok-4.3" in ids and "grok-4.20-0309-non-reasoning" in ids
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"127.0.0.1:{port}" in out


def test_ask_and_calibrate_against_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from grok_nb import simulator

    img = tmp_path / "p.png"
    Image.new("RGB", (640, 480), (10, 120, 200)).save(img)
    with simulator.serve(rule="internvl") as sim:
        monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
        monkeypatch.setenv("XAI_API_KEY", "xai-cli-test-key-0123456789abcdef")
        assert main(["ask", str(img), "-p", "What colour?"]) == 0
        out, err = capsys.readouterr()
        assert "offline" in out and "640×480" in out
        assert "image tokens 1,792 billed = 1,792 est." in err
        assert main(["calibrate"]) == 0
        assert "matches rule 'internvl'" in capsys.readouterr().out
