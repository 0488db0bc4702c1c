"""matplotlib figures, subfigures and axes (and anything holding one) -> PNG bytes.

The DPI is chosen from the tile plan: the figure's plan at its own DPI says which
canvas the model will work from, and the figure is rendered just large enough to
cover that canvas on both axes (never below its own DPI, and never with a side
longer than 6 × 448 px). So text stays crisp in the tiles without rendering
pixels the model would throw away.

The user's figure is never changed or closed: ``savefig`` restores what it
touches, and the DPI, size and face colour are checked and put back regardless.
It works with any canvas (inline, Agg, or a bare ``Figure()`` with no backend),
because PNG output always goes through Agg.

A whole figure is cropped to its drawn content plus ``savefig.pad_inches``, as the
inline backend shows it (``bbox_inches="tight"``): no dead margins are paid for,
and a legend placed outside the axes is not cut off.

An ``Axes`` that is the only one in its figure (colorbars and twin axes aside)
renders the whole figure. One ``Axes`` of several renders just that Axes with its
labels, title and legend (its tight bounding box) — what ``axes[0]`` asks for —
and the notes say so.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from grok_nb.errors import ImageError
from grok_nb.tiling import TileRule, plan

__all__ = ["MAX_RENDER_SIDE", "figure_label", "is_matplotlib", "render_figure", "root_figure"]

MAX_RENDER_SIDE = 6 * 448
_PAD_INCHES = 0.05


def is_matplotlib(obj: object) -> bool:
    return type(obj).__module__.split(".")[0] == "matplotlib"


def _root(fig: Any) -> Any:
    try:
        return fig.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10: .figure of a SubFigure is the root
        return getattr(fig, "figure", fig) or fig


def root_figure(obj: Any) -> Any | None:
    """The top-level Figure behind a Figure/SubFigure/Axes/Artist or a holder of one."""
    from matplotlib.artist import Artist
    from matplotlib.figure import FigureBase

    if isinstance(obj, FigureBase):
        return _root(obj)
    if isinstance(obj, Artist):
        fig = obj.get_figure()
        return None if fig is None else _root(fig)
    for attr in ("figure", "fig"):
        held = getattr(obj, attr, None)
        if held is not None and is_matplotlib(held) and held is not obj:
            return root_figure(held)
    return None


def _title(fig: Any) -> str:
    sup = getattr(fig, "_suptitle", None)
    text = sup.get_text().strip() if sup is not None else ""
    return f" {text[:40]!r}" if text else ""


def figure_label(obj: Any) -> str:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    fig = root_figure(obj)
    number = getattr(fig, "number", None)
    short = f"Figure {number}" if number is not None else "Figure"
    if isinstance(obj, Figure):
        return f"matplotlib {short}{_title(obj)}"
    if isinstance(obj, SubFigure):
        return f"matplotlib SubFigure of {short}"
    if isinstance(obj, Axes):
        title = obj.get_title().strip()
        return f"matplotlib Axes{f' {title[:40]!r}' if title else ''} of {short}"
    return f"{type(obj).__name__} (matplotlib {short})"


def _axes_region(ax: Any, fig: Any, notes: list[str]) -> Any | None:
    """The Axes' tight box in inches when it shares the figure with other plots."""
    from matplotlib.transforms import Bbox

    pos = ax.get_position().bounds
    group = [a for a in fig.axes if a is ax or a.get_position().bounds == pos]  # + twins
    others = [a for a in fig.axes if a not in group and not hasattr(a, "_colorbar")]
    if not others:
        return None
    fig.draw_without_rendering()  # run the layout engine so the boxes are current
    boxes = [a.get_tightbbox() for a in group]
    box = Bbox.union([b for b in boxes if b is not None])
    notes.append(
        f"rendered only this Axes with its labels (its tight box; the figure has "
        f"{len(others) + 1} plots); pass its .figure for the whole figure"
    )
    return box.transformed(fig.dpi_scale_trans.inverted()).padded(_PAD_INCHES)


def _tight_region(fig: Any) -> Any:
    """The figure's drawn content in inches, padded as ``savefig`` pads a tight box."""
    import matplotlib

    fig.draw_without_rendering()  # run the layout engine first, as a display would
    box = fig.get_tightbbox()
    pad = matplotlib.rcParams.get("savefig.pad_inches", 0.1)
    pad = pad if isinstance(pad, (int, float)) else 0.1
    if box is None or box.width <= 0 or box.height <= 0:
        return None
    return box.padded(pad)


def _choose_dpi(
    width_in: float, height_in: float, dpi: float, rule: str | TileRule | None, detail: str
) -> float:
    w_px, h_px = max(1, round(width_in * dpi)), max(1, round(height_in * dpi))
    canvas = plan(w_px, h_px, rule, detail).resized
    scale = max(1.0, canvas[0] / w_px, canvas[1] / h_px)
    scale = min(scale, MAX_RENDER_SIDE / max(w_px, h_px))
    return dpi * scale


def render_figure(
    obj: Any, label: str, *, rule: str | TileRule | None = None, detail: str = "high"
) -> tuple[bytes, list[str]]:
    """PNG bytes of the figure (or part) ``obj`` stands for, and notes."""
    from matplotlib.axes import Axes
    from matplotlib.figure import SubFigure

    fig = root_figure(obj)
    if fig is None:
        raise ImageError(label, "this matplotlib object is not attached to a figure")
    notes: list[str] = []
    saved = (fig.dpi, tuple(fig.get_size_inches()), fig.get_facecolor())
    try:
        region = None
        if isinstance(obj, SubFigure):
            fig.draw_without_rendering()
            region = obj.bbox.transformed(fig.dpi_scale_trans.inverted())
            notes.append("rendered only this SubFigure")
        elif isinstance(obj, Axes):
            region = _axes_region(obj, fig, notes)
        if region is None:
            region = _tight_region(fig)
        width_in, height_in = (
            (region.width, region.height) if region is not None else fig.get_size_inches()
        )
        if width_in <= 0 or height_in <= 0:
            raise ImageError(label, f"the figure has no area ({width_in}x{height_in} inches)")
        dpi = _choose_dpi(width_in, height_in, fig.dpi, rule, detail)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches=region)
    finally:
        if fig.dpi != saved[0]:
            fig.set_dpi(saved[0])
        if tuple(fig.get_size_inches()) != saved[1]:
            fig.set_size_inches(saved[1], forward=False)
        if fig.get_facecolor() != saved[2]:
            fig.set_facecolor(saved[2])
    png = buf.getvalue()
    w_px, h_px = struct.unpack(">II", png[16:24])  # the PNG header's IHDR size
    notes.append(f"rendered at {dpi:.0f} dpi ({w_px}x{h_px} px) to cover its tile canvas")
    return png, notes
