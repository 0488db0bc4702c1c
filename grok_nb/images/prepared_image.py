"""``PreparedImage``: one image ready to send — bytes, MIME type, tile plan, notes.

Its own module so that every step of the pipeline (sources, prepared) can name it
without importing the pipeline itself.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grok_nb.errors import ImageError
from grok_nb.images.decode import pillow_errors
from grok_nb.images.resize import preview
from grok_nb.tiling import TilePlan

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["PreparedImage"]


@dataclass(frozen=True)
class PreparedImage:
    """One image ready to send: encoded bytes, their MIME type, and its tile plan."""

    label: str
    data: bytes | None = field(repr=False)
    mime: str | None
    url: str | None
    size: tuple[int, int] | None
    sent_size: tuple[int, int] | None
    plan: TilePlan | None = field(repr=False)
    detail: str
    sha256: str
    notes: tuple[str, ...] = ()

    @property
    def data_url(self) -> str:
        """``data:<mime>;base64,...`` for the request, or the pass-through URL."""
        if self.data is None:
            return self.url or ""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def thumbnail(self, max_px: int = 256) -> Image.Image:
        """A small RGB/RGBA copy of what is sent."""
        from PIL import Image as PILImage

        if self.data is None:
            raise ImageError(self.label, "not downloaded; pass fetch_urls=True to see it")
        with pillow_errors(self.label):
            im = PILImage.open(io.BytesIO(self.data))
            im.draft(None, (max_px, max_px))
            im.load()
        return preview(im, max_px)

    def __repr__(self) -> str:
        if self.data is None:
            return f"PreparedImage({self.label!r}, URL passed through)"
        sw, sh = self.sent_size or (0, 0)
        tiles = ""
        if self.plan is not None:
            cols, rows = self.plan.grid
            tiles = f", {cols}x{rows} grid, {self.plan.tokens} tokens"
        return (
            f"PreparedImage({self.label!r}, {self.mime} {sw}x{sh}, {len(self.data):,} bytes{tiles})"
        )

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        if self.plan is not None:
            data, metadata = self.plan._repr_mimebundle_(include, exclude)
            bundle.update(data)
        bundle["text/plain"] = repr(self)
        return bundle, metadata
