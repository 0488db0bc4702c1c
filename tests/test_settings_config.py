"""IPython config files apply to grok_nb whether ``ask()`` or ``%load_ext`` comes first.

Run in a real kernel whose IPython profile sets ``c.GrokVision...``; the request the
simulator receives shows which settings were in force.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import REPO, TEST_KEY
from nbclient import NotebookClient

from grok_nb import simulator

pytestmark = pytest.mark.kernel

CONFIG = 'c.GrokVision.max_tokens = 7\nc.GrokVision.model = "grok-4.3"\n'
ASK = (
    "import grok_nb\nfrom PIL import Image\n"
    "a = grok_nb.ask('What colour?', Image.new('RGB', (64, 64), 'red'), cache='off')\n"
    "print('model', a.model)"
)


def run_kernel(cells: list[str], tmp_path: Path) -> tuple[list[str], list[dict]]:
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(CONFIG)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    mp = pytest.MonkeyPatch()
    with simulator.serve() as sim:
        mp.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        mp.setenv("XAI_BASE_URL", sim.base_url)
        mp.setenv("XAI_API_KEY", TEST_KEY)
        mp.setenv("PYTHONPATH", str(REPO))
        mp.delenv("MPLBACKEND", raising=False)
        try:
            NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        finally:
            mp.undo()
        bodies = list(sim.requests)
    texts = [
        "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in c.outputs)
        for c in nb.cells
    ]
    return texts, bodies


def test_config_file_applies_when_ask_runs_before_load_ext(tmp_path: Path) -> None:
    texts, bodies = run_kernel(
        [ASK, "%load_ext grok_nb", "%config GrokVision.max_tokens"], tmp_path
    )
    assert [b["model"] for b in bodies] == ["grok-4.3"]
    assert bodies[0]["max_completion_tokens"] == 7
    assert texts[2].strip() == "7"  # %config sees the same, configured instance


def test_config_file_applies_when_load_ext_comes_first(tmp_path: Path) -> None:
    _texts, bodies = run_kernel(["%load_ext grok_nb", ASK], tmp_path)
    assert bodies[0]["model"] == "grok-4.3" and bodies[0]["max_completion_tokens"] == 7
