"""Tile plans per second: grok_nb.tiling (Python) vs js/tiles.js (Node), same sizes.

Run from the repository root: ``python benchmarks/bench_tiles.py [--runs 7] [--n 10000]``.
Both sides plan the same 10,000 random sizes (fixed seed) under every rule at
detail=high and detail=low; medians over several runs are printed side by side,
and the token totals of both sides are compared as a sanity check.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grok_nb.tiling import RULES, plan  # noqa: E402

DETAILS = ("high", "low")


def random_sizes(n: int, seed: int = 448) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    # log-uniform sides from 1 px to ~20,000 px: icons, photos and panoramas alike
    return [(int(10 ** rng.uniform(0, 4.3)), int(10 ** rng.uniform(0, 4.3))) for _ in range(n)]


def time_python(
    sizes: list[tuple[int, int]], rule: str, detail: str, runs: int
) -> tuple[list[float], int]:
    tokens = sum(plan(w, h, rule=rule, detail=detail).tokens for w, h in sizes)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for w, h in sizes:
            plan(w, h, rule=rule, detail=detail)
        times.append(time.perf_counter() - t0)
    return times, tokens


def time_node(sizes: list[tuple[int, int]], runs: int) -> dict:
    node = shutil.which("node")
    if node is None:
        sys.exit("node not found on PATH: the JS half of this benchmark needs Node >= 18")
    job = {"sizes": sizes, "rules": list(RULES), "details": list(DETAILS), "runs": runs}
    proc = subprocess.run(
        [node, str(ROOT / "benchmarks" / "bench_tiles.mjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="random sizes (default 10,000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per side (default 7)")
    args = parser.parse_args()

    sizes = random_sizes(args.n)
    js = time_node(sizes, args.runs)
    print(
        f"{args.n:,} random sizes, median of {args.runs} runs; Python {sys.version.split()[0]}, "
        f"Node {js['node']}"
    )
    header = ("rule/detail", "Python plans/s", "JS plans/s", "JS/Python")
    print(f"{header[0]:<16} {header[1]:>15} {header[2]:>13} {header[3]:>10}  tokens agree")
    for rule in RULES:
        for detail in DETAILS:
            key = f"{rule}/{detail}"
            py_times, py_tokens = time_python(sizes, rule, detail, args.runs)
            py_rate = args.n / statistics.median(py_times)
            js_rate = args.n / statistics.median(js["timings"][key])
            agree = (
                "yes"
                if js["tokens"][key] == py_tokens
                else f"NO ({py_tokens} vs {js['tokens'][key]})"
            )
            print(
                f"{key:<16} {py_rate:>15,.0f} {js_rate:>13,.0f} {js_rate / py_rate:>9.1f}x  {agree}"
            )


if __name__ == "__main__":
    main()
