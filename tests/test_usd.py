"""The shared USD vectors, and format_usd checked against the value it formats.

tests/data/usd_vectors.json is what js/usd.js is tested against (node --test
tests/js/). Here it is checked to be current and complete, and every text
format_usd produces is parsed back and compared with the exact decimal it came from.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grok_nb.pricing import USD_TICK, format_usd

DATA = Path(__file__).parent / "data"
VECTORS_PATH = DATA / "usd_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["vectors"]
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
TINY = {"< $0.0000000001", "> -$0.0000000001"}
SHAPE = re.compile(r"-?\$(0|[1-9]\d{0,2}(,\d{3})*\.\d\d|0\.\d\d+)")


def vector_value(v: dict[str, Any]) -> float | None:
    value = v["value"]
    return NON_FINITE[value] if isinstance(value, str) else value


def read_back(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def shown_unit(value: float) -> Decimal:
    """The place format_usd rounds ``value`` to: cents from $1, else 3 significant figures."""
    exact = Decimal(repr(abs(value)))
    if exact >= Decimal("0.9995"):
        return Decimal("0.01")
    return Decimal(10) ** (exact.adjusted() - 2)


# --- the vector file ---------------------------------------------------------------


def test_vector_file_is_current() -> None:
    spec = importlib.util.spec_from_file_location("make_usd_vectors", DATA / "make_usd_vectors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dumps(module.build()) == VECTORS_PATH.read_text(encoding="utf-8"), (
        "tests/data/usd_vectors.json is stale: run python tests/data/make_usd_vectors.py"
    )


def test_vector_file_covers_what_it_must() -> None:
    assert len(VECTORS) >= 300
    cases = {v["case"] for v in VECTORS}
    assert {"special", "boundary", "tie", "tiny", "huge", "negative", "random double"} <= cases
    texts = {v["text"] for v in VECTORS}
    assert {"price unknown", "$0", "$1.00", *TINY} <= texts
    assert any(t.startswith("-$") for t in texts) and any("," in t for t in texts)


def test_every_vector_matches_python() -> None:
    mismatches = [v for v in VECTORS if format_usd(vector_value(v)) != v["text"]]
    assert mismatches == []


# --- the rule, by example -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "price unknown"),
        (math.nan, "price unknown"),
        (-math.inf, "price unknown"),
        (0, "$0"),
        (-0.0, "$0"),
        (1.25, "$1.25"),
        (1234.5, "$1,234.50"),
        (0.5, "$0.50"),
        (0.0125, "$0.0125"),
        (0.000411, "$0.000411"),
        (0.00036, "$0.00036"),
        (4e-7, "$0.0000004"),
        (-0.0012, "-$0.0012"),
        (0.9994, "$0.999"),
        (0.9996, "$1.00"),  # rounds up to a dollar: shown in cents, like every dollar
        (0.009996, "$0.01"),
        (1.005, "$1.01"),  # half up on the decimal the user typed, not on the binary
        (0.125, "$0.125"),
        (1e-10, "$0.0000000001"),
        (9.99e-11, "< $0.0000000001"),
        (-1e-300, "> -$0.0000000001"),
    ],
)
def test_format_usd_examples(value: float | None, text: str) -> None:
    assert format_usd(value) == text


def test_format_usd_accepts_ints_and_numpy_floats() -> None:
    np = pytest.importorskip("numpy")
    assert format_usd(3) == "$3.00"
    assert format_usd(np.float64(0.0003584)) == "$0.000358"
    assert format_usd(np.float32(0.5)) == "$0.50"


# --- properties over random values --------------------------------------------------

amounts = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e18, max_value=1e18)


@settings(max_examples=1000, deadline=None)
@given(value=amounts)
def test_text_reads_back_within_rounding(value: float) -> None:
    text = format_usd(value)
    if value == 0:
        assert text == "$0"
        return
    if abs(value) < USD_TICK:
        assert text == ("> -$0.0000000001" if value < 0 else "< $0.0000000001")
        return
    assert SHAPE.fullmatch(text), text
    assert text.startswith("-") == (value < 0)
    shown = read_back(text)
    assert abs(shown - Decimal(repr(value))) <= shown_unit(value) / 2, (value, text)
    if abs(shown) < 1:  # three significant figures at most
        assert len(format(abs(shown), "f").split(".")[1].strip("0")) <= 3, text


above_a_tick = st.floats(min_value=USD_TICK, max_value=1e12)


@settings(max_examples=500, deadline=None)
@given(a=above_a_tick, b=above_a_tick)
def test_rounding_keeps_order(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert read_back(format_usd(low)) <= read_back(format_usd(high))
