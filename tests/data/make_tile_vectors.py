"""Generate tests/data/tile_vectors.json from grok_nb.tiling.

Run from the repository root: ``python tests/data/make_tile_vectors.py``.
pytest (tests/test_tile_vectors.py) fails if the committed file differs from what
this script builds, and ``node --test tests/js/`` holds js/tiles.js to the same file.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("tile_vectors.json")

SPECIAL = [
    (1, 1), (2, 1), (1, 2), (3, 1), (1, 3), (2, 2), (7, 1), (1, 7),
    (447, 448), (448, 447), (448, 448), (449, 449), (447, 447), (449, 448), (448, 449),
    (1, 448), (448, 1), (896, 448), (897, 448), (448, 896), (896, 896), (897, 897),
    (1344, 896), (1345, 896), (1344, 897), (896, 1344), (1343, 1343), (1344, 1344),
    (1792, 448), (1793, 448), (2240, 448), (2688, 448), (2689, 448), (448, 2688),
    (2688, 1), (1, 2688), (2689, 1), (1, 2689), (100000, 1), (1, 100000),
    (100000, 100000), (65535, 65535), (100000, 7), (7, 100000), (30000, 448), (448, 30000),
    (5000, 5000), (12345, 6789),
]  # fmt: skip

CAMERA_AND_SCREEN = [
    (16, 9), (9, 16), (4, 3), (3, 4), (32, 32), (64, 64), (96, 96), (128, 128),
    (224, 224), (256, 256), (300, 250), (160, 600), (728, 90), (970, 250), (512, 512),
    (640, 480), (800, 600), (1024, 768), (1024, 1024), (1280, 720), (1280, 800),
    (1366, 768), (1440, 900), (1536, 864), (1600, 900), (1920, 1080), (1080, 1920),
    (1920, 1200), (2048, 1536), (2048, 2048), (2560, 1440), (2560, 1600), (3840, 2160),
    (4000, 3000), (3000, 4000), (4032, 3024), (3024, 4032), (5472, 3648), (6000, 4000),
    (7680, 4320), (750, 1334), (828, 1792), (1170, 2532), (1284, 2778), (1080, 2400),
    (2880, 1800), (3456, 2234), (1200, 630), (1080, 1080), (1080, 1350),
]  # fmt: skip

# Aspect ratios where two candidate grids are exactly equidistant in double
# precision (found by search; 5:4 ties three grids: 1x1, 2x2 and 3x2). The reference
# code moves to a later grid in the tie only when the image area exceeds half that
# grid's pixel area, so each ratio appears just below and just above each threshold.
MIDPOINTS = [(5, 4), (7, 4), (5, 2), (7, 2), (9, 2), (11, 2), (9, 40)]

# Square images: (1, 1) and (2, 2) tie exactly; 2x2 wins above 0.5 * 896 * 896 px.
SQUARE_TIE = [(632, 632), (633, 633), (634, 634), (635, 635)]

ERRORS: list[dict[str, Any]] = [
    {"width": 0, "height": 1},
    {"width": 1, "height": 0},
    {"width": -5, "height": 10},
    {"width": 1.5, "height": 10},
    {"width": "10", "height": 10},
    {"width": 10, "height": 10, "rule": "nope"},
    {"width": 10, "height": 10, "rule": "XAI-GUIDE"},
    {"width": 10, "height": 10, "detail": "medium"},
    {"width": 10, "height": 10, "detail": "HIGH"},
]


def tie_scales(p: int, q: int) -> list[int]:
    """Multipliers k putting a p:q image just below/above each tie's area threshold."""
    from grok_nb.tiling import ASPECT_CANDIDATES

    diffs = [abs(p / q - c / r) for c, r in ASPECT_CANDIDATES]
    tied = [g for g, d in zip(ASPECT_CANDIDATES, diffs, strict=True) if d == min(diffs)]
    assert len(tied) > 1, f"{p}:{q} is not an exact tie"
    ks = [1]
    for c, r in tied[1:]:
        k = math.isqrt(448 * 448 * c * r // (2 * p * q))
        ks += [k, k + 1]
    return ks


def sizes() -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    out += [("special", w, h) for w, h in SPECIAL]
    out += [("camera/screen", w, h) for w, h in CAMERA_AND_SCREEN]
    out += [("aspect tie", p * k, q * k) for p, q in MIDPOINTS for k in tie_scales(p, q)]
    out += [("square 2x2 threshold", w, h) for w, h in SQUARE_TIE]
    rng = random.Random(448)
    for _ in range(85):  # log-uniform sizes, 1 px to 20,000 px a side
        out.append(("random", int(10 ** rng.uniform(0, 4.3)), int(10 ** rng.uniform(0, 4.3))))
    for _ in range(20):  # near-square, around the tile sizes
        s = rng.randint(300, 1400)
        out.append(("random near-square", s, s + rng.randint(-3, 3)))
    seen: set[tuple[int, int]] = set()
    unique = []
    for case, w, h in out:
        if (w, h) not in seen:
            seen.add((w, h))
            unique.append((case, w, h))
    return unique


def framings() -> list[dict[str, Any]]:
    """Crops and scales for the explorer's framed size (half-pixel ties included)."""
    from grok_nb.notebook.explorer import framed_size

    rng = random.Random(2688)
    cases: list[tuple[list[int], float]] = [
        ([0, 0, 5, 3], 0.5),  # 2.5 -> 3, 1.5 -> 2
        ([0, 0, 1001, 999], 0.5),
        ([10, 20, 17, 27], 0.35),  # 2.4499999999999997 in doubles -> 2
        ([0, 0, 1, 1], 0.01),
        ([0, 0, 4000, 3000], 1.0),
        ([0, 0, 100000, 1], 0.005),
    ]
    for _ in range(150):
        w, h = rng.randint(1, 9000), rng.randint(1, 9000)
        x0, y0 = rng.randint(0, w - 1), rng.randint(0, h - 1)
        crop = [x0, y0, rng.randint(x0 + 1, w), rng.randint(y0 + 1, h)]
        scale = rng.choice([round(0.01 + 0.005 * rng.randint(0, 198), 6), rng.uniform(0.001, 1)])
        cases.append((crop, scale))
    return [{"crop": c, "scale": s, "framed": list(framed_size(c, s))} for c, s in cases]


def build() -> dict[str, Any]:
    from grok_nb.errors import GrokError
    from grok_nb.tiling import ASPECT_CANDIDATES, DETAILS, RULES, plan

    vectors = []
    for case, w, h in sizes():
        for rule in RULES:
            for detail in ("high", "low", "auto"):
                vectors.append(
                    {
                        "case": case,
                        "width": w,
                        "height": h,
                        "rule": rule,
                        "detail": detail,
                        "plan": plan(w, h, rule=rule, detail=detail).to_dict(),
                    }
                )
    errors = []
    for bad in ERRORS:
        try:
            plan(
                bad["width"], bad["height"], rule=bad.get("rule"), detail=bad.get("detail", "high")
            )
        except GrokError as exc:
            errors.append({**bad, "error": type(exc).__name__, "message": str(exc)})
        else:
            raise AssertionError(f"no error for {bad}")
    return {
        "about": "tile plans from grok_nb.tiling; regenerate with tests/data/make_tile_vectors.py",
        "aspect_candidates": [list(c) for c in ASPECT_CANDIDATES],
        "details": list(DETAILS),
        "rules": {
            name: {
                "layout": r.layout,
                "extra_tile": r.extra_tile,
                "tile_size": r.tile_size,
                "tokens_per_tile": r.tokens_per_tile,
                "max_tiles": r.max_tiles,
            }
            for name, r in RULES.items()
        },
        "vectors": vectors,
        "errors": errors,
        "framing": framings(),
    }


def dumps(data: dict[str, Any]) -> str:
    # One vector per line: small diffs when a rule changes, still valid JSON.
    lists = ("vectors", "errors", "framing")
    head = {k: v for k, v in data.items() if k not in lists}
    lines = [json.dumps(head, separators=(",", ":"))[:-1] + ","]
    for key in lists:
        items = [json.dumps(v, separators=(",", ":")) for v in data[key]]
        lines.append(f'"{key}":[')
        lines.append(",\n".join(items))
        lines.append("]," if key != lists[-1] else "]")
    return "\n".join(lines) + "}\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    text = dumps(build())
    OUT.write_text(text, encoding="utf-8")
    data = json.loads(text)
    print(
        f"wrote {OUT.name}: {len(data['vectors'])} vectors, {len(data['errors'])} error cases, "
        f"{len(data['framing'])} framings"
    )


if __name__ == "__main__":
    main()
