"""``calibrate`` finds the simulator's tile rule, for every rule, and later estimates use it."""

from __future__ import annotations

import pytest
from PIL import Image

from grok_nb import simulator
from grok_nb.asking import plan_call
from grok_nb.calibration import PROBE_SIZES, calibrate
from grok_nb.rules import lookup_calibration, rule_in_force
from grok_nb.tiling import RULES


@pytest.mark.parametrize("rule", sorted(RULES))
def test_calibrate_identifies_the_rule_for_that_endpoint_only(
    rule: str, monkeypatch: pytest.MonkeyPatch
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
    assert "Calibration cost $" in report.summary()
    assert f"'{rule}'" in report._repr_markdown_()
    entry = lookup_calibration(sim.base_url, "grok-4.3")
    assert entry is not None and entry.rule == rule
    # later estimates for that endpoint and model use the learned rule, and say so
    call = plan_call("?", [Image.new("RGB", (449, 449))], model="grok-4.3")
    assert call.plans[0].rule == rule
    assert call.plans[0].rule_source == f"calibrated for grok-4.3 at {sim.base_url}"
    assert lookup_calibration(sim.base_url, "grok-4-1-fast-non-reasoning") is None
    from grok_nb.notebook.explorer import TileExplorer

    ex = TileExplorer(Image.new("RGB", (449, 449)), model="grok-4.3")
    assert ex.rule == rule and ex.rule_source.startswith("calibrated")
    # another endpoint (the real API, say) is not touched by the simulator's verdict
    other = rule_in_force(model="grok-4.3", endpoint="https://api.x.ai/v1")
    assert (other.name, other.source) == ("xai-guide", "default")
    monkeypatch.setenv("XAI_BASE_URL", "https://api.x.ai/v1")
    assert (
        plan_call("?", [Image.new("RGB", (449, 449))], model="grok-4.3").plans[0].rule_source
        == "default"
    )
