"""Known plans for each rule, and clean errors for bad sizes, rules and details."""

from __future__ import annotations

import pytest

from grok_nb import ConfigError, GrokError, ImageError, TilePlan
from grok_nb.tiling import RULES, TileRule, get_rule, plan, register_rule


@pytest.mark.parametrize(
    ("size", "rule", "grid", "tokens"),
    [
        ((1, 1), "xai-guide", (1, 1), 512),
        ((1, 1), "internvl", (1, 1), 256),
        ((448, 448), "ceil", (1, 1), 512),
        ((449, 449), "ceil", (2, 2), 1280),
        ((300, 200), "xai-guide", (3, 2), 1792),  # small images are stretched up
        ((300, 200), "ceil", (1, 1), 512),  # ...or kept, never upscaled
        ((1920, 1080), "xai-guide", (2, 1), 768),
        ((1920, 1080), "ceil", (3, 2), 1792),
        ((4032, 3024), "internvl", (3, 2), 1792),
        ((1000, 1000), "xai-guide", (2, 2), 1280),  # square tie goes to the larger grid
        ((600, 600), "xai-guide", (1, 1), 512),  # ...only when area > half of it
        ((100_000, 1), "xai-guide", (6, 1), 1792),
        ((1, 100_000), "ceil", (1, 6), 1792),
    ],
)
def test_known_plans(size: tuple[int, int], rule: str, grid: tuple[int, int], tokens: int) -> None:
    p = plan(*size, rule=rule)
    assert p.grid == grid
    assert p.tokens == tokens
    assert p.tiles == grid[0] * grid[1]


def test_aspect_rules_stretch_to_the_grid_canvas() -> None:
    p = plan(300, 200)
    assert p.resized == (1344, 896)
    assert p.boxes[0] == (0, 0, 100, 100)
    assert p.boxes[-1] == (200, 100, 300, 200)


def test_ceil_keeps_aspect_and_never_upscales() -> None:
    p = plan(4000, 1000, rule="ceil")
    w, h = p.resized
    assert w <= 4000 and abs(w / h - 4.0) < 0.01
    assert -(-w // 448) * -(-h // 448) <= 6


def test_low_detail_is_one_tile_and_marked_as_assumption() -> None:
    p = plan(4032, 3024, detail="low")
    assert (p.grid, p.tokens, p.boxes) == ((1, 1), 512, ((0, 0, 4032, 3024),))
    assert p.resized == (448, 336)
    assert p.assumption and "low" in p.assumption
    assert plan(4032, 3024, rule="internvl", detail="low").tokens == 256
    assert "auto" in (plan(10, 10, detail="auto").assumption or "")


def test_cost_uses_the_prompt_rate() -> None:
    p = plan(1920, 1080)  # 768 tokens
    assert p.cost_usd("grok-4-1-fast-non-reasoning") == pytest.approx(768 * 0.20 / 1e6)
    assert p.cost_usd("grok-4.3") == pytest.approx(768 * 1.25 / 1e6)
    assert p.cost_usd("no-such-model") is None


def test_to_dict_round_trips_the_public_fields() -> None:
    d = plan(1200, 500, rule="internvl").to_dict()
    assert d["grid"] == [2, 1] and d["tokens"] == 768 and d["rule"] == "internvl"
    assert len(d["boxes"]) == 2 and d["resized"] == [896, 448]


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-1, 5), (1.5, 3), (True, 3)])
def test_bad_sizes_raise_image_error(size: tuple[object, object]) -> None:
    with pytest.raises(ImageError, match="positive integers"):
        plan(*size)  # type: ignore[arg-type]


def test_unknown_rule_and_detail_name_the_value() -> None:
    with pytest.raises(ConfigError, match=r"'square'.*known rules: ceil, internvl, xai-guide"):
        plan(10, 10, rule="square")
    with pytest.raises(ConfigError, match="'medium'"):
        plan(10, 10, detail="medium")
    assert issubclass(ConfigError, GrokError)


def test_rules_are_pluggable() -> None:
    rule = TileRule("test-ceil-4", "ceil", "multi", "at most 4 tiles", max_tiles=4)
    register_rule(rule)
    try:
        p = plan(4000, 3000, rule="test-ceil-4")
        assert p.tiles <= 4 and p.rule == "test-ceil-4"
        assert get_rule("test-ceil-4") is rule
    finally:
        del RULES["test-ceil-4"]


def test_plan_is_a_value() -> None:
    a, b = plan(640, 480), plan(640, 480)
    assert a == b and isinstance(a, TilePlan)
    assert "640x480" in str(a) and "1792 tokens" in str(a)
