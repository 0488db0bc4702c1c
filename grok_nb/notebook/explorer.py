"""``TileExplorer``: frame an image and watch its tiles, tokens and cost change live.

The widget is an anywidget. The browser redraws every slider step and crop drag
with ``js/tiles.js`` (no kernel round trip); the kernel recomputes the plan with
``grok_nb.tiling`` whenever the framing reaches it, so ``explorer.plan`` is always
Python's own answer. ``explorer.image()`` returns the framed image at full
resolution: the crop of the original, then the scale.

The image travels to the browser once, as a preview (at most ``PREVIEW_PX`` on the
long side) in a bytes trait, which arrives in JS as a ``DataView``: never base64
inside JSON. Where no widget front end exists (nbconvert, GitHub), the mimebundle
also carries the static overlay from ``grok_nb.render``.
"""

from __future__ import annotations

import io
import math
import operator
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets as t

from grok_nb.api.credentials import resolve_base_url
from grok_nb.boxes import Box, Detections, Frame, label_colours
from grok_nb.errors import ConfigError, GrokError, ImageError
from grok_nb.images import load_image
from grok_nb.preparing import Labelled
from grok_nb.pricing import DEFAULT_MODEL, FALLBACK_PRICES, price_for
from grok_nb.render import OVERLAY_METADATA, plan_mimebundle
from grok_nb.rules import rule_in_force
from grok_nb.settings import current
from grok_nb.tiling import DEFAULT_RULE, DETAILS, RULES, TilePlan, get_rule
from grok_nb.tiling import plan as plan_tiles

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["PREVIEW_PX", "TileExplorer", "check_crop", "check_scale", "framed_size"]

PREVIEW_PX = 1024  # long side of the preview sent to the browser


# The front-end assets are package data: the same path in a checkout and in a wheel.
JS_DIR = Path(__file__).resolve().parent / "js"


# --- framing arithmetic (js/tiles.js framedSize / clampCrop do the same) --------------


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{what} {value!r}: must be an integer")
    try:
        return operator.index(value)  # type: ignore[arg-type]  # ints and numpy integers
    except TypeError:
        raise ConfigError(f"{what} {value!r}: must be an integer") from None


def check_crop(crop: object, width: int, height: int) -> tuple[int, int, int, int]:
    """Validate a crop ``(x0, y0, x1, y1)`` in original pixels of a ``width`` x ``height`` image."""
    if crop is None:
        return (0, 0, width, height)
    try:
        values = [] if isinstance(crop, (str, bytes)) else list(crop)  # type: ignore[call-overload]
    except TypeError:
        values = []
    if len(values) != 4:
        raise ConfigError(f"crop {crop!r}: must be four integers (x0, y0, x1, y1)")
    x0, y0, x1, y1 = (_as_int(v, "crop value") for v in values)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ConfigError(
            f"crop {[x0, y0, x1, y1]}: needs 0 <= x0 < x1 <= {width} and 0 <= y0 < y1 <= {height}"
        )
    return (x0, y0, x1, y1)


def check_scale(scale: object) -> float:
    """Validate a scale: a number in (0, 1] (the explorer never upscales)."""
    ok = isinstance(scale, (int, float)) and not isinstance(scale, bool)
    if not ok or not (0 < float(scale) <= 1):  # type: ignore[arg-type]
        raise ConfigError(f"scale {scale!r}: must be a number in (0, 1]")
    return float(scale)  # type: ignore[arg-type]


def framed_size(crop: Sequence[int], scale: float) -> tuple[int, int]:
    """Size of the crop scaled by ``scale``: each side rounded half up, at least 1 px."""
    x0, y0, x1, y1 = crop
    return (
        max(1, math.floor((x1 - x0) * scale + 0.5)),
        max(1, math.floor((y1 - y0) * scale + 0.5)),
    )


# --- loading --------------------------------------------------------------------------


def _describe(source: object) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    return f"{type(source).__name__} object"


def load(source: object) -> tuple[Image.Image, str | None]:
    """A PIL image and a short label, through the same loader every image source uses."""
    img, label, _notes = load_image(source)
    return img, label


