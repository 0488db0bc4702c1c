"""A three-turn Python ``Conversation`` with interleaved images, recorded in one real
kernel against the simulator and replayed in a fresh kernel with no server at all:
every turn comes from the cache, and the replayed answers equal the recorded ones."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, TEST_KEY
from nbclient import NotebookClient

from grok_nb import simulator

pytestmark = pytest.mark.kernel

CELLS = [
    "import grok_nb, json\nfrom PIL import Image\n"
    "red, blue = Image.new('RGB', (300, 200), 'red'), Image.new('RGB', (640, 480), 'blue')",
    "conv = grok_nb.Conversation()\n"
    "a1 = conv.ask(['First:', red, 'then second:', blue, 'which is larger?'])",
    "a2 = conv.ask('What colour was the first one?')",
    "a3 = a2.follow_up('And the second?', Image.new('RGB', (100, 100), 'green'))",
    "print(json.dumps({'texts': [a.text for a in conv.answers], "
    "'cached': [a.cached for a in conv.answers], 'turns': len(conv), "
    "'images': len(conv.images), 'cost': conv.cost_usd}))",
]


def run(tmp_path: Path, base_url: str, cache_mode: str) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "from grok_nb.settings import current\n"
            f"current().cache_path = {str(tmp_path / 'answers.sqlite3')!r}\n"
            f"current().cache = {cache_mode!r}"
        ),
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("XAI_BASE_URL", base_url)
    mp.setenv("XAI_API_KEY", TEST_KEY)
    mp.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "cache-dir"))
    mp.setenv("PYTHONPATH", str(REPO))
    mp.delenv("MPLBACKEND", raising=False)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        mp.undo()
    return json.loads(nb.cells[-1].outputs[0]["text"])


def test_a_recorded_conversation_replays_with_no_server(tmp_path: Path) -> None:
    with simulator.serve() as sim:
        recorded = run(tmp_path, sim.base_url, "use")
        bodies = list(sim.requests)
        base_url = sim.base_url
    assert recorded["turns"] == 3 and recorded["images"] == 3
    assert recorded["cached"] == [False, False, False] and recorded["cost"] > 0
    first = bodies[0]["messages"][-1]["content"]
    assert [p["type"] for p in first] == ["text", "image_url", "text", "image_url", "text"]
    assert [m["role"] for m in bodies[2]["messages"]] == ["user", "assistant"] * 2 + ["user"]
    # the server is gone; the same notebook replays every turn from the cache
    replayed = run(tmp_path, base_url, "replay")
    assert replayed["texts"] == recorded["texts"]
    assert replayed["cached"] == [True, True, True] and replayed["cost"] == 0
