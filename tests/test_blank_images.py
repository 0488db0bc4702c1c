"""Blank input: a figure with nothing drawn is refused before anything is paid for; an
image of one uniform colour is sent, with a note saying so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from matplotlib.figure import Figure
from PIL import Image

import grok_nb
from grok_nb import ImageError
from grok_nb.images import load_image, prepare, prepare_many
from grok_nb.images.figures import blank_reason
from grok_nb.images.sources import uniform_colour_note
from grok_nb.settings import GrokVision


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def later_cell_gcf() -> Any:
    """What ``plt.gcf()`` gives in the cell after a plot was shown inline."""
    plt.plot([1, 2, 3])
    plt.close("all")  # the inline backend closes the figure once it is displayed
    return plt.gcf()


# --- refused: nothing drawn -----------------------------------------------------------


def test_an_empty_figure_is_refused_saying_why_and_how_to_send_it() -> None:
    with pytest.raises(ImageError) as info:
        prepare(later_cell_gcf())
    msg = str(info.value)
    assert msg.startswith("matplotlib Figure ")
    assert "the figure has nothing drawn (no axes, text or images)" in msg
    assert "not sent and nothing was billed" in msg
    assert "plt.gcf()" in msg and "allow_blank=True" in msg


@pytest.mark.parametrize(
    "make",
    [
        lambda: Figure(),  # no pyplot, no canvas manager
        lambda: plt.subplots()[0],  # empty axes: only a frame and default ticks
        lambda: plt.subplots(2, 2)[0],
        lambda: (lambda f: (f.suptitle("  "), f)[1])(plt.figure()),  # a blank title
        lambda: (lambda f: (f.add_subplot().set_title(""), f)[1])(plt.figure()),
        lambda: (lambda f: (f.subfigures(1, 2), f)[1])(plt.figure()),
    ],
    ids=["bare", "empty-axes", "empty-grid", "blank-suptitle", "blank-title", "empty-subfigs"],
)
def test_every_figure_with_nothing_drawn_is_refused(make: Any) -> None:
    fig = make()
    assert blank_reason(fig) is not None
    with pytest.raises(ImageError, match="has nothing drawn"):
        prepare(fig)


@pytest.mark.parametrize(
    "draw",
    [
        lambda f: f.add_subplot().plot([1, 2]),
        lambda f: f.suptitle("Only a title"),
        lambda f: f.text(0.5, 0.5, "words"),
        lambda f: f.figimage(np.zeros((10, 10))),
        lambda f: f.add_subplot().set_xlabel("x only"),
        lambda f: f.add_subplot().text(0.5, 0.5, "in the axes"),
        lambda f: f.add_subplot().axhline(0.5),
        lambda f: f.subfigures(1, 2)[1].add_subplot().bar([1], [2]),
        lambda f: f.colorbar(plt.cm.ScalarMappable(), ax=f.add_subplot()),
    ],
    ids=["line", "suptitle", "fig-text", "figimage", "xlabel", "ax-text", "axhline", "subfig",
         "colorbar"],
)  # fmt: skip
def test_anything_drawn_is_sent(draw: Any) -> None:
    fig = plt.figure()
    draw(fig)
    assert blank_reason(fig) is None
    assert prepare(fig).data


def test_one_empty_axes_of_several_is_refused_the_figure_is_not() -> None:
    fig, (full, empty) = plt.subplots(1, 2)
    full.plot([1, 2])
    with pytest.raises(ImageError, match="this Axes has nothing drawn") as info:
        prepare(empty)
    assert "prepare(ax, allow_blank=True)" in str(info.value)
    assert prepare(full).data and prepare(fig).data


def test_an_empty_subfigure_is_refused() -> None:
    fig = plt.figure()
    left, right = fig.subfigures(1, 2)
    left.add_subplot().plot([1, 2])
    with pytest.raises(ImageError, match="the SubFigure has nothing drawn"):
        prepare(right)
    assert prepare(left).data


def test_refused_everywhere_an_image_goes_in() -> None:
    fig = later_cell_gcf()
    for go in (
        lambda: prepare_many([fig]),
        lambda: load_image(fig),
        lambda: grok_nb.tiles(fig),
    ):
        with pytest.raises(ImageError, match="nothing drawn"):
            go()


def test_ask_refuses_before_any_request(sim: Any) -> None:
    with pytest.raises(ImageError, match="nothing drawn"):
        grok_nb.ask("What does this show?", later_cell_gcf(), cache="off")
    assert sim.log == [] and sim.requests == []


def test_the_magic_refuses_in_one_line_before_any_request(sim: Any, tmp_path: Any) -> None:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "grok_nb")
    settings = GrokVision.instance()
    saved = settings.cache_path
    settings.cache_path = str(tmp_path / "cache.sqlite3")
    shell.user_ns["fig"] = later_cell_gcf()
    try:
        with pytest.raises(UsageError, match=r"nothing drawn.*allow_blank=True"), capture_output():
            shell.run_cell_magic("grokvision", "fig", "What does this show?")
    finally:
        settings.cache_path = saved
    assert sim.requests == []


# --- sent anyway: allow_blank, and uniform colours ------------------------------------


def test_allow_blank_sends_it_with_notes_and_a_prepared_image_passes_through_ask(
    sim: Any,
) -> None:
    fig = later_cell_gcf()
    prepared = prepare(fig, allow_blank=True)
    assert prepared.plan is not None and prepared.plan.tokens == 1792
    assert any("sent anyway (allow_blank=True)" in n for n in prepared.notes)
    assert "one uniform colour (#FFFFFF)" in prepared.notes[0]  # first: it matters most
    answer = grok_nb.ask("What does this show?", prepared, cache="off")
    assert answer.text and len(sim.requests) == 1
    assert prepare_many([fig], allow_blank=True)[0].sha256 == prepared.sha256
    assert load_image(fig, allow_blank=True)[0].size


@pytest.mark.parametrize(
    ("source", "colour"),
    [
        (Image.new("RGB", (300, 200), "red"), "#FF0000"),
        (Image.new("L", (64, 64), 128), "#808080"),
        (np.zeros((50, 80, 3), dtype=np.uint8), "#000000"),
        (Image.new("RGBA", (40, 40), (0, 0, 0, 0)), "fully transparent"),
        (Image.new("RGBA", (40, 40), (0, 0, 255, 128)), "#0000FF at alpha 128/255"),
    ],
    ids=["red", "grey", "black-array", "transparent", "half-blue"],
)
def test_one_uniform_colour_is_sent_with_a_note(source: Any, colour: str) -> None:
    prepared = prepare(source)
    assert prepared.data
    assert prepared.notes[0].startswith(f"the whole image is one uniform colour ({colour})")


def test_a_uniform_image_goes_to_the_model(sim: Any) -> None:
    answer = grok_nb.ask("What colour is this?", Image.new("RGB", (64, 64), "red"), cache="off")
    assert answer.text and len(sim.requests) == 1


def test_pictures_get_no_uniform_note() -> None:
    gradient = Image.linear_gradient("L").convert("RGB")
    assert uniform_colour_note(gradient) is None
    one_dot = Image.new("RGB", (50, 50), "white")
    one_dot.putpixel((10, 10), (0, 0, 0))
    assert uniform_colour_note(one_dot) is None
    assert not any("uniform" in n for n in prepare(one_dot).notes)
