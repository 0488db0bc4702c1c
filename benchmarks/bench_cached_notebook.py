"""Re-executing a notebook of 20 asks from the response cache.

1. record: a fresh kernel runs 20 ``%%grokvision`` cells against the simulator.
2. replay: a fresh kernel runs the same cells with ``cache="replay"`` (no key needed),
   then runs them a second time in the same kernel (a user re-running cells).
Reported: requests the simulator received during replay (must be 0), and medians of
(a) the cache lookup inside each ask (``answer.latency_s``), (b) the whole ``ask``
(prepare image + build request + cache lookup), (c) the whole cell including the tile
thumbnails and Markdown it displays — first pass (fresh kernel: every image is
prepared once) and second pass (the same cells re-run).

Run: python benchmarks/bench_cached_notebook.py
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from PIL import Image, ImageDraw

from grok_nb import simulator

N = 20
REPO = Path(__file__).resolve().parents[1]


def make_images(folder: Path) -> list[str]:
    names = []
    for i in range(N):
        img = Image.new("RGB", (800 + 40 * i, 600), (30 + 10 * i, 120, 200 - 5 * i))
        ImageDraw.Draw(img).ellipse((80, 60, 500, 480), fill=(250, 200, 40))
        name = f"photo{i:02d}.jpg"
        img.save(folder / name, quality=90)
        names.append(name)
    return names


def notebook(names: list[str], replay: bool, passes: int) -> nbformat.NotebookNode:
    setup = "%load_ext grok_nb\nimport time, json\nfrom grok_nb.asking import ask\nrows = []"
    if replay:
        setup += '\n%config GrokVision.cache = "replay"'
    cells = [setup]
    for p in range(passes):
        for i, name in enumerate(names):
            question = f"What is in photo {i}?"
            # ask() first: in a fresh kernel it pays for preparing the image once
            cells.append(
                f"_s = time.perf_counter(); a = ask({question!r}, {name!r}); "
                f"rows.append(({p}, time.perf_counter() - _s, a.latency_s, a.cached))"
            )
            cells.append(f"%%grokvision {name}\n{question}")
    cells.append("print(json.dumps(rows))")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def run(nb: nbformat.NotebookNode, folder: Path) -> dict[str, list[Any]]:
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    rows = json.loads(nb.cells[-1].outputs[0]["text"])
    cell_times = []
    for cell in nb.cells:
        if cell.source.startswith("%%grokvision"):
            ex = cell.metadata["execution"]
            start = datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            cell_times.append((end - start).total_seconds())
    return {
        "pass": [r[0] for r in rows],
        "ask": [r[1] for r in rows],
        "lookup": [r[2] for r in rows],
        "cached": [r[3] for r in rows],
        "cell": cell_times,
    }


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f}"


def main() -> None:
    os.environ.pop("MPLBACKEND", None)
    os.environ["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryDirectory() as tmp, simulator.serve() as sim:
        folder = Path(tmp)
        os.environ.update(
            XAI_BASE_URL=sim.base_url,
            XAI_API_KEY="xai-benchmark-key-0123456789abcdef",
            GROK_NB_CACHE_DIR=str(folder / "cache"),
        )
        names = make_images(folder)
        recorded = run(notebook(names, replay=False, passes=1), folder)
        sent_recording = len(sim.requests)
        del os.environ["XAI_API_KEY"]  # replay needs no key
        replay = run(notebook(names, replay=True, passes=2), folder)
        sent_replay = len(sim.requests) - sent_recording
    assert all(replay["cached"]), "replay served something not from the cache"
    print(f"notebook of {N} asks (800x600+ JPEG files), medians in ms")
    print(f"requests sent: recording {sent_recording}, replay {sent_replay} (must be 0)")
    row("", "record", "replay 1st", "replay 2nd")
    for label, key in (
        ("cache lookup (answer.latency_s)", "lookup"),
        ("grok_nb.ask (prepare+key+lookup)", "ask"),
        ("whole %%grokvision cell", "cell"),
    ):
        row(label, ms(recorded[key]), ms(replay[key][:N]), ms(replay[key][N:]))


def row(label: str, *cols: str) -> None:
    print(f"{label:34}" + "".join(f"{c:>12}" for c in cols))


if __name__ == "__main__":
    main()
