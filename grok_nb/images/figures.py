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

A figure with nothing drawn in it is refused before anything is rendered or sent
(``ImageError``): no axes, text or images, or only axes with nothing plotted and no
title or labels. That is what ``plt.gcf()`` gives in a cell after the plot was shown
(the inline backend closed the drawn figure), and sending it would bill a full tile
grid for a white rectangle. ``allow_blank=True`` sends it anyway, with a note.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from grok_nb.errors import ImageError
from grok_nb.tiling import TileRule, plan

__all__ = [
    "MAX_RENDER_SIDE", "blank_reason", "figure_label", "is_matplotlib", "render_figure",
    "root_figure",
]  # fmt: skip

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


def _group(ax: Any, fig: Any) -> tuple[list[Any], list[Any]]:
    """(the Axes with its twins, the figure's other plots; colorbars aside)."""
    pos = ax.get_position().bounds
    group = [a for a in fig.axes if a is ax or a.get_position().bounds == pos]
    others = [a for a in fig.axes if a not in group and not hasattr(a, "_colorbar")]
    return group, others


def _has_text(text: Any) -> bool:
    return text is not None and text.get_visible() and bool(text.get_text().strip())


def _axes_empty(ax: Any) -> bool:
    """Nothing plotted in ``ax`` and no words on it: only the frame and default ticks."""
    if ax.has_data() or ax.texts or ax.artists or ax.tables or ax.get_legend() is not None:
        return False
    if getattr(ax, "child_axes", None) or getattr(ax, "_colorbar", None) is not None:
        return False
    titles = (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None))
    labels = (ax.xaxis.label, ax.yaxis.label, getattr(getattr(ax, "zaxis", None), "label", None))
    return not any(_has_text(t) for t in (*titles, *labels))


def _figure_empty(fig: Any) -> bool:
    """No visible artist in a Figure/SubFigure but its background (and empty axes)."""
    from matplotlib.axes import Axes
    from matplotlib.figure import SubFigure
    from matplotlib.text import Text

    for child in fig.get_children():
        if child is fig.patch or not child.get_visible():
            continue
        if isinstance(child, Axes):
            if not _axes_empty(child):
                return False
        elif isinstance(child, SubFigure):
            if not _figure_empty(child):
                return False
        elif not isinstance(child, Text) or _has_text(child):
            return False
    return True


def blank_reason(obj: Any) -> str | None:
    """Why the figure (or part) ``obj`` stands for shows nothing, or ``None`` when
    something is drawn in it."""
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

    fig = root_figure(obj)
    if fig is None:
        return None
    if isinstance(obj, Axes):
        group, others = _group(obj, fig)
        if others:  # only this Axes (and its twins) would be rendered
            if all(_axes_empty(a) for a in group):
                return "this Axes has nothing drawn (nothing plotted, no title or labels)"
            return None
    part = obj if isinstance(obj, FigureBase) else fig
    if not _figure_empty(part):
        return None
    what = "figure" if part is fig else "SubFigure"
    if any(isinstance(c, Axes) for c in part.get_children()):
        return f"the {what} has nothing drawn (its axes are empty: nothing plotted, no labels)"
    return f"the {what} has nothing drawn (no axes, text or images)"


def _blank_error(label: str, reason: str, obj: Any) -> ImageError:
    from matplotlib.axes import Axes

    if isinstance(obj, Axes):
        how = "draw into it first, or pass grok_nb.prepare(ax, allow_blank=True) instead"
    else:
        how = (
            "in a cell after the plot was shown, plt.gcf() is a new, empty figure: pass the "
            "figure you drew on (fig, ax = plt.subplots() ... then fig), draw into this one "
            "first, or pass grok_nb.prepare(fig, allow_blank=True) instead"
        )
    return ImageError(
        label, f"{reason}, so it was not sent and nothing was billed; {how} to send it blank"
    )


def _axes_region(ax: Any, fig: Any, notes: list[str]) -> Any | None:
    """The Axes' tight box in inches when it shares the figure with other plots."""
    from matplotlib.transforms import Bbox

    group, others = _group(ax, fig)
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
    obj: Any,
    label: str,
    *,
    rule: str | TileRule | None = None,
    detail: str = "high",
    allow_blank: bool = False,
) -> tuple[bytes, list[str]]:
    """PNG bytes of the figure (or part) ``obj`` stands for, and notes. A figure with
    nothing drawn raises ``ImageError`` unless ``allow_blank``."""
    from matplotlib.axes import Axes
    from matplotlib.figure import SubFigure

    fig = root_figure(obj)
    if fig is None:
        raise ImageError(label, "this matplotlib object is not attached to a figure")
    notes: list[str] = []
    blank = blank_reason(obj)
    if blank is not None and not allow_blank:
        raise _blank_error(label, blank, obj)
    if blank is not None:
        notes.append(f"{blank}; sent anyway (allow_blank=True)")
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
