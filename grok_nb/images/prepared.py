"""``PreparedImage`` and the pipeline that makes one:

    source -> Opened (sources.py) -> upright RGB/RGBA (normalise.py)
           -> model size (resize.py) -> PNG/JPEG bytes <= 10 MiB (encode.py)

The tile plan is always the plan of the *original* (normalised) size; the sent
size is chosen so that the same plan results from it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from grok_nb.errors import ConfigError, ImageError
from grok_nb.images.decode import pillow_errors
from grok_nb.images.encode import choose_format, encode_within_limit, mime_of
from grok_nb.images.expand import MAX_IMAGES_PER_REQUEST
from grok_nb.images.normalise import normalise, upright_size
from grok_nb.images.prepared_image import PreparedImage
from grok_nb.images.resize import downscale, model_size, plan_key, preview
from grok_nb.images.sources import (
    MAX_FILE_MB,
    Opened,
    describe_source,
    expand_sources,
    open_source,
    uniform_colour_note,
)
from grok_nb.tiling import DETAILS, TileRule, get_rule, plan

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["PREVIEW_PX", "RESIZE_MODES", "PreparedImage", "load_image", "prepare", "prepare_many"]

PREVIEW_PX = 512  # longest side of the thumbnail kept on the plan for display
RESIZE_MODES = ("model", "none")


def _check_options(rule: str | TileRule | None, detail: str, resize: str) -> None:
    get_rule(rule)  # an unknown rule is a ConfigError even for a URL passed through
    if detail not in DETAILS:
        raise ConfigError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    if resize not in RESIZE_MODES:
        raise ConfigError(f"resize must be one of {', '.join(RESIZE_MODES)}, not {resize!r}")


def _single(source: Any, label: str | None) -> Any:
    items = expand_sources(source, max_images_per_request=None)
    if len(items) == 1:
        return items[0]
    name = label or describe_source(source)
    if not items:
        raise ImageError(name, "no image given")
    raise ImageError(name, f"gives {len(items)} images; use prepare_many for several")


def _smaller_sizes(
    current: tuple[int, int], size: tuple[int, int], rule: str | TileRule | None, detail: str
) -> list[tuple[tuple[int, int], str]]:
    """Sizes below ``current`` that keep the plan of ``size``: the 10 MiB fallbacks."""
    want = plan_key(plan(*size, rule, detail))
    out: list[tuple[tuple[int, int], str]] = []
    model = model_size(*size, rule, detail)
    if model[0] * model[1] < current[0] * current[1]:
        out.append((model, "the smallest size that keeps the tile plan"))
    canvas = plan(*size, rule, detail).resized
    if (
        canvas[0] <= current[0]
        and canvas[1] <= current[1]
        and canvas not in (current, model)
        and plan_key(plan(*canvas, rule, detail)) == want
    ):
        out.append((canvas, "the model's own canvas, aspect not kept"))
    return out


def _prepare_opened(
    opened: Opened, rule: str | TileRule | None, detail: str, resize: str
) -> PreparedImage:
    label = opened.label
    notes = list(opened.notes)
    if opened.image is None:  # a URL passed through unfetched
        url = opened.url or ""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return PreparedImage(label, None, None, url, None, None, None, detail, digest, tuple(notes))
    with pillow_errors(label):
        width, height = upright_size(opened.image, label)
    if width < 1 or height < 1:
        raise ImageError(label, f"the image is empty ({width}x{height} pixels)")
    target = model_size(width, height, rule, detail) if resize == "model" else (width, height)
    draft = target if target != (width, height) else None
    image, more = normalise(opened.image, label, owned=opened.owned, draft_to=draft)
    notes += more
    size = (width, height)
    if draft is None and image.size != size:  # decoded size differs from the header's
        size = image.size
        target = model_size(*size, rule, detail) if resize == "model" else size
    if image.size != target:
        with pillow_errors(label, failure="could not resize the image"):
            image = downscale(image, target)
    original = plan(*size, rule, detail)
    if target != size:
        cols, rows = original.grid
        notes.append(
            f"resized {size[0]}x{size[1]} -> {target[0]}x{target[1]} keeping the "
            f"{cols}x{rows} plan ({original.tokens} tokens)"
        )
    uniform = uniform_colour_note(image)
    if uniform is not None:  # first: the one note that may change what the user does
        notes.insert(0, uniform)
    fmt, why = choose_format(image, source_format=opened.source_format, prefer=opened.prefer)
    smaller = _smaller_sizes(image.size, size, rule, detail)
    with pillow_errors(label, failure="could not encode the image"):
        data, sent, more = encode_within_limit(image, fmt, label, smaller=smaller)
    mime = mime_of(data)
    if mime is None:  # cannot happen with Pillow's encoders; never send a mislabelled image
        raise ImageError(label, "encoder produced bytes that are neither PNG nor JPEG")
    if mime == f"image/{fmt.lower()}":  # else the fallback's own note says why
        notes.append(f"sent as {fmt} ({why})")
    notes += more
    thumb = preview(sent, PREVIEW_PX)
    return PreparedImage(
        label=label,
        data=data,
        mime=mime,
        url=None,
        size=size,
        sent_size=sent.size,
        plan=original.with_preview(thumb, label),
        detail=detail,
        sha256=hashlib.sha256(data).hexdigest(),
        notes=tuple(notes),
    )


def prepare(
    source: Any,
    *,
    rule: str | TileRule | None = None,
    detail: str = "high",
    resize: str = "model",
    fetch_urls: bool = False,
    label: str | None = None,
    max_file_mb: float | None = MAX_FILE_MB,
    allow_blank: bool = False,
) -> PreparedImage:
    """Turn one image source (anything in ``ACCEPTED``) into a ``PreparedImage``.

    ``resize="model"`` sends the smallest size with the same tile plan as the
    original; ``"none"`` sends the normalised original. http(s) URLs are passed
    through unless ``fetch_urls``. Files over ``max_file_mb`` are refused before
    they are read (``None``: no limit). A matplotlib figure with nothing drawn is
    refused unless ``allow_blank``. Bad input raises ``ImageError``.
    """
    _check_options(rule, detail, resize)
    one = _single(source, label)
    opened = open_source(
        one, label=label, rule=rule, detail=detail, fetch_urls=fetch_urls,
        max_file_mb=max_file_mb, allow_blank=allow_blank,
    )  # fmt: skip
    return _prepare_opened(opened, rule, detail, resize)


def prepare_many(
    sources: Any,
    *,
    rule: str | TileRule | None = None,
    detail: str = "high",
    resize: str = "model",
    fetch_urls: bool = False,
    max_file_mb: float | None = MAX_FILE_MB,
    max_images_per_request: int | None = MAX_IMAGES_PER_REQUEST,
    allow_blank: bool = False,
) -> list[PreparedImage]:
    """``prepare`` for one source or a list of them; globs expand (sorted), order is kept.

    Every source is checked before any is decoded, so a missing file (or more than
    ``max_images_per_request`` images, ``TooManyImagesError``) fails fast."""
    _check_options(rule, detail, resize)
    out = []
    for one in expand_sources(sources, max_images_per_request=max_images_per_request):
        opened = open_source(
            one, rule=rule, detail=detail, fetch_urls=fetch_urls, max_file_mb=max_file_mb,
            allow_blank=allow_blank,
        )  # fmt: skip
        out.append(_prepare_opened(opened, rule, detail, resize))
    return out


def load_image(
    source: Any,
    *,
    label: str | None = None,
    rule: str | TileRule | None = None,
    detail: str = "high",
    max_file_mb: float | None = MAX_FILE_MB,
    allow_blank: bool = False,
) -> tuple[Image.Image, str, tuple[str, ...]]:
    """The normalised, upright, full-size RGB/RGBA image of one source, its label and
    notes. URLs are downloaded. ``rule``/``detail`` only steer the DPI of figures."""
    one = _single(source, label)
    opened = open_source(
        one, label=label, rule=rule, detail=detail, fetch_urls=True, max_file_mb=max_file_mb,
        allow_blank=allow_blank,
    )  # fmt: skip
    assert opened.image is not None  # URLs were fetched
    image, notes = normalise(opened.image, opened.label, owned=opened.owned)
    return image, opened.label, tuple(opened.notes + notes)
