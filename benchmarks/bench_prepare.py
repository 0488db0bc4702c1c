"""Benchmark: preparing a 12 MP camera-like JPEG for the API.

Compares, in one process on the same file, the bytes that would be sent (the data
URL) and the preparation time of:

  (a) the guide's way: base64 of the raw file;
  (b) naive Pillow: full decode, LANCZOS to the same size as (c), JPEG encode;
  (c) grok_nb.images.prepare(path) with resize="model" (JPEG draft decode,
      banded multi-threaded Lanczos, plan-preserving size, encoding choice,
      preview thumbnail, hashing); (c1) the same with the resize on one thread.

Targets (issue 3): (c) sends >= 8x fewer bytes than (a) with the same tile plan,
and prepares >= 2x faster than (b). Medians over several interleaved runs.

    python benchmarks/bench_prepare.py [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image, ImageFilter, ImageOps, features

from grok_nb.images import prepare
from grok_nb.images import resize as resize_mod
from grok_nb.tiling import plan

WIDTH, HEIGHT = 4032, 3024


def camera_like_jpeg(path: Path, seed: int = 7) -> None:
    """A 12 MP scene with the statistics of a phone photo: smooth sky and ground
    gradients, soft shapes, mid-frequency texture, and sensor noise; JPEG q92 with
    4:2:0 chroma and an EXIF block, as a phone writes it."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, WIDTH, dtype=np.float32)[None, :]
    sky = np.stack([90 + 80 * y + 0 * x, 140 + 70 * y + 0 * x, 220 - 30 * y + 0 * x], axis=2)
    horizon = 0.55 + 0.05 * np.sin(x * 9.0)
    ground = np.stack([70 + 60 * y + 20 * x, 110 + 40 * y + 0 * x, 50 + 20 * y + 0 * x], axis=2)
    img = np.where((y > horizon)[..., None], ground, sky).astype(np.float32)
    # soft mid-frequency texture (foliage, clouds): low-res noise blown up
    low = rng.normal(0, 1, (HEIGHT // 24, WIDTH // 24, 3)).astype(np.float32)
    tex = np.asarray(
        Image.fromarray(np.uint8(np.clip(128 + 40 * low, 0, 255))).resize(
            (WIDTH, HEIGHT), Image.Resampling.BICUBIC
        ),
        dtype=np.float32,
    )
    img += (tex - 128) * 0.35
    # fine texture in the ground (grass, gravel), slightly blurred like a lens would
    fine = rng.normal(0, 14, (HEIGHT, WIDTH, 1)).astype(np.float32)
    img += np.where((y > horizon)[..., None], fine, 0)
    # sensor noise everywhere
    img += rng.normal(0, 2.5, img.shape).astype(np.float32)
    pil = Image.fromarray(np.uint8(np.clip(img, 0, 255)))
    pil = pil.filter(ImageFilter.GaussianBlur(0.6))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "Model 12"  # Model
    exif[0x0112] = 1  # Orientation
    pil.save(path, "JPEG", quality=92, subsampling="4:2:0", exif=exif.tobytes())


def guide_way(path: Path) -> tuple[str, tuple[int, int]]:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        size = im.size
    return f"data:image/jpeg;base64,{base64.b64encode(data).decode()}", size


def naive_pillow(path: Path, size: tuple[int, int]) -> tuple[str, tuple[int, int]]:
    with Image.open(path) as im:
        im.load()
        ImageOps.exif_transpose(im, in_place=True)
        small = im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=90)
    return f"data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}", small.size


def grok_nb_way(path: Path) -> tuple[str, tuple[int, int]]:
    prepared = prepare(path)
    assert prepared.sent_size is not None
    return prepared.data_url, prepared.sent_size


def grok_nb_one_thread(path: Path) -> tuple[str, tuple[int, int]]:
    saved, resize_mod.RESIZE_THREADS = resize_mod.RESIZE_THREADS, 1
    try:
        return grok_nb_way(path)
    finally:
        resize_mod.RESIZE_THREADS = saved


def timed(fn: Callable[[], tuple[str, tuple[int, int]]]) -> tuple[float, str, tuple[int, int]]:
    start = time.perf_counter()
    url, size = fn()
    return time.perf_counter() - start, url, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} · {os.cpu_count()} cpus · "
        f"{platform.system()} · Python {platform.python_version()} · Pillow {Image.__version__}"
        f" · libjpeg-turbo {features.version_feature('libjpeg_turbo') or 'no'}"
    )
    if hasattr(os, "getloadavg"):  # other work on the machine skews the medians
        print("load average at start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "camera.jpg"
        camera_like_jpeg(path)
        print(f"input: {WIDTH}x{HEIGHT} JPEG, {path.stat().st_size:,} bytes on disk")

        sent = prepare(path)
        assert sent.sent_size is not None
        target = sent.sent_size
        ways: dict[str, Callable[[], tuple[str, tuple[int, int]]]] = {
            "(a) guide: base64 of raw file": lambda: guide_way(path),
            "(b) naive Pillow decode+LANCZOS+encode": lambda: naive_pillow(path, target),
            "(c) grok_nb prepare(resize='model')": lambda: grok_nb_way(path),
            "(c1) same, resize on one thread": lambda: grok_nb_one_thread(path),
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        results: dict[str, tuple[int, tuple[int, int]]] = {}
        for fn in ways.values():  # warm-up (imports, caches)
            fn()
        for _ in range(args.runs):  # interleaved so drift hits every method alike
            for name, fn in ways.items():
                seconds, url, size = timed(fn)
                times[name].append(seconds)
                results[name] = (len(url), size)

    original = plan(WIDTH, HEIGHT)
    print(f"plan of the original: {original}")
    print(f"\n{'method':42} {'sent size':>11} {'data URL bytes':>15} {'median ms':>10}  plan")
    for name in ways:
        nbytes, size = results[name]
        p = plan(*size)
        same = "same" if (p.grid, p.tokens) == (original.grid, original.tokens) else "DIFFERENT"
        med = statistics.median(times[name]) * 1000
        print(
            f"{name:42} {size[0]:>5}x{size[1]:<5} {nbytes:>15,} {med:>10.1f}  "
            f"{p.grid[0]}x{p.grid[1]} {p.tokens} tokens ({same})"
        )
    a, b, c, _c1 = (results[n][0] for n in ways)
    ta, tb, tc, tc1 = (statistics.median(times[n]) for n in ways)
    byte_ratio = a / c
    speed_ratio = tb / tc
    print(f"\nruns: {args.runs} (medians)")
    print(f"bytes: (a)/(c) = {byte_ratio:.1f}x fewer  [target >= 8x]  "
          f"{'PASS' if byte_ratio >= 8 else 'FAIL'}")  # fmt: skip
    print(f"time:  (b)/(c) = {speed_ratio:.2f}x faster [target >= 2x]  "
          f"{'PASS' if speed_ratio >= 2 else 'FAIL'}")  # fmt: skip
    print(f"       (b)/(c1) = {tb / tc1:.2f}x faster with the resize on one thread")
    print(f"(c) bytes vs (b): {c / b:.2f}x; (a) prep time {ta * 1000:.1f} ms")


if __name__ == "__main__":
    main()
