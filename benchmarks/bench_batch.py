"""Images through the simulator's Batch API with ``submit_batch``, side by side with
``ask_many`` for the same items.

Reported: wall time (submit, wait, results), images prepared per second, add calls
made and the largest one, peak RSS of the process, and the dollar totals of both
(the simulator bills batch results at 50 % off; estimates assume the conservative 20 %).
The cache is off, so every request really goes over loopback HTTP.

Run: python benchmarks/bench_batch.py [--images 500] [--full (10,000 images)]
     [--size 640x480] [--skip-live]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from grok_nb import simulator
from grok_nb.batch import ask_many
from grok_nb.batch_api import submit_batch
from grok_nb.pricing import format_usd

PROMPT = "What is in this image?"


def make_images(folder: Path, n: int, size: tuple[int, int]) -> list[Path]:
    paths = []
    for i in range(n):
        img = Image.new("RGB", size, (i * 37 % 256, i * 91 % 256, 120))
        ImageDraw.Draw(img).ellipse(
            (10 + i % 50, 10, size[0] // 2, size[1] // 2), fill=(240, 200, 40)
        )
        path = folder / f"img{i:05d}.jpg"
        img.save(path, quality=85)
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--full", action="store_true", help="10,000 images")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--skip-live", action="store_true", help="no ask_many comparison")
    args = parser.parse_args(argv)
    n = 10_000 if args.full else args.images
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as folder, simulator.serve() as sim:
        os.environ["GROK_NB_CACHE_DIR"] = str(Path(folder) / "cache")
        os.environ["XAI_BASE_URL"] = sim.base_url
        os.environ.setdefault("XAI_API_KEY", "xai-bench-key-0123456789abcdef0123456789")
        sim.batches.seconds = 0.5
        paths = make_images(Path(folder), n, size)  # type: ignore[arg-type]
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        job = submit_batch(paths, PROMPT, cache="off")
        submitted = time.perf_counter()
        job.wait(progress=False, poll_s=0.2, max_poll_s=2.0)
        answers = job.results()
        wall = time.perf_counter() - started
        stats = job.add_stats
        ok = sum(a.error is None for a in answers)
        batch_usd = sum(a.cost_usd or 0.0 for a in answers)
        print(f"submit_batch: {n} images ({args.size}), {ok} answered")
        print(f"  wall time        {wall:8.2f} s (submit {submitted - started:.2f} s)")
        rate = stats.prepared / (submitted - started)
        print(f"  prepared         {rate:8.1f} images/s (planned twice: estimate, then upload)")
        print(
            f"  add calls        {stats.add_calls:8d}, "
            f"largest {stats.largest_add_bytes / 1e6:.2f} MB"
        )
        print(f"  peak RSS         {peak_rss_mb():8.1f} MB (before submit {rss_before:.1f} MB)")
        print(f"  estimate         {format_usd(job.record.estimate_usd)} (20 % off, conservative)")
        print(f"  billed           {format_usd(batch_usd)}")
        if not args.skip_live:
            started = time.perf_counter()
            live = ask_many(paths, PROMPT, cache="off", progress=False, concurrency=16)
            live_wall = time.perf_counter() - started
            live_usd = sum(a.cost_usd or 0.0 for a in live)
            good = sum(a.error is None for a in live)
            print(f"ask_many:       {good} answered in {live_wall:.2f} s")
            print(f"  billed           {format_usd(live_usd)}")
            if live_usd:
                print(f"  batch / live     {batch_usd / live_usd:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
