"""The README's "record once with a key, replay in CI" recipe, end to end, in real kernels.

Recorded in one kernel against the simulator on one port (standing in for xAI, with a
key), with the cache file beside the notebook; then only the notebook and that one file
are "committed" to a fresh folder and replayed in a fresh kernel with
``GROK_NB_CACHE=replay``, no key and no server: every cell comes from the cache, and a
request would fail (nothing listens on the replay's port).
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import REPO, cell_text, run_in_kernel

from grok_nb import simulator

KEY = "xai-replay-recipe-key-5e4d3c2b1a"
pytestmark = pytest.mark.kernel

# The recipe's notebook: what the README shows, plus the ways users really ask.
CELLS = [
    '%load_ext grok_nb\n%config GrokVision.cache_path = "grok_answers.sqlite3"\n'
    '%config GrokVision.model = "grok-4-1-fast-non-reasoning"',
    "import numpy as np\nimg = np.zeros((120, 200, 3), np.uint8)\nimg[:, 100:] = (255, 128, 0)",
    "%%grokvision img\nWhat is in this image?",
    "%%grokvision img --no-stream -o second\nWhich colours does it have?",
    "import grok_nb\nanswer = grok_nb.ask('Describe it in one line.', img)\n"
    "print('cached:', answer.cached, '|', answer.text)",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
    "ax.plot([1, 3, 2])\nplt.show()",
    "%%grokvision\nWhat does this chart show?",
]
ASKED = [2, 3, 6]  # the %%grokvision cells


_text = cell_text


def _failures(cell: Any) -> list[str]:
    return [
        o.get("text", "") or o.get("evalue", "")
        for o in cell.get("outputs", [])
        if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
    ]


def _execute(
    folder: Path, env: dict[str, str], unset: tuple[str, ...], extra: tuple[str, ...] = ()
) -> Any:
    nb = nbformat.read(folder / "analysis.ipynb", as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra]
    return run_in_kernel(nb, folder, env, unset)  # the kernel starts in its folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_record_once_then_replay_in_ci(tmp_path: Path) -> None:
    recording = tmp_path / "laptop"
    recording.mkdir()
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS]),
        recording / "analysis.ipynb",
    )

    # 1. record once, with a key (here the simulator stands in for xAI)
    with simulator.serve() as sim:
        recorded = _execute(
            recording,
            {
                "XAI_BASE_URL": sim.base_url,
                "XAI_API_KEY": KEY,
                "GROK_NB_CACHE_DIR": str(tmp_path / "laptop-cache"),
            },
            unset=("GROK_NB_CACHE", "GROK_NB_CACHE_PATH", "GROK_NB_OFFLINE"),
        )
        asked = len(sim.requests)
    for cell in recorded.cells:
        assert not _failures(cell), (cell.source, _failures(cell))
    assert asked == len(ASKED) + 1  # three cells and one grok_nb.ask
    assert "cached: False" in _text(recorded.cells[4])
    assert (recording / "grok_answers.sqlite3").is_file()  # a relative path: beside it

    # 2. the kernel's exit folded the cache's write-ahead log into the file: commit the
    #    notebook and that one file; CI checks them out elsewhere
    wal = recording / "grok_answers.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    ci = tmp_path / "ci"
    ci.mkdir()
    for name in ("analysis.ipynb", "grok_answers.sqlite3"):
        shutil.copy(recording / name, ci / name)

    # 3. replay in a fresh kernel: no key, no server, GROK_NB_CACHE=replay
    dead = f"http://127.0.0.1:{_free_port()}/grok_nb-simulator/v1"  # nothing listens
    replayed = _execute(
        ci,
        {
            "GROK_NB_CACHE": "replay",
            "XAI_BASE_URL": dead,
            "GROK_NB_CACHE_DIR": str(tmp_path / "ci-cache"),
        },
        unset=("XAI_API_KEY", "GROK_NB_CACHE_PATH", "GROK_NB_OFFLINE"),
        extra=("%%grokvision img\nA question nobody recorded.",),
    )
    for cell in replayed.cells[: len(CELLS)]:
        assert not _failures(cell), (cell.source, _failures(cell))
    for i in ASKED:
        text = _text(replayed.cells[i])
        assert "from cache" in text, replayed.cells[i].source
        assert "answered by grok_nb's offline simulator, not a model" in text
    assert "cached: True" in _text(replayed.cells[4])
    assert _text(replayed.cells[4]) == _text(recorded.cells[4]).replace(
        "cached: False", "cached: True"
    )

    # a cell that was never recorded says what was looked for, in one line
    [miss] = _failures(replayed.cells[-1])
    assert miss.startswith("UsageError: cache='replay' but this request is not in the cache")
    assert "endpoint grok_nb-simulator" in miss and "grok-4-1-fast-non-reasoning" in miss
    assert "'A question nobody recorded.'" in miss and "cache='use'" in miss
    assert KEY not in json.dumps(replayed) and KEY not in json.dumps(recorded)


def test_the_readme_shows_this_recipe() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "git add analysis.ipynb grok_answers.sqlite3" in readme
    assert CELLS[0] in readme  # the notebook's first cell, as the README shows it
    assert "GROK_NB_CACHE=replay jupyter nbconvert --to notebook --execute" in readme
