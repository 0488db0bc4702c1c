"""matplotlib figures, axes and plot objects: rendered at the right DPI, never changed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from PIL import Image

from grok_nb import ImageError
from grok_nb.images import load_image, mime_of, prepare
from grok_nb.images.figures import MAX_RENDER_SIDE


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def state(fig: Any) -> tuple[Any, ...]:
    return (
        fig.dpi,
        tuple(fig.get_size_inches()),
        tuple(fig.get_facecolor()),
        len(fig.axes),
        [tuple(a.get_position().bounds) for a in fig.axes],
        fig.canvas.__class__,
    )


def sent(p: Any) -> Image.Image:
    assert p.data is not None and mime_of(p.data) == p.mime == "image/png"
    return Image.open(io.BytesIO(p.data)).convert("RGB")


def assert_covers_canvas_without_waste(p: Any) -> None:
    """Rendered just large enough: covers the plan's canvas on both axes, one axis tight."""
    assert p.size is not None and p.plan is not None
    (w, h), (cw, ch) = p.size, p.plan.resized
    assert w >= cw - 2 and h >= ch - 2, (p.size, p.plan.resized)
    assert min(w / cw, h / ch) <= 1.01, (p.size, p.plan.resized)


def test_pyplot_figure_rendered_to_cover_the_canvas_and_left_alone() -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100, facecolor="#ff0000")
    ax.plot([0, 1], [0, 1])
    before = state(fig)
    p = prepare(fig)
    assert state(fig) == before
    assert plt.fignum_exists(fig.number)  # not closed
    assert p.plan is not None and p.plan.grid == (3, 2)
    assert_covers_canvas_without_waste(p)
    assert sent(p).getpixel((2, 2)) == (255, 0, 0)  # the figure's own face colour
    assert p.label == f"matplotlib Figure {fig.number}"
    assert any("dpi" in n for n in p.notes)
    assert prepare(fig).sha256 == p.sha256  # rendering is repeatable


def test_figure_dpi_follows_the_rule() -> None:
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    fig.add_subplot().plot([1, 2])
    ceil = prepare(fig, rule="ceil")  # fits within 6 tiles at its own dpi: rendered as is
    assert any(n.startswith("rendered at 100 dpi") for n in ceil.notes)
    assert ceil.size is not None and max(ceil.size) < 700
    guide = prepare(fig, rule="xai-guide")  # 3x2 canvas 1344x896: rendered to cover it
    assert_covers_canvas_without_waste(guide)


def test_legend_outside_the_axes_is_kept_like_the_inline_backend() -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    ax.plot([1, 2], label="a line with a long legend label")
    ax.legend(loc="center left", bbox_to_anchor=(1.05, 0.5))
    p = prepare(fig)
    assert p.size is not None and p.size[0] / p.size[1] > 6.4 / 4.8 + 0.2


def test_wide_figure_capped_at_six_tiles_wide() -> None:
    fig = Figure(figsize=(40, 5), dpi=100)  # 4000x500 at its own dpi
    fig.add_subplot().plot([1, 2])
    p = prepare(fig, resize="none")
    assert p.size is not None and max(p.size) <= MAX_RENDER_SIDE


def test_bare_figure_without_backend() -> None:
    fig = Figure(figsize=(3, 2), dpi=80)
    fig.add_subplot().imshow(np.eye(8))
    before = state(fig)
    p = prepare(fig)
    assert state(fig) == before
    assert p.label == "matplotlib Figure" and p.size is not None


def test_inline_backend_figure() -> None:
    from matplotlib_inline import backend_inline

    manager = backend_inline.new_figure_manager(9123, figsize=(4, 3))
    fig = manager.canvas.figure
    fig.add_subplot().bar([1, 2, 3], [3, 1, 2])
    before = state(fig)
    p = prepare(fig)
    assert state(fig) == before and p.size is not None


