"""One rule in force, whatever the entry point.

For random combinations of an explicit rule, ``%config GrokVision.tile_rule``, a
calibration stored for the endpoint (and a decoy stored for another endpoint) and an
explorer's own choice, the magic, ``ask``, ``ask_many``, ``tiles``, the explorer and
the CLI report the same rule, the same source and the same tokens for the same image
(the requests really go to the simulator over loopback).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import TEST_KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

import grok_nb
from grok_nb import simulator
from grok_nb.cli import main as cli
from grok_nb.notebook.explorer import TileExplorer
from grok_nb.rules import forget_calibration, rule_in_force, save_calibration
from grok_nb.settings import AUTO_RULE, current
from grok_nb.tiling import DEFAULT_RULE, RULES, plan

RULE_NAMES = sorted(RULES)
MODEL = "grok-4.3"
# sizes on which the built-in rules disagree, so a wrong rule shows in the tokens
SIZES = [(449, 449), (300, 200), (1920, 1080), (200, 1000)]


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    return ip


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with simulator.serve() as sim:
        yield sim


def expected(
    explicit: str | None, explorer: str | None, configured: str, calibrated: str | None
) -> tuple[str, str]:
    if explicit:
        return explicit, "given"
    if explorer:
        return explorer, "explorer"
    if configured != AUTO_RULE:
        return configured, "%config"
    if calibrated:
        return calibrated, "calibrated"
    return DEFAULT_RULE, "default"


def magic_plan(shell: InteractiveShell, name: str, explicit: str | None) -> Any:
    line = f"{name} --no-cache --no-tiles -o out" + (f" --rule {explicit}" if explicit else "")
    with capture_output():
        shell.run_cell_magic("grokvision", line, "Describe it.")
    return shell.user_ns["out"].images[0]


def cli_plan(path: Path, explicit: str | None, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    args = ["tiles", str(path), "--json", "--model", MODEL]
    assert cli(args + (["--rule", explicit] if explicit else [])) == 0
    return json.loads(capsys.readouterr().out)[0]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    explicit=st.sampled_from([None, *RULE_NAMES]),
    explorer=st.sampled_from([None, *RULE_NAMES]),
    configured=st.sampled_from([AUTO_RULE, *RULE_NAMES]),
    calibrated=st.sampled_from([None, *RULE_NAMES]),
    size=st.sampled_from(SIZES),
)
def test_every_entry_point_reports_the_same_rule_and_tokens(
    shell: InteractiveShell,
    server: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    explicit: str | None,
    explorer: str | None,
    configured: str,
    calibrated: str | None,
    size: tuple[int, int],
) -> None:
    env = {"XAI_BASE_URL": server.base_url, "XAI_API_KEY": TEST_KEY}
    with mock.patch.dict(os.environ, env):
        settings_ = current()
        saved = settings_.options()
        forget_calibration()
        try:
            settings_.model = MODEL
            settings_.tile_rule = configured
            if calibrated:
                save_calibration(server.base_url, MODEL, calibrated, [])
            decoy = next(r for r in RULE_NAMES if r != (calibrated or DEFAULT_RULE))
            save_calibration("https://api.x.ai/v1", MODEL, decoy, [])  # never applies here

            image = Image.new("RGB", size, (30, 120, 200))
            path = tmp_path / "image.png"
            image.save(path)
            source: Any = image if explorer is None else TileExplorer(image, rule=explorer)
            want_rule, want_source = expected(explicit, explorer, configured, calibrated)
            want_tokens = plan(*size, rule=want_rule).tokens

            shell.user_ns["src"] = source
            reported = {
                "tiles": grok_nb.tiles(source, rule=explicit),
                "ask": grok_nb.ask("Describe it.", source, tile_rule=explicit, cache="off").images[
                    0
                ],
                "ask_many": grok_nb.ask_many(
                    [source], "Describe it.", tile_rule=explicit, cache="off", progress=False
                )[0].images[0],
                "magic": magic_plan(shell, "src", explicit),
                "explorer": TileExplorer(image, rule=explicit or explorer).plan,
            }
            # a rule handed to an explorer is the explorer's own choice
            own = expected(None, explicit or explorer, configured, calibrated)[1]
            for where, p in reported.items():
                assert (p.rule, p.tokens) == (want_rule, want_tokens), where
                source = own if where == "explorer" else want_source
                assert (p.rule_source or "").split(" ")[0] == source, where
            if explorer is None:  # the CLI takes files, not explorers
                record = cli_plan(path, explicit, capsys)
                assert (record["rule"], record["tokens"]) == (want_rule, want_tokens)
                assert record["rule_source"].split(" ")[0] == want_source
            choice = rule_in_force(model=MODEL, endpoint=server.base_url, explicit=explicit)
            assert choice.name == (explicit or expected(None, None, configured, calibrated)[0])
        finally:
            for name, value in saved.items():
                setattr(settings_, name, value)
            forget_calibration()


def test_a_stored_calibration_of_an_unknown_shape_is_ignored(tmp_path: Path) -> None:
    from grok_nb.rules import calibration_path, lookup_calibration

    calibration_path().parent.mkdir(parents=True, exist_ok=True)
    calibration_path().write_text('{"grok-4.3": {"rule": "ceil"}}')  # the old, endpoint-less form
    assert lookup_calibration("https://api.x.ai/v1", "grok-4.3") is None
    calibration_path().write_text('{"version": 2, "entries": {"x": {"rule": 5}}}')
    assert rule_in_force(model="grok-4.3", endpoint="https://api.x.ai/v1").source == "default"
