"""Remember the image most recently displayed in this kernel.

``%%grokvision`` with no image argument asks about it: the plot from the previous
cell (inline matplotlib), a displayed PIL image, any ``image/png`` / ``image/jpeg``
output. We watch the two ways output reaches the front end: ``display()`` (the
display publisher) and a cell's result (the display hook).

A matplotlib figure is remembered as the figure itself, whatever the inline
backend's format (png, retina, jpeg, svg, pdf): both ways above turn an object into
its formats through the shell's display formatter, so we watch that too and pair a
figure with the format dict it produced. The figure is then sent the way
``%%grokvision fig`` sends it (rendered at the resolution its tile plan uses), not
as the screen-resolution picture the notebook shows. Other displays are kept as
bytes; an SVG or PDF that is not a figure is kept only to say why it cannot be sent.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from grok_nb.images.figures import figure_label, is_matplotlib

__all__ = ["DisplayedImage", "ImageCapture"]

IMAGE_MIMES = ("image/png", "image/jpeg")
VECTOR_MIMES = {"image/svg+xml": "an SVG drawing", "application/pdf": "a PDF"}
FIGURE_MIMES = (*IMAGE_MIMES, *VECTOR_MIMES)


@dataclass(frozen=True)
class DisplayedImage:
    """The newest displayed image: a matplotlib figure, or bytes and their MIME type.

    ``data`` is empty for an SVG/PDF display that came from no figure (``mime`` says
    which); ``sendable`` is False then.
    """

    data: bytes
    mime: str
    description: str  # "the image displayed by cell [5]"
    figure: Any = None  # the matplotlib Figure behind the display, if any

    @property
    def sendable(self) -> bool:
        return self.figure is not None or self.mime in IMAGE_MIMES

    @property
    def source(self) -> Any:
        """What to prepare: the figure (rendered for its tile plan), else the bytes."""
        return self.figure if self.figure is not None else self.data

    def why_not(self) -> str:
        """Why it cannot be sent (for a non-figure SVG/PDF display)."""
        kind = VECTOR_MIMES.get(self.mime, self.mime)
        return (
            f"{self.description} is {kind}, not a matplotlib figure or a PNG/JPEG, and "
            "grok_nb does not rasterise vector images: display it as PNG, or name the "
            "image (a variable, file, URL or figure) after %%grokvision"
        )


def _image_from_bundle(data: Any) -> tuple[bytes, str] | None:
    if not isinstance(data, dict):
        return None
    for mime in IMAGE_MIMES:
        value = data.get(mime)
        if value is None:
            continue
        if isinstance(value, str):  # front ends get base64 text
            try:
                return base64.b64decode(value), mime
            except ValueError:
                return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value), mime
    for mime in VECTOR_MIMES:
        if data.get(mime) is not None:
            return b"", mime
    return None


def _figure_of(obj: Any) -> Any | None:
    """``obj`` when it is a top-level matplotlib Figure (what the inline backend shows)."""
    if not is_matplotlib(obj):
        return None
    from matplotlib.figure import Figure

    return obj if isinstance(obj, Figure) else None


class ImageCapture:
    """Wraps the shell's display publisher and display hook; ``last`` is the newest image."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last: DisplayedImage | None = None
        self._originals: list[tuple[Any, str, Any]] = []
        self._pending: str | None = None  # "how", until the cell's number is known
        # the format dict the display formatter made for a figure, until it is published
        self._formatted: tuple[dict[str, Any], Any] | None = None

    def _remember(self, data: Any, metadata: Any, how: str) -> None:
        formatted, self._formatted = self._formatted, None
        if isinstance(metadata, dict) and "grok_nb" in metadata:
            return  # our own tile overlays and thumbnails are not the user's image
        figure = formatted[1] if formatted is not None and formatted[0] is data else None
        found = _image_from_bundle(data)
        if found is None:
            return
        # The cell's number is known for sure only once it has run (IPython versions
        # differ on when they count it): post_run_cell fills it in.
        self.last = DisplayedImage(found[0], found[1], self._describe(how, None, figure), figure)
        self._pending = how

    @staticmethod
    def _describe(how: str, count: int | None, figure: Any) -> str:
        cell = f"cell [{count}]" if count else "an earlier cell"
        text = f"the image {how} by {cell}"
        if figure is not None:
            with suppress(Exception):
                text += f" ({figure_label(figure)})"
        return text

    def _post_run_cell(self, result: Any = None) -> None:
        count = getattr(result, "execution_count", None)
        last = self.last
        if self._pending and last is not None and count:
            description = self._describe(self._pending, count, last.figure)
            self.last = DisplayedImage(last.data, last.mime, description, last.figure)
        self._pending = None

    def install(self) -> None:
        if self._originals:
            return
        events = getattr(self.shell, "events", None)
        if events is not None:
            events.register("post_run_cell", self._post_run_cell)
        self._watch_formatter(getattr(self.shell, "display_formatter", None))
        self._wrap(self.shell.display_pub, "publish", "metadata", "displayed")
        self._wrap(self.shell.displayhook, "write_format_data", "md_dict", "shown as the result")

    def _watch_formatter(self, formatter: Any) -> None:
        """Note which format dict came from a Figure, so the publish can be paired."""
        original = getattr(formatter, "format", None)
        if original is None:
            return

        def watched(obj: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(obj, *args, **kwargs)
            with suppress(Exception):  # watching must never break a display
                figure = _figure_of(obj)
                if figure is not None and any(m in result[0] for m in FIGURE_MIMES):
                    self._formatted = (result[0], figure)
            return result

        formatter.format = watched
        self._originals.append((formatter, "format", original))

    def _wrap(self, obj: Any, name: str, metadata_kw: str, how: str) -> None:
        """Watch ``obj.name(data, metadata, ...)`` calls, then let them through unchanged."""
        original = getattr(obj, name, None)
        if original is None:
            return

        def watched(data: Any, *args: Any, **kwargs: Any) -> Any:
            with suppress(Exception):  # watching must never break a display
                self._remember(data, kwargs.get(metadata_kw, args[0] if args else None), how)
            return original(data, *args, **kwargs)

        setattr(obj, name, watched)
        self._originals.append((obj, name, original))

    def uninstall(self) -> None:
        events = getattr(self.shell, "events", None)
        if events is not None and self._originals:
            events.unregister("post_run_cell", self._post_run_cell)
        for obj, name, original in reversed(self._originals):
            setattr(obj, name, original)
        self._originals.clear()
        self._formatted = None