def test_single_axes_renders_whole_figure() -> None:
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    im = ax.imshow(np.eye(5))
    fig.colorbar(im)  # a colorbar is not "another plot"
    ax.set_title("eye")
    from_ax, from_fig = prepare(ax), prepare(fig)
    assert from_ax.size == from_fig.size
    assert from_ax.label == f"matplotlib Axes 'eye' of Figure {fig.number}"


def test_twin_axes_are_not_other_plots() -> None:
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([1, 2])
    ax.twinx().plot([3, 1], color="orange")
    p = prepare(ax)
    assert p.size == prepare(fig).size and not any("only this Axes" in n for n in p.notes)


def test_one_axes_of_several_renders_its_box() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), dpi=100)
    axes[0].plot([1, 2], color="red")
    axes[1].plot([2, 1], color="blue")
    before = state(fig)
    p = prepare(axes[0])
    assert state(fig) == before
    assert any("only this Axes" in n for n in p.notes)
    whole = prepare(fig)
    assert p.size is not None and whole.size is not None
    assert p.size[0] / p.size[1] < whole.size[0] / whole.size[1]  # about half as wide
    colours = np.asarray(sent(p)).reshape(-1, 3)
    blue = (colours[:, 2] > 200) & (colours[:, 0] < 60) & (colours[:, 1] < 60)
    assert not blue.any()  # the other panel's line is not in the crop


def test_subfigure() -> None:
    fig = plt.figure(figsize=(8, 3))
    left, right = fig.subfigures(1, 2)  # type: ignore[misc]
    left.add_subplot().plot([1, 2])
    right.add_subplot().plot([2, 1])
    p = prepare(right)
    assert "rendered only this SubFigure" in p.notes
    assert p.label.startswith("matplotlib SubFigure")


def test_array_of_axes_renders_their_figure() -> None:
    fig, axes = plt.subplots(2, 2, figsize=(4, 4), dpi=100)
    axes[1, 1].plot([1, 2])  # a grid of empty axes is refused (tests/test_blank_images.py)
    p = prepare(axes)
    assert p.size == prepare(fig).size
    assert p.label == f"array of 4 Axes of matplotlib Figure {fig.number}"
    _other, ax2 = plt.subplots()
    with pytest.raises(ImageError, match="not an image"):
        prepare(np.array([axes[0, 0], ax2], dtype=object))


def test_plot_holders_seaborn_and_pandas() -> None:
    import pandas as pd

    ax = pd.DataFrame({"a": [1, 3, 2]}).plot()
    p = prepare(ax)
    assert p.size is not None and "Axes" in p.label

    class Grid:  # the shape of a seaborn FacetGrid / JointGrid
        def __init__(self, figure: Any) -> None:
            self.figure = figure

    class OldGrid:  # older seaborn: .fig
        def __init__(self, figure: Any) -> None:
            self.fig = figure

    fig = plt.figure(figsize=(3, 3))
    fig.add_subplot().scatter([1, 2], [2, 1])
    for holder in (Grid(fig), OldGrid(fig)):
        q = prepare(holder)
        assert q.label.endswith(f"(matplotlib Figure {fig.number})")
        assert q.size == prepare(fig).size


def test_artist_renders_its_figure() -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    (line,) = ax.plot([1, 2])
    assert prepare(line).size == prepare(fig).size


def test_load_image_of_figure_is_rgb() -> None:
    fig = Figure(figsize=(2, 2), dpi=50)
    fig.add_subplot().plot([1, 2])
    pil, label, notes = load_image(fig)
    assert pil.mode == "RGB" and label == "matplotlib Figure" and notes


def test_transparent_figure_keeps_alpha() -> None:
    fig = Figure(figsize=(2, 2), dpi=50)
    fig.patch.set_alpha(0.0)
    ax = fig.add_subplot()
    ax.patch.set_alpha(0.0)
    ax.plot([0, 1], [0, 1], color="black")
    p = prepare(fig)
    assert p.data is not None and p.mime == "image/png"
    im = Image.open(io.BytesIO(p.data))
    assert im.mode == "RGBA" and im.getpixel((1, 1)) == (255, 255, 255, 0)
