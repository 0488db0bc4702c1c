"""The shared tile vectors, and grok_nb.tiling held to references independent of it.

tests/data/tile_vectors.json is what js/tiles.js is tested against (node --test
tests/js/). Here it is checked to be current, and every grid is checked against a
transcription of InternVL's reference ``dynamic_preprocess`` (internvl_chat/internvl/
train/dataset.py: a Python set of candidate grids sorted by cols*rows, double
precision aspect differences, ties to the later grid above half its pixel area),
the ``ceil`` rule against an exact search over every grid, and the invariants of
every plan are checked with hypothesis.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grok_nb.errors import ConfigError, GrokError, ImageError
from grok_nb.tiling import ASPECT_CANDIDATES, RULES, plan

DATA = Path(__file__).parent / "data"
VECTORS_PATH = DATA / "tile_vectors.json"
TILE = 448


def load_vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


VECTORS = load_vectors()


# --- references, written independently of grok_nb.tiling --------------------------


def reference_target_ratios(min_num: int = 1, max_num: int = 6) -> list[tuple[int, int]]:
    # As the reference: every (i, j) with i*j in [min_num, max_num], collected in a
    # set (CPython's iteration order for small-int tuples is fixed), then a stable
    # sort by the product.
    grids = {
        (i, j)
        for n in range(min_num, max_num + 1)
        for i in range(1, n + 1)
        for j in range(1, n + 1)
        if min_num <= i * j <= max_num
    }
    return sorted(grids, key=lambda g: g[0] * g[1])


def reference_closest_grid(width: int, height: int, image_size: int = TILE) -> tuple[int, int]:
    aspect_ratio = width / height
    best_diff = float("inf")
    best = (1, 1)
    area = width * height
    for cols, rows in reference_target_ratios():
        diff = abs(aspect_ratio - cols / rows)
        if diff < best_diff:
            best_diff = diff
            best = (cols, rows)
        elif diff == best_diff and area > 0.5 * image_size * image_size * cols * rows:
            best = (cols, rows)
    return best


def reference_blocks(width: int, height: int, use_thumbnail: bool) -> tuple[tuple[int, int], int]:
    """(resized canvas, number of images) as dynamic_preprocess produces them."""
    cols, rows = reference_closest_grid(width, height)
    target_w, target_h = TILE * cols, TILE * rows
    blocks = cols * rows
    tiles = []
    for i in range(blocks):  # crop boxes on the resized canvas, as the reference
        col, row = i % (target_w // TILE), i // (target_w // TILE)
        tiles.append((col * TILE, row * TILE, (col + 1) * TILE, (row + 1) * TILE))
    assert tiles[-1][2:] == (target_w, target_h)
    count = blocks + (1 if use_thumbnail and blocks != 1 else 0)
    return (target_w, target_h), count


def reference_ceil_canvas(width: int, height: int) -> tuple[int, int]:
    # Exact search over every grid with cols*rows <= 6 (not only rows = 6 // cols):
    # the largest scale s <= 1 such that the scaled image fits that grid.
    best = Fraction(0)
    for cols in range(1, 7):
        for rows in range(1, 7):
            if cols * rows <= 6:
                s = min(Fraction(1), Fraction(TILE * cols, width), Fraction(TILE * rows, height))
                best = max(best, s)
    return max(1, math.floor(width * best)), max(1, math.floor(height * best))


# --- the vector file ---------------------------------------------------------------


def test_vector_file_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_tile_vectors", DATA / "make_tile_vectors.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dumps(module.build()) == VECTORS_PATH.read_text(encoding="utf-8"), (
        "tests/data/tile_vectors.json is stale: run python tests/data/make_tile_vectors.py"
    )


def test_vector_file_covers_what_it_must() -> None:
    vectors = VECTORS["vectors"]
    sizes = {(v["width"], v["height"]) for v in vectors}
    assert len(sizes) >= 200
    for must in [(1, 1), (448, 448), (449, 449), (447, 448), (100000, 1), (1, 100000)]:
        assert must in sizes
    combos = {(v["rule"], v["detail"]) for v in vectors}
    assert combos == {(r, d) for r in RULES for d in ("high", "low", "auto")}
    # every size appears under every rule and detail
    assert len(vectors) == len(sizes) * len(combos)
    # exact ties are present on both sides of the area threshold
    tie_grids = {
        tuple(v["plan"]["grid"])
        for v in vectors
        if v["case"] == "aspect tie" and v["rule"] == "xai-guide" and v["detail"] == "high"
    }
    assert {(1, 1), (2, 2), (3, 2), (2, 1), (3, 1), (1, 4), (1, 5)} <= tie_grids


def test_aspect_candidates_follow_reference_order() -> None:
    assert list(ASPECT_CANDIDATES) == reference_target_ratios()
    assert VECTORS["aspect_candidates"] == [list(g) for g in reference_target_ratios()]


def test_every_vector_matches_python() -> None:
    mismatches = [
        v
        for v in VECTORS["vectors"]
        if plan(v["width"], v["height"], rule=v["rule"], detail=v["detail"]).to_dict() != v["plan"]
    ]
    assert mismatches == []


def test_every_vector_matches_the_reference_layouts() -> None:
    checked = 0
    for v in VECTORS["vectors"]:
        w, h, p = v["width"], v["height"], v["plan"]
        if v["detail"] == "low":
            assert p["grid"] == [1, 1]
            assert max(p["resized"]) <= TILE or (w, h) == tuple(p["resized"])
            continue
        layout = RULES[v["rule"]].layout
        if layout == "aspect":
            canvas, count = reference_blocks(w, h, use_thumbnail=v["rule"] == "internvl")
            assert p["grid"] == [canvas[0] // TILE, canvas[1] // TILE], v
            assert p["resized"] == list(canvas), v
            if v["rule"] == "internvl":
                assert p["tiles"] + p["extra_tiles"] == count, v
            else:  # xai-guide: the extra tile always
                assert p["extra_tiles"] == 1, v
        else:
            canvas = reference_ceil_canvas(w, h)
            assert p["resized"] == list(canvas), v
            assert p["grid"] == [math.ceil(canvas[0] / TILE), math.ceil(canvas[1] / TILE)], v
        checked += 1
    assert checked > 1000


@pytest.mark.parametrize("case", VECTORS["errors"], ids=lambda c: c["message"][:40])
def test_error_vectors(case: dict[str, Any]) -> None:
    cls = {"ImageError": ImageError, "ConfigError": ConfigError}[case["error"]]
    with pytest.raises(cls) as info:
        plan(
            case["width"], case["height"], rule=case.get("rule"), detail=case.get("detail", "high")
        )
    assert str(info.value) == case["message"]
    assert isinstance(info.value, GrokError)


# --- properties over random sizes ---------------------------------------------------

sizes = st.integers(min_value=1, max_value=200_000)
rules = st.sampled_from(sorted(RULES))
details = st.sampled_from(["high", "low", "auto"])


def _assert_partition(boxes: list[list[int]], width: int, height: int) -> None:
    for left, top, right, bottom in boxes:
        assert 0 <= left <= right <= width and 0 <= top <= bottom <= height
    assert sum((r - le) * (b - t) for le, t, r, b in boxes) == width * height
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_w <= 0 or overlap_h <= 0, (a, b)


@settings(max_examples=300, deadline=None)
@given(width=sizes, height=sizes, rule=rules, detail=details)
def test_plan_invariants(width: int, height: int, rule: str, detail: str) -> None:
    p = plan(width, height, rule=rule, detail=detail)
    r = RULES[rule]
    assert p.tokens == (p.tiles + p.extra_tiles) * r.tokens_per_tile
    assert p.grid[0] * p.grid[1] == p.tiles == len(p.boxes)
    assert 1 <= p.tiles <= 6
    assert p.tokens <= 1792
    assert p.extra_tiles in (0, 1)
    # boxes tile the original image exactly: no gaps, no overlaps
    _assert_partition([list(b) for b in p.boxes], width, height)
    # and the grid's tiles cover the resized canvas exactly
    rw, rh = p.resized
    assert (p.grid[0] - 1) * TILE < rw <= p.grid[0] * TILE or p.detail == "low"
    assert (p.grid[1] - 1) * TILE < rh <= p.grid[1] * TILE or p.detail == "low"
    assert p == plan(width, height, rule=rule, detail=detail)  # deterministic
    if detail != "low" and r.layout == "aspect":
        assert p.grid == reference_closest_grid(width, height)
    if detail != "low" and r.layout == "ceil":
        assert p.resized == reference_ceil_canvas(width, height)
        assert rw <= width and rh <= height  # never upscaled


@settings(max_examples=100, deadline=None)
@given(side=st.integers(min_value=1, max_value=5000), rule=rules)
def test_square_images_choose_between_one_and_four_tiles(side: int, rule: str) -> None:
    p = plan(side, side, rule=rule)
    if RULES[rule].layout == "aspect":
        # 1x1 and 2x2 tie exactly; 2x2 wins above half of its 896x896 pixel area
        assert p.grid == ((2, 2) if side * side > 0.5 * 896 * 896 else (1, 1))
