"""The quickstart notebook, executed in a real kernel against the simulator."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import REPO, cell_text, run_in_kernel

from grok_nb import simulator

KEY = "xai-notebook-test-key-9f8e7d6c5b4a"
pytestmark = pytest.mark.kernel


_outputs_text = cell_text


def execute(name: str, work: Path, extra: Sequence[str] = ()) -> tuple[Any, Path, list[Any]]:
    """Run ``notebooks/<name>`` in a real kernel against a fresh simulator."""
    shutil.copy(REPO / "notebooks" / name, work / name)
    nb = nbformat.read(work / name, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra]
    with simulator.serve() as sim:
        env = {"XAI_BASE_URL": sim.base_url, "XAI_API_KEY": KEY, "GROK_NB_OFFLINE": "1"}
        run_in_kernel(nb, work, {**env, "GROK_NB_CACHE_DIR": str(work / "cache")})
        usages = list(sim.usages)
    saved = work / f"executed-{name}"
    nbformat.write(nb, saved)
    return nb, saved, usages


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Any]:
    extra = [
        "print('cap after the notebook:', grok_nb.settings.current().max_cost_usd)",
        "%%grokvision no_such_photo.png\nWhat is this?",
        "print('kernel alive', 6 * 7)",
    ]
    return execute("quickstart.ipynb", tmp_path_factory.mktemp("nb"), extra)


def _magic_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%grokvision")]


def _answered(nb: Any) -> list[Any]:
    """The magic cells that send a request (not dry runs, refusals or the bad path)."""
    return [
        c
        for c in _magic_cells(nb)
        if "--dry-run" not in c.source
        and "no_such" not in c.source
        and "raises-exception" not in c.metadata.get("tags", [])
    ]


def _cell(nb: Any, start: str) -> Any:
    return next(c for c in nb.cells if c.source.startswith(start))


URL_FOOTER = "image tokens 1,792 billed (not estimated: unmeasured URL)"


def test_every_answer_is_saved_as_markdown_with_footer(executed: tuple[Any, Path, Any]) -> None:
    nb, _, usages = executed
    asked = _answered(nb)
    assert len(asked) == 8
    for cell in asked:
        markdown = [
            o["data"]["text/markdown"] for o in cell.outputs if "text/markdown" in o.get("data", {})
        ]
        assert any("offline" in m and "image tokens" in m for m in markdown), cell.source
        assert all("text/plain" in o["data"] for o in cell.outputs if "data" in o)
    assert len(usages) == len(asked)


def test_footer_numbers_equal_the_simulators_usage(executed: tuple[Any, Path, Any]) -> None:
    nb, _, usages = executed
    for cell, usage in zip(_answered(nb), usages, strict=True):
        text = _outputs_text(cell)
        billed = usage["prompt_tokens_details"]["image_tokens"]
        if "https://" in cell.source:  # a URL is not measured: its footer says so
            assert billed == 1792 and URL_FOOTER in text
        else:
            assert f"image tokens {billed:,} billed = {billed:,} est." in text, cell.source
        assert f"completion {usage['completion_tokens']:,}" in text


def test_plot_cell_used_the_displayed_figure(executed: tuple[Any, Path, Any]) -> None:
    nb, _, _ = executed
    cell = next(
        c for c in _magic_cells(nb) if c.source.strip().endswith("What does this chart show?")
    )
    plot = nb.cells[nb.cells.index(cell) - 1]
    assert f"No image given: using the image displayed by cell [{plot.execution_count}]" in (
        _outputs_text(cell)
    )


def test_dry_run_and_structured_output(executed: tuple[Any, Path, Any]) -> None:
    nb, _, _ = executed
    dry = next(c for c in _magic_cells(nb) if "--dry-run" in c.source)
    assert "nothing was sent" in _outputs_text(dry)
    parsed = next(c for c in nb.cells if c.source == "scene.parsed")
    assert "Scene(" in _outputs_text(parsed)


def test_what_will_this_cost_section(executed: tuple[Any, Path, Any]) -> None:
    nb, _, usages = executed
    heading = _cell(nb, "## What will this cost?")
    section = nb.cells[nb.cells.index(heading) : nb.cells.index(heading) + 10]
    assert section[-1].source.startswith("%config GrokVision.max_cost_usd = None")  # contiguous
    assert not any(o.output_type == "error" for c in section for o in c.get("outputs", []))
    # a URL image: estimated at its rule's worst case, billed at it by the simulator
    url = _cell(nb, "%%grokvision https://")
    assert "≤ 1,792 for 1 URL image (worst case: not measured" in _outputs_text(url)
    assert URL_FOOTER in _outputs_text(url)
    # an explorer framing: estimated at exactly its plan, sent with its detail
    framed = _cell(nb, "%%grokvision ex ")
    assert "rule ceil (explorer)" in _outputs_text(framed)
    assert "image tokens 512 billed = 512 est." in _outputs_text(framed)
    check = nb.cells[nb.cells.index(framed) + 1]
    assert "explorer plan 512 tokens, estimated 512, billed 512; detail sent: ['low']" in (
        _outputs_text(check)
    )
    # a cap: refused in one line before anything was sent, and lifted afterwards
    capped = _cell(nb, "%%grokvision sample_photo.jpg\nWhich colours")
    [err] = [o for o in capped.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert re.fullmatch(
        r"UsageError: estimated cost \$0\.\d+ is above max_cost_usd=\$0\.001 by \$0\.\d+; "
        r"nothing was sent\s*",
        err.text,
    ), err.text
    assert len(usages) == len(_answered(nb))  # the refused call never reached the server
    after = next(c for c in nb.cells if "cap after the notebook" in c.source)
    assert "cap after the notebook: None" in _outputs_text(after)


def test_where_is_it_draws_boxes_in_the_images_pixels(executed: tuple[Any, Path, Any]) -> None:
    nb, _, _ = executed
    cell = next(c for c in _magic_cells(nb) if "--boxes" in c.source)
    drawn = [o for o in cell.outputs if "image/png" in o.get("data", {})]
    text = drawn[-1]["data"]["text/plain"]
    assert text.startswith("2 boxes in original pixels")
    # the red square the notebook drew spans x 80..340, y 120..300: within 1 px
    m = re.search(r"red: \(([\d.]+), ([\d.]+)\) – \(([\d.]+), ([\d.]+)\)", text)
    assert m is not None, text
    got = [float(v) for v in m.groups()]
    assert max(abs(g - w) for g, w in zip(got, [80, 120, 340, 300], strict=True)) <= 1
    located = _outputs_text(next(c for c in nb.cells if c.source.startswith("found = ")))
    assert "from the cache: True | first box: red (" in located  # same question, not paid twice


def test_key_is_nowhere_in_the_saved_notebook(executed: tuple[Any, Path, Any]) -> None:
    _, saved, _ = executed
    assert KEY not in saved.read_text(encoding="utf-8")


def test_bad_path_is_one_line_and_kernel_lives(executed: tuple[Any, Path, Any]) -> None:
    nb, _, _ = executed
    bad, after = nb.cells[-2], nb.cells[-1]
    # IPython shows a UsageError as one line on stderr, with no traceback
    [err] = [o for o in bad.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert err.text.startswith("UsageError: image 'no_such_photo.png'")
    assert err.text.strip().count("\n") == 0
    assert not re.search(r"Traceback|File \"", err.text)
    assert not any(o.output_type == "error" for o in bad.outputs)
    assert "kernel alive 42" in _outputs_text(after)


def test_batch_notebook(tmp_path: Path) -> None:
    nb, saved, usages = execute("batch.ipynb", tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = "\n".join(_outputs_text(c) for c in nb.cells)
    assert "6 of 6 answers came from the cache" in text
    assert "billing matches rule 'xai-guide'" in text and "Calibration cost $" in text
    assert len(usages) == 6 + 5  # six answers paid once, five calibration probes
    assert KEY not in saved.read_text(encoding="utf-8")
