"""Remember the image most recently displayed in this kernel.

``%%grokvision`` with no image argument asks about it: the plot from the previous
cell (inline matplotlib), a displayed PIL image, any ``image/png`` / ``image/jpeg``
output. We watch the two ways output reaches the front end: ``display()`` (the
display publisher) and a cell's result (the display hook).
"""

from __future__ import annotations

import base64
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

__all__ = ["DisplayedImage", "ImageCapture"]

IMAGE_MIMES = ("image/png", "image/jpeg")


@dataclass(frozen=True)
class DisplayedImage:
    data: bytes
    mime: str
    description: str  # "the image displayed by cell [5]"


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
    return None


class ImageCapture:
    """Wraps the shell's display publisher and display hook; ``last`` is the newest image."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last: DisplayedImage | None = None
        self._originals: list[tuple[Any, str, Any]] = []
        self._pending: str | None = None  # "how", until the cell's number is known

    def _remember(self, data: Any, metadata: Any, how: str) -> None:
        if isinstance(metadata, dict) and "grok_nb" in metadata:
            return  # our own tile overlays and thumbnails are not the user's image
        found = _image_from_bundle(data)
        if found is None:
            return
        # The cell's number is known for sure only once it has run (IPython versions
        # differ on when they count it): post_run_cell fills it in.
        self.last = DisplayedImage(found[0], found[1], f"the image {how} by an earlier cell")
        self._pending = how

    def _post_run_cell(self, result: Any = None) -> None:
        count = getattr(result, "execution_count", None)
        if self._pending and self.last is not None and count:
            description = f"the image {self._pending} by cell [{count}]"
            self.last = DisplayedImage(self.last.data, self.last.mime, description)
        self._pending = None

    def install(self) -> None:
        if self._originals:
            return
        events = getattr(self.shell, "events", None)
        if events is not None:
            events.register("post_run_cell", self._post_run_cell)
        self._wrap(self.shell.display_pub, "publish", "metadata", "displayed")
        self._wrap(self.shell.displayhook, "write_format_data", "md_dict", "shown as the result")

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
