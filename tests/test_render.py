"""Tile overlays display in a notebook and in a saved file with no kernel."""

from __future__ import annotations

import base64
import io

from PIL import Image

from grok_nb.render import plan_mimebundle, plan_overlay, plans_mimebundle
from grok_nb.tiling import plan


def _gradient(w: int, h: int) -> Image.Image:
    return Image.linear_gradient("L").resize((w, h)).convert("RGB")


def test_overlay_draws_grid_and_extra_tile() -> None:
    p = plan(1200, 500).with_preview(_gradient(1200, 500), "grad")
    img = plan_overlay(p)
    assert img.width > 360  # image plus the extra tile beside it
    # grid colour present on the tile border between the two tiles
    assert (255, 64, 129) in {img.getpixel((180, y)) for y in range(10, 140)}


def test_mimebundle_is_self_contained() -> None:
    p = plan(300, 200).with_preview(_gradient(300, 200), "small.png")
    bundle, metadata = p._repr_mimebundle_()
    assert "grok_nb" in metadata  # marks it as our drawing, not the user's image
    assert set(bundle) >= {"text/plain", "text/html", "image/png"}
    assert "small.png" in bundle["text/plain"] and "1,792 tokens" in bundle["text/plain"]
    assert 'src="data:image/png;base64,' in bundle["text/html"]
    png = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert png.format == "PNG"


def test_size_only_plan_and_padding_rule_render() -> None:
    bundle = plan_mimebundle(plan(1000, 700, rule="ceil"), model="grok-4.3")
    assert "grok-4.3" in bundle["text/plain"] and "rule ceil" in bundle["text/plain"]


def test_assumption_is_shown() -> None:
    bundle = plan_mimebundle(plan(1000, 700, detail="low"))
    assert "assumption" in bundle["text/plain"]


def test_several_plans_show_a_total() -> None:
    bundle = plans_mimebundle([plan(1920, 1080), plan(448, 448)])
    assert "2 images · 1,280 image tokens" in bundle["text/plain"]


def test_extreme_panoramas_render() -> None:
    for size in ((20000, 2), (2, 30000), (100_000, 1)):
        img = plan_overlay(plan(*size).with_preview(_gradient(*size), "strip"))
        assert img.width > 0 and img.height > 0
