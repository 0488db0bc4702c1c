"""Micro-benchmark of the response cache: get/put latency on a 1,000-entry cache.

Compared side by side, in the same process, on the same records:
  - grok_nb ResponseCache (SQLite, WAL, synchronous=NORMAL, hit bookkeeping on get)
  - raw sqlite3 with the default rollback journal (synchronous=FULL), no bookkeeping
  - a plain JSON file holding a dict (re-read on every get, rewritten on every put,
    which is what a file shared by several kernels needs)
Plus the cost of computing a key for a request carrying a ~1.5 MB image, and of
opening the cache (including the integrity check) cold.

Run: python benchmarks/bench_cache.py   (target: a cached lookup <= 5 ms)
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grok_nb.cache.responses import ResponseCache, request_key

ENTRIES = 1000
OPS = 200  # operations timed per run
SLOW_OPS = 40  # the JSON file is ~100x slower; fewer calls keep the run short
RUNS = 5
BASE = "https://api.x.ai/v1"


def record(i: int) -> dict[str, object]:
    return {
        "text": f"Answer {i}: " + "a cat sitting on a mat, described at length. " * 30,
        "parsed": {"objects": ["cat", "mat"], "count": i},
        "usage": {"prompt_tokens": 1340, "completion_tokens": 220, "image_tokens": 1024},
        "cost_usd": 0.0042,
        "model": "grok-4",
        "finish_reason": "stop",
        "estimated_image_tokens": 1024,
    }


def key(i: int) -> str:
    return request_key({"model": "grok-4", "messages": [{"role": "user", "content": str(i)}]}, BASE)


def timed(op: Callable[[int], object], start: int, ops: int = OPS) -> float:
    """Median seconds per call of op(i) over ``ops`` calls, median over RUNS runs."""
    medians = []
    for run in range(RUNS):
        samples = []
        for j in range(ops):
            i = start + run * ops + j
            t0 = time.perf_counter()
            op(i)
            samples.append(time.perf_counter() - t0)
        medians.append(statistics.median(samples))
    return statistics.median(medians)


class JsonFileCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, k: str) -> object:
        with open(self.path, encoding="utf-8") as f:
            return json.load(f).get(k)

    def put(self, k: str, rec: dict[str, object]) -> None:
        data = json.loads(self.path.read_text("utf-8")) if self.path.exists() else {}
        data[k] = rec
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), "utf-8")
        os.replace(tmp, self.path)


class RawSqlite:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("CREATE TABLE IF NOT EXISTS r (key TEXT PRIMARY KEY, record TEXT)")

    def get(self, k: str) -> object:
        row = self.conn.execute("SELECT record FROM r WHERE key = ?", (k,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, k: str, rec: dict[str, object]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO r VALUES (?, ?)", (k, json.dumps(rec)))


def main() -> None:
    keys = [key(i) for i in range(ENTRIES + RUNS * OPS * 2)]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ours = ResponseCache(d / "ours.sqlite3")
        raw = RawSqlite(d / "raw.sqlite3")
        js = JsonFileCache(d / "cache.json")
        for i in range(ENTRIES):
            ours.put(keys[i], record(i), base_url=BASE, model="grok-4")
            raw.put(keys[i], record(i))
        js.path.write_text(json.dumps({keys[i]: record(i) for i in range(ENTRIES)}), "utf-8")

        def hit(i: int) -> int:
            return i % ENTRIES

        rows: list[tuple[str, float, float, float]] = []
        rows.append(
            (
                "get (hit)",
                timed(lambda i: ours.get(keys[hit(i)]), 0),
                timed(lambda i: raw.get(keys[hit(i)]), 0),
                timed(lambda i: js.get(keys[hit(i)]), 0, SLOW_OPS),
            )
        )
        rows.append(
            (
                "get (miss)",
                timed(lambda i: ours.get("0" * 64), 0),
                timed(lambda i: raw.get("0" * 64), 0),
                timed(lambda i: js.get("0" * 64), 0, SLOW_OPS),
            )
        )
        # new keys beyond the prefilled ones; the JSON file grows by OPS * RUNS entries
        start = ENTRIES
        rows.append(
            (
                "put (new key)",
                timed(lambda i: ours.put(keys[i], record(i), base_url=BASE, model="grok-4"), start),
                timed(lambda i: raw.put(keys[i], record(i)), start),
                timed(lambda i: js.put(keys[i], record(i)), start, SLOW_OPS),
            )
        )
        sizes = (ours.stats().bytes, (d / "raw.sqlite3").stat().st_size, js.path.stat().st_size)
        ours.close()
        raw.conn.close()

        # the key of a request carrying a real-sized image (hashing the decoded bytes)
        key_s = {size: _key_seconds(size) for size in (300_000, 1_100_000)}

        opens = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            with ResponseCache(d / "ours.sqlite3") as c:
                c.get(keys[0])
            opens.append(time.perf_counter() - t0)

    print(
        f"response cache micro-benchmark: {ENTRIES} entries, median of {RUNS} runs x {OPS} ops"
        f" ({SLOW_OPS} for the JSON file)"
    )
    print(f"{'operation':<16}{'grok_nb (WAL)':>16}{'raw sqlite':>16}{'JSON file':>16}")
    for name, a, b, c2 in rows:
        print(f"{name:<16}{a * 1e3:>13.3f} ms{b * 1e3:>13.3f} ms{c2 * 1e3:>13.3f} ms")
    print(f"{'size on disk':<16}" + "".join(f"{s / 1e6:>13.2f} MB" for s in sizes))
    for size, seconds in key_s.items():
        print(f"request_key, {size / 1e6:.1f} MB image in the body: {seconds * 1e3:.2f} ms")
    print(f"cold open (incl. quick_check) + first get: {statistics.median(opens) * 1e3:.2f} ms")
    for size, seconds in key_s.items():
        total = seconds + rows[0][1]
        verdict = "OK" if total <= 0.005 else "ABOVE TARGET"
        print(
            f"cached lookup = key ({size / 1e6:.1f} MB image) + get(hit): {total * 1e3:.2f} ms"
            f" (target <= 5 ms: {verdict})"
        )


def _key_seconds(image_bytes: int) -> float:
    """Median time of request_key for a body carrying one base64 image of that size."""
    url = "data:image/jpeg;base64," + base64.b64encode(os.urandom(image_bytes)).decode()
    body = {
        "model": "grok-4",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
                ],
            }
        ],
    }
    runs = []
    for _ in range(RUNS):
        samples = []
        for _ in range(20):
            t0 = time.perf_counter()
            request_key(body, BASE)
            samples.append(time.perf_counter() - t0)
        runs.append(statistics.median(samples))
    return statistics.median(runs)


if __name__ == "__main__":
    main()