def _encode_preview(img: Image.Image) -> tuple[bytes, str]:
    """A display-only preview: PNG for graphics and transparency, JPEG for photos."""
    from PIL import Image

    preview = img.copy()
    preview.thumbnail((PREVIEW_PX, PREVIEW_PX), Image.Resampling.LANCZOS)
    has_alpha = preview.mode in ("RGBA", "LA", "PA") or "transparency" in preview.info
    preview = preview.convert("RGBA" if has_alpha else "RGB")
    buf = io.BytesIO()
    if has_alpha or preview.getcolors(maxcolors=256) is not None:
        preview.save(buf, format="PNG", optimize=True)
        return buf.getvalue(), "image/png"
    preview.save(buf, format="JPEG", quality=88)
    return buf.getvalue(), "image/jpeg"


def _price_entry(name: str) -> dict[str, Any]:
    price = price_for(name)
    return {
        "name": name,
        "image_per_million": None if price is None else price.image_rate,
        "source": None if price is None else price.source,
    }


def _rule_entry(name: str) -> dict[str, Any]:
    return RULES[name].to_dict()


def _plan_to_json(value: TilePlan | None, _widget: Any) -> dict[str, Any] | None:
    return None if value is None else value.to_dict()  # None only before the first plan


def _plan_from_json(_value: Any, widget: TileExplorer) -> TilePlan:
    # The kernel is the authority for ``plan``: whatever a front end sends is replaced
    # by Python's own plan for the current framing.
    return widget._compute_plan()


def _as_box(item: Any) -> Box:
    if isinstance(item, Box):
        return item
    if isinstance(item, dict):
        try:
            x0, y0, x1, y1 = (float(item[k]) for k in ("x0", "y0", "x1", "y1"))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"box {item!r}: needs label, x0, y0, x1, y1") from None
        label = str(item.get("label", ""))
        return Box(label, x0, y0, x1, y1, score=item.get("score"), note=item.get("note"))
    raise ConfigError(f"box {item!r}: expected a Box or a dict")


def boxes_to_json(value: Any, size: Sequence[int]) -> list[dict[str, Any]]:
    """Boxes (``Detections``, ``Box`` objects or dicts) as the front end draws them:
    in original pixels, clipped to the image, each with its label's colour."""
    if value is None:
        return []
    if isinstance(value, Detections):
        value = [b for b in value if b.image == 0]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(f"boxes {value!r}: expected Detections or a list of boxes")
    boxes = [_as_box(v) for v in value]
    colours = label_colours(list(dict.fromkeys(b.label for b in boxes)))
    w, h = size
    return [
        {
            "label": b.label,
            "box": [
                min(max(v, 0.0), float(lim)) for v, lim in zip(b.xyxy, (w, h, w, h), strict=True)
            ],
            "score": b.score,
            "note": b.note or "",
            "flags": list(b.flags),
            "colour": "#{:02x}{:02x}{:02x}".format(*colours[b.label]),
        }
        for b in boxes
    ]


# --- the widget -----------------------------------------------------------------------


class _Checked(t.TraitType):  # unsubscripted: works with older, non-generic traitlets too
    """Any value, ``None`` included, handed to the widget's ``@validate`` method.

    (``traitlets.Any`` lets ``None`` skip validation; here ``None`` means "default".)
    """

    allow_none = False
    info_text = "a value checked by the widget"


