"""The last displayed plot is sent as ``%%grokvision fig`` sends it, whatever the
inline backend's format — checked in a real kernel against the simulator."""

from __future__ import annotations

import base64
import io
from typing import Any

import nbformat
import pytest
from conftest import cell_text, run_in_kernel
from PIL import Image

from grok_nb import simulator

pytestmark = pytest.mark.kernel
FORMATS = ("png", "retina", "jpeg", "svg", "pdf")

PLOT = """\
%config InlineBackend.figure_format = {fmt!r}
fig, ax = plt.subplots()
ax.plot([1, 3, 2, 4], label="series")
ax.set_title("sales ({fmt})")
ax.legend()"""


def _cells() -> list[str]:
    cells = ["%load_ext grok_nb\nimport matplotlib.pyplot as plt"]
    for fmt in FORMATS:
        cells += [
            PLOT.format(fmt=fmt),
            "%%grokvision --no-cache\nWhat does this chart show?",
            "%%grokvision fig --no-cache\nWhat does this chart show?",
        ]
    cells += [
        "%grokvision_tiles",
        "from IPython.display import SVG\n"
        'SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\')',
        "%%grokvision\nWhat is this?",
        "%grokvision_tiles",
    ]
    return cells


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[Any]]:
    work = tmp_path_factory.mktemp("capture")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in _cells()]
    with simulator.serve() as sim:
        env = {"XAI_BASE_URL": sim.base_url, "XAI_API_KEY": "xai-capture-test-key-0123456789"}
        env.update(GROK_NB_OFFLINE="1", GROK_NB_CACHE_DIR=str(work / "cache"))
        run_in_kernel(nb, work, env)
        requests = list(sim.requests)
    return nb, requests


def _sent_size(body: dict[str, Any]) -> tuple[int, int]:
    [url] = [
        part["image_url"]["url"]
        for message in body["messages"]
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]
    data = base64.b64decode(url.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as im:
        return im.size


_text = cell_text


@pytest.mark.parametrize("fmt", FORMATS)
def test_last_plot_is_sent_like_the_named_figure(run: tuple[Any, list[Any]], fmt: str) -> None:
    nb, requests = run
    i = FORMATS.index(fmt)
    implicit, named = nb.cells[2 + 3 * i : 4 + 3 * i]
    assert "No image given: using the image displayed by cell" in _text(implicit), _text(implicit)
    assert "matplotlib Figure" in _text(implicit)
    assert not any(o.output_type == "error" for o in implicit.outputs + named.outputs)
    implicit_size = _sent_size(requests[2 * i])
    named_size = _sent_size(requests[2 * i + 1])
    assert implicit_size == named_size
    assert max(implicit_size) > 1000  # rendered for its tile plan, not at screen size


def test_svg_that_is_no_figure_is_a_clear_usage_error(run: tuple[Any, list[Any]]) -> None:
    nb, requests = run
    ask, tiles = nb.cells[-2], nb.cells[-1]
    for cell in (ask, tiles):
        [err] = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert err.text.startswith("UsageError:")
        assert "is an SVG drawing, not a matplotlib figure" in err.text
        assert "does not rasterise" in err.text
    assert len(requests) == 2 * len(FORMATS)


def test_tiles_with_no_argument_names_the_displayed_image(run: tuple[Any, list[Any]]) -> None:
    nb, _ = run
    tiles = nb.cells[1 + 3 * len(FORMATS)]
    text = _text(tiles)
    assert "the image displayed by cell [" in text, text
    assert "bytes (" not in text
