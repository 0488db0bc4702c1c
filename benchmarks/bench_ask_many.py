"""200 images through the simulator (300 ms latency per request): ``ask_many`` with
concurrency 16 vs the guide's sequential loop with the official OpenAI client.

Both sides send the same images and prompt to the same simulator in the same process;
the cache is off so every request really goes over loopback HTTP. Reported: median
wall time over several runs, requests sent, speed-up.

Run: python benchmarks/bench_ask_many.py [--images 200] [--runs 3] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageDraw

from grok_nb.batch import ask_many

PROMPT = "What is in this image?"
MODEL = "grok-4-1-fast-non-reasoning"


def make_images(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        img = Image.new("RGB", (640, 480), (i * 37 % 256, i * 91 % 256, 120))
        ImageDraw.Draw(img).ellipse((100 + i % 50, 80, 400, 380), fill=(240, 200, 40))
        path = folder / f"img{i:03d}.jpg"
        img.save(path, quality=90)
        paths.append(path)
    return paths


def guide_loop(paths: list[Path], base_url: str) -> int:
    """The xAI guide's way: base64 the file, one blocking request after another."""
    from openai import OpenAI

    client = OpenAI(api_key=os.environ["XAI_API_KEY"], base_url=base_url)
    done = 0
    for path in paths:
        b64 = base64.b64encode(path.read_bytes()).decode("utf-8")
        messages = [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/jpeg;base64,{b64}", "detail": "high"},
                    },
                    {"type": "text", "text": PROMPT},
                ],
            }
        ]
        completion = client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        done += bool(completion.choices[0].message.content)
    client.close()
    return done


@contextmanager
def remote_simulator(latency_s: float) -> Iterator[str]:
    """The simulator in its own process, like a real server: its work is not ours."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_nb.simulator", "--port", str(port),
         "--latency-ms", str(latency_s * 1000)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    os.environ["XAI_API_KEY"] = "xai-benchmark-key-0123456789abcdef"
    times: dict[str, list[float]] = {"ask_many": [], "guide loop": []}
    sent: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp, remote_simulator(args.latency) as base_url:
        os.environ["XAI_BASE_URL"] = base_url
        paths = make_images(Path(tmp), args.images)
        for _ in range(args.runs):
            t = time.perf_counter()
            answers = ask_many(
                paths, PROMPT, concurrency=args.concurrency, progress=False, cache="off"
            )
            times["ask_many"].append(time.perf_counter() - t)
            assert all(a.error is None for a in answers), [a.error for a in answers if a.error]
            sent["ask_many"] = sum(1 for a in answers if a.usage is not None)
            t = time.perf_counter()
            sent["guide loop"] = guide_loop(paths, base_url)
            times["guide loop"].append(time.perf_counter() - t)
    print(
        f"{args.images} images, simulator latency {args.latency * 1000:.0f} ms, "
        f"median of {args.runs} runs · {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'variant':<32}{'median s':>10}{'requests':>10}")
    label = {
        "ask_many": f"ask_many (concurrency {args.concurrency})",
        "guide loop": "guide loop (openai, sequential)",
    }
    for name, values in times.items():
        print(f"{label[name]:<32}{statistics.median(values):>10.2f}{sent[name]:>10}")
    speedup = statistics.median(times["guide loop"]) / statistics.median(times["ask_many"])
    print(f"ask_many is {speedup:.1f}x faster (target >= 12x)")


if __name__ == "__main__":
    main()