class TileExplorer(anywidget.AnyWidget):
    """Interactive tile plan of one image: scale, crop, rule, detail, model.

    Read the framing back with ``crop``, ``scale``, ``plan`` (a ``TilePlan``) and
    ``image()`` (the framed PIL image, ready for ``grok_nb.ask``).
    """

    _esm = JS_DIR / "explorer.js"
    _css = JS_DIR / "explorer.css"
    # js/tiles.js, js/explorer_draw.js and js/usd.js as text: the front end imports them
    # from Blob URLs, because anywidget loads explorer.js from one too and a relative
    # import could not resolve.
    _tiles_js = t.Unicode("").tag(sync=True)
    _draw_js = t.Unicode("").tag(sync=True)
    _usd_js = t.Unicode("").tag(sync=True)
    _boxes_js = t.Unicode("").tag(sync=True)

    image_data = t.Bytes(b"", help="preview image bytes (PNG or JPEG)").tag(sync=True)
    image_mime = t.Unicode("image/jpeg").tag(sync=True)
    image_size = t.List(t.Int(), help="original [width, height] in pixels").tag(sync=True)
    label = t.Unicode("").tag(sync=True)

    rule = _Checked(DEFAULT_RULE, help="tile rule name").tag(sync=True)
    rules = t.List(t.Dict()).tag(sync=True)
    detail = _Checked("high", help="auto, low or high").tag(sync=True)
    model = _Checked(DEFAULT_MODEL, help="model whose price is shown").tag(sync=True)
    models = t.List(t.Dict()).tag(sync=True)
    scale = _Checked(1.0, help="scale applied after the crop, in (0, 1]").tag(sync=True)
    crop = _Checked(None, help="[x0, y0, x1, y1] in original pixels").tag(sync=True)
    plan = t.Instance(TilePlan).tag(sync=True, to_json=_plan_to_json, from_json=_plan_from_json)
    boxes = _Checked([], help="boxes drawn over the image, in original pixels: Detections, "
                     "Box objects or dicts with label, x0, y0, x1, y1").tag(sync=True)  # fmt: skip
    show_boxes = t.Bool(True, help="show the boxes layer").tag(sync=True)

    def __init__(
        self,
        image: Any,
        *,
        rule: str | None = None,
        model: str | None = None,
        detail: str | None = None,
        scale: float = 1.0,
        crop: Sequence[int] | None = None,
        label: str | None = None,
    ) -> None:
        original, found_label = load(image)
        if original.width < 1 or original.height < 1:
            raise ImageError(_describe(image), "image has no pixels")
        self._original = original
        self._preview_cache: Image.Image | None = None
        data, mime = _encode_preview(original)
        w, h = original.size
        settings = current()
        model = model or settings.model
        # the rule any other entry point would use, unless one is chosen here
        choice = rule_in_force(
            model=model, endpoint=resolve_base_url(settings.base_url), explorer=rule
        )
        names = [m for m, p in FALLBACK_PRICES.items() if p.vision]  # prices for images
        if model not in names:
            names.append(model)
        super().__init__(
            _tiles_js=(JS_DIR / "tiles.js").read_text(encoding="utf-8"),
            _draw_js=(JS_DIR / "explorer_draw.js").read_text(encoding="utf-8"),
            _usd_js=(JS_DIR / "usd.js").read_text(encoding="utf-8"),
            _boxes_js=(JS_DIR / "explorer_boxes.js").read_text(encoding="utf-8"),
            image_data=data,
            image_mime=mime,
            image_size=[w, h],
            label=label or found_label or "",
            rules=[_rule_entry(n) for n in RULES],
            models=[_price_entry(n) for n in names],
            rule=choice.name,
            detail=detail or settings.detail,
            model=model,
            scale=scale,
            crop=crop,
        )
        self._rule_source = choice.where  # the observer above said "explorer"
        self.plan = self._compute_plan()

    # validation: one clear GrokError per bad value, from Python or from the browser

    @t.validate("crop")
    def _valid_crop(self, proposal: Any) -> list[int]:
        w, h = self.image_size
        return list(check_crop(proposal["value"], w, h))

    @t.validate("boxes")
    def _valid_boxes(self, proposal: Any) -> list[dict[str, Any]]:
        return boxes_to_json(proposal["value"], self.image_size)

    @t.validate("scale")
    def _valid_scale(self, proposal: Any) -> float:
        return check_scale(proposal["value"])

    @t.validate("rule")
    def _valid_rule(self, proposal: Any) -> str:
        value = proposal["value"]
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"rule {value!r}: must be a rule name")
        return get_rule(value).name

    @t.validate("detail")
    def _valid_detail(self, proposal: Any) -> str:
        value = proposal["value"] or "high"
        if value not in DETAILS:
            raise ConfigError(f"detail must be one of {', '.join(DETAILS)}, not {value!r}")
        return str(value)

    @t.validate("model")
    def _valid_model(self, proposal: Any) -> str:
        value = proposal["value"] or DEFAULT_MODEL
        if not isinstance(value, str):
            raise ConfigError(f"model {value!r}: must be a model name")
        return value

    @t.observe("model")
    def _model_listed(self, change: Any) -> None:
        if all(m["name"] != change["new"] for m in self.models):
            self.models = [*self.models, _price_entry(change["new"])]

    @t.default("plan")
    def _first_plan(self) -> TilePlan:
        return self._compute_plan()

    @t.observe("rule")
    def _rule_chosen(self, _change: Any) -> None:
        self._rule_source = "explorer"  # chosen here, from Python or the browser

    @t.observe("crop", "scale", "rule", "detail")
    def _replan(self, _change: Any) -> None:
        self.plan = self._compute_plan()

    # reading the framing back

    def _compute_plan(self) -> TilePlan:
        w, h = framed_size(self.crop, self.scale)
        found = plan_tiles(w, h, rule=self.rule, detail=self.detail)
        where = getattr(self, "_rule_source", None)
        return replace(found, rule_source=where).with_preview(None, self.label or None)

    @property
    def rule_source(self) -> str:
        """Where the rule shown came from: "explorer" once chosen here, else what
        ``grok_nb.rules.rule_in_force`` said (default, %config, calibrated ...)."""
        return self._rule_source

    def _grok_source_(self) -> Labelled:
        """As an image source (``%%grokvision ex``, ``ask``, ``ask_many``): exactly the
        framed region, with the rule and detail shown here."""
        label = f"{self.label} (framed)" if self.label else "explorer framing"
        x0, y0, x1, y1 = self.crop
        fw, fh = self.framed_size
        # where the framing sits in the original, so boxes found in it map back
        frame = Frame((x0, y0), ((x1 - x0) / fw, (y1 - y0) / fh), self.original_size,
                      original=self._original)  # fmt: skip
        return Labelled(self.image(), label, rule=self.rule, detail=self.detail, transform=frame)

    @property
    def original_size(self) -> tuple[int, int]:
        """The original image's (width, height) in pixels."""
        return (self._original.width, self._original.height)

    @property
    def framed_size(self) -> tuple[int, int]:
        """(width, height) of ``image()``: the crop, scaled."""
        return framed_size(self.crop, self.scale)

    def cost_usd(self, model: str | None = None) -> float | None:
        """Estimated USD for the framed image with ``model`` (default: the chosen one)."""
        return self.plan.cost_usd(model or self.model)

    def image(self) -> Image.Image:
        """The framed image at full resolution: the crop of the original, then the scale."""
        from PIL import Image

        framed = self._original.crop(tuple(self.crop))
        size = self.framed_size
        if framed.size != size:
            framed = framed.resize(size, Image.Resampling.LANCZOS)
        return framed

    def reset(self) -> None:
        """Back to the whole image at full scale."""
        with self.hold_trait_notifications():
            self.crop = None
            self.scale = 1.0

    # display

    def _framed_preview(self) -> Image.Image:
        """The crop, cut from a preview-sized copy (enough for a static overlay)."""
        from PIL import Image

        if self._preview_cache is None:
            small = self._original.copy()
            small.thumbnail((PREVIEW_PX, PREVIEW_PX), Image.Resampling.LANCZOS)
            self._preview_cache = small
        small = self._preview_cache
        w, h = self.original_size
        fx, fy = small.width / w, small.height / h
        x0, y0, x1, y1 = self.crop
        box = (
            math.floor(x0 * fx),
            math.floor(y0 * fy),
            max(math.floor(x0 * fx) + 1, math.ceil(x1 * fx)),
            max(math.floor(y0 * fy) + 1, math.ceil(y1 * fy)),
        )
        return small.crop(box)

    def _static_bundle(self) -> dict[str, Any]:
        return plan_mimebundle(
            self.plan.with_preview(self._framed_preview(), self._caption_label()), model=self.model
        )

    def _caption_label(self) -> str:
        w, h = self.original_size
        name = self.label or "image"
        x0, y0, x1, y1 = self.crop
        parts = [name]
        if (x0, y0, x1, y1) != (0, 0, w, h):
            parts.append(f"crop {x0},{y0}–{x1},{y1} of {w}×{h}")
        if self.scale != 1.0:
            parts.append(f"scale {self.scale:.3g}")
        return ", ".join(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        try:
            static = self._static_bundle()
        except (GrokError, ValueError, OSError):
            # the static view is a fallback for widget-less front ends: a drawing
            # failure there must never hide the widget itself
            static = {"text/plain": repr(self)}
        if bundle is None:
            return static, OVERLAY_METADATA
        data, metadata = bundle
        return {**data, **static}, {**(metadata or {}), **OVERLAY_METADATA}

    def __repr__(self) -> str:
        w, h = self.original_size
        fw, fh = self.framed_size
        plan = self.plan
        tokens = f"{plan.tokens}"
        grid = f"{plan.grid[0]}x{plan.grid[1]}"
        return (
            f"<TileExplorer {self.label or 'image'} {w}x{h}: crop={list(self.crop)} "
            f"scale={self.scale:g} -> {fw}x{fh}, {grid} grid, {tokens} tokens "
            f"(rule={self.rule}, detail={self.detail}, model={self.model})>"
        )
