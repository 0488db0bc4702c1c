"""Generate tests/data/usd_vectors.json from grok_nb.pricing.format_usd.

Run from the repository root: ``python tests/data/make_usd_vectors.py``.
pytest (tests/test_usd.py) fails if the committed file differs from what this script
builds, and ``node --test tests/js/`` holds js/usd.js to the same file.

JSON has no NaN or infinities: those values are written as the strings "NaN",
"Infinity" and "-Infinity" (what ``Number(s)`` reads back in JS), ``None`` as null.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("usd_vectors.json")
INF = math.inf

SPECIAL: list[float | None] = [None, math.nan, INF, -INF, 0.0, -0.0]

EXAMPLES = [
    1.25, 1.2500, 1234.5, 0.5, 0.0125, 0.000411, 0.00036, 4e-7, 0.0012, 0.00123, 0.2, 0.05,
    2.5, 10.0, 0.0003584, 0.0123, 1.254, 0.1 + 0.2, 1 / 3, 2 / 3, 0.1, 0.01, 0.001,
]  # fmt: skip

# Where rounding carries into the next digit or the next regime.
BOUNDARIES = [
    0.9994, 0.99949, 0.9995, 0.99951, 0.9996, 0.9999, 0.99999999, 1.0, 1.004, 1.0049999,
    1.005, 1.0050001, 1.995, 9.995, 9.994999, 99.995, 999.99, 999.995, 999.9949, 9999.995,
    999999.995, 0.0999, 0.09995, 0.099949, 0.0099949, 0.009995, 0.009996, 0.00099951,
    0.1005, 0.1004999, 0.1015, 0.10049, 1.0000000001, 0.999999999999,
    math.nextafter(1.0, 0.0), math.nextafter(1.0, INF), math.nextafter(0.9995, 0.0),
    math.nextafter(0.9995, INF), math.nextafter(1.005, 0.0), math.nextafter(1.005, INF),
]  # fmt: skip

# Exact decimal ties in the shortest repr (half up here; Python's format() rounds
# some of these half even, JS's toFixed() others up): the reason for the integer rule.
TIES = [
    0.125, 0.0125, 0.001125, 0.1235, 0.1245, 0.1255, 2.675, 1.115, 0.285, 1.125, 0.375,
    0.000625, 0.0000125, 12.345, 12.355, 0.5555, 0.4445, 8.885, 1.015, 1.025, 1.035, 1.045,
]  # fmt: skip

# One xAI billing tick is 1e-10 USD: below it the text says so instead of rounding.
TINY = [
    1e-10, 9.99e-11, 9.996e-11, 9.9999e-11, 1.0004e-10, 1.0005e-10, 1.5e-10, 2e-10, 1e-9,
    4.11e-9, 5e-11, 1e-11, 1e-12, 1e-20, 1e-100, 2.2250738585072014e-308, 5e-324,
    math.nextafter(1e-10, 0.0), math.nextafter(1e-10, INF), 1.23456e-10,
]  # fmt: skip

HUGE = [
    1e3, 1e4, 1e5, 1e6, 1e9, 1e12, 1e15, 1e16, 1e17, 1e20, 1e21, 1e22, 123456789.125,
    1234567.891, 2.0**53, 2.0**53 + 2, 9007199254740993.0, 1.5e21, 12345678901234567890.0,
    1.7976931348623157e308,
]  # fmt: skip

PRICES_PER_MILLION = [0.20, 0.05, 1.25, 2.50, 2.00, 10.00, 0.50, 3.0, 15.0]
TOKENS = [1, 256, 512, 768, 1024, 1280, 1536, 1792, 10_000, 123_457, 1_000_000, 25_000_000]
TICKS = [1, 9, 10, 99, 100, 12_345, 1_234_567, 3_584_000, 9_995_000, 99_950_000, 10**10]


def values() -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = [("special", v) for v in SPECIAL]
    out += [("example", v) for v in EXAMPLES]
    out += [("boundary", v) for v in BOUNDARIES]
    out += [("tie", v) for v in TIES]
    out += [("tiny", v) for v in TINY]
    out += [("huge", v) for v in HUGE]
    out += [("power of ten", 10.0**e) for e in range(-12, 22)]
    out += [("per million", p) for p in PRICES_PER_MILLION]
    out += [("image cost", t * p / 1_000_000) for t in TOKENS for p in PRICES_PER_MILLION[:4]]
    out += [("ticks", t / 10_000_000_000) for t in TICKS]
    rng = random.Random(1e-10)
    out += [("random log-uniform", 10 ** rng.uniform(-11, 7)) for _ in range(120)]
    for _ in range(60):
        out.append(("random short decimal", rng.randint(1, 99_999) / 10 ** rng.randint(0, 9)))
    for _ in range(30):  # any finite double, normal or not
        sign, bits, exp = rng.choice("+-"), rng.getrandbits(52), rng.randint(-1074, 1023)
        out.append(("random double", float.fromhex(f"{sign}0x1.{bits:013x}p{exp}")))
    negatives = [v for case, v in out if case not in ("special", "random double") and v]
    out += [("negative", -v) for v in negatives[::4] if v is not None]
    seen: set[str] = set()
    unique = []
    for case, v in out:
        if repr(v) not in seen:
            seen.add(repr(v))
            unique.append((case, v))
    return unique


def _json_value(v: float | None) -> float | str | None:
    if v is None or math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def build() -> dict[str, Any]:
    from grok_nb.pricing import format_usd

    return {
        "about": "format_usd from grok_nb.pricing; regenerate with tests/data/make_usd_vectors.py",
        "vectors": [
            {"case": case, "value": _json_value(v), "text": format_usd(v)} for case, v in values()
        ],
    }


def dumps(data: dict[str, Any]) -> str:
    # One vector per line: small diffs when the rule changes, still valid JSON.
    items = [json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in data["vectors"]]
    head = json.dumps({"about": data["about"]}, separators=(",", ":"))[:-1]
    return head + ',\n"vectors":[\n' + ",\n".join(items) + "\n]}\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    text = dumps(build())
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.name}: {len(json.loads(text)['vectors'])} vectors")


if __name__ == "__main__":
    main()
