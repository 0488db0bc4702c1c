"""Re-executing a notebook of 20 asks from the response cache.

1. record: a fresh kernel runs 20 ``%%grokvision`` cells against the simulator.
2. replay: a fresh kernel runs the same cells with ``cache="replay"`` (no key needed),
   then runs them a second time in the same kernel (a user re-running cells).
Reported: requests the simulator received during replay (must be 0), and medians of
(a) the cache lookup inside each ask (``answer.latency_s``), (b) the whole ``ask``
(prepare image + build request + cache lookup), (c) the whole cell including the tile
thumbnails and Markdown it displays — first pass (fresh kernel) and second pass.

Run: python benchmarks/bench_cached_notebook.py
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from datetime import datetime
from pathlib import Path

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
    cells = [
        "%load_ext grok_nb\nimport time, json\nfrom grok_nb.session import ask\n_t = {}"
        + ('\n%config GrokVision.cache = "replay"' if replay else "")
    ]
    for p in range(passes):
        for i, name in enumerate(names):
            cells.append(f"%%grokvision {name} -o a_{p}_{i}\nWhat is in photo {i}?")
            cells.append(
                f"_s = time.perf_counter(); ask('What is in photo {i}?', {name!r}); "
                f"_t[{p}, {i}] = time.perf_counter() - _s"
            )
    cells.append(
        "print(json.dumps({'lookup': [globals()[f'a_{p}_{i}'].latency_s "
        f"for p in range({passes}) for i in range({N})], "
        "'ask': [[k[0], v] for k, v in _t.items()], "
        f"'cached': [globals()[f'a_{{p}}_{{i}}'].cached for p in range({passes}) for i in range({N})]}}))"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def run(nb: nbformat.NotebookNode, folder: Path) -> dict[str, list[float]]:
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    out = json.loads(nb.cells[-1].outputs[0]["text"])
    cell_times = []
    for cell in nb.cells:
        if cell.source.startswith("%%grokvision"):
            ex = cell.metadata["execution"]
            start = datetime.fromisoformat(ex["shell.execute_reply.started"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            cell_times.append((end - start).total_seconds())
    out["cell"] = cell_times
    return out


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.2f}"


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
    first = [v for p, v in replay["ask"] if p == 0]
    second = [v for p, v in replay["ask"] if p == 1]
    print(f"notebook of {N} asks (800x600+ JPEG files), medians in ms")
    print(f"requests sent: recording {sent_recording}, replay {sent_replay} (must be 0)")
    print(f"{'':34}{'record':>8}{'replay 1st':>12}{'replay 2nd':>12}")
    print(
        f"{'cache lookup (answer.latency_s)':34}{'-':>8}{ms(replay['lookup'][:N]):>12}{ms(replay['lookup'][N:]):>12}"
    )
    print(
        f"{'grok_nb.ask (prepare+key+lookup)':34}{ms([v for _, v in recorded['ask']]):>8}{ms(first):>12}{ms(second):>12}"
    )
    print(
        f"{'whole %%grokvision cell':34}{ms(recorded['cell']):>8}{ms(replay['cell'][:N]):>12}{ms(replay['cell'][N:]):>12}"
    )


if __name__ == "__main__":
    main()
