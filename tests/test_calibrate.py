"""``calibrate`` finds the simulator's tile rule, for every rule, and later estimates use it."""

from __future__ import annotations

import pytest
from PIL import Image

from grok_nb import simulator
from grok_nb.asking import plan_call
from grok_nb.calibration import PROBE_SIZES, calibrate, calibrated_rule
from grok_nb.tiling import RULES


@pytest.mark.parametrize("rule", sorted(RULES))
def test_calibrate_identifies_the_rule(
    rule: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with simulator.serve(rule=rule) as sim:
        monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
        monkeypatch.setenv("XAI_API_KEY", "xai-calibration-key-0123456789")
        report = calibrate("grok-4.3")
        assert len(sim.requests) == len(PROBE_SIZES)
        assert all(body.get("max_completion_tokens") == 1 for body in sim.requests)
    assert report.verdict == rule
    assert report.matches[rule] == len(PROBE_SIZES)
    assert all(n < len(PROBE_SIZES) for r, n in report.matches.items() if r != rule)
    assert report.cost_usd > 0
    assert "Calibration cost $" in capsys.readouterr().out
    assert f"'{rule}'" in report._repr_markdown_()
    assert calibrated_rule("grok-4.3") == rule
    # later estimates for that model use the learned rule
    call = plan_call("?", [Image.new("RGB", (449, 449))], model="grok-4.3")
    assert call.plans[0].rule == rule
    assert calibrated_rule("grok-4-1-fast-non-reasoning") is None
    from grok_nb.notebook.explorer import TileExplorer

    assert TileExplorer(Image.new("RGB", (449, 449)), model="grok-4.3").rule == rule
