"""Source detection: what the user handed us -> a PIL image (or a URL to pass through).

Detection is by duck typing. numpy, matplotlib, torch, IPython are never imported
to find out whether an object is one of theirs: the object's own type module says
so, and only then is the library (already loaded, since the object exists) used.

Blank input: a matplotlib figure with nothing drawn is refused (``figures``) unless
``allow_blank``; an image of one uniform colour is sent, because a colour can be the
question, and ``uniform_colour_note`` gives the note that says so.
"""

from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grok_nb.errors import ImageError
from grok_nb.images.arrays import array_label, array_to_pil
from grok_nb.images.decode import open_bytes, refuse_unrenderable, sniff_format
from grok_nb.images.expand import (
    MAX_IMAGES_PER_REQUEST,
    check_count,
    expand_path_source,
    is_pattern,
    short_label,
)
from grok_nb.images.fetch import decode_data_url, fetch_url, is_data_url, is_http_url
from grok_nb.images.figures import figure_label, render_figure, root_figure
from grok_nb.images.prepared_image import PreparedImage
from grok_nb.tiling import TileRule

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "ACCEPTED",
    "MAX_FILE_MB",
    "Opened",
    "check_file_size",
    "describe_source",
    "expand_sources",
    "open_source",
    "uniform_colour_note",
]

MAX_FILE_MB = 100.0  # files are read whole; no photo or scan worth sending is larger

ACCEPTED = (
    "a PIL image, a numpy array (H×W, H×W×3, H×W×4 or C×H×W), a tensor, a matplotlib "
    "Figure/Axes (or a seaborn/pandas plot object), IPython.display.Image, bytes or a "
    "binary file object, a file path or glob, or an http(s)/data: URL"
)
_MAGIC = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


@dataclass
class Opened:
    """A source resolved to pixels (``image``) or to a URL passed through (``url``)."""

    label: str
    image: Image.Image | None = None
    owned: bool = True  # the PIL object was created here: it may be seeked and drafted
    url: str | None = None
    notes: list[str] = field(default_factory=list)
    prefer: str | None = None  # "PNG" for rendered graphics
    source_format: str | None = None  # the file format the pixels came from


_short = short_label


def _bytes_kind(head: bytes) -> str:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    special = sniff_format(head)
    return special.upper() if special else "unknown format"


def _module(obj: object) -> str:
    return type(obj).__module__.split(".")[0]


def _is_pil(obj: object) -> bool:
    mod = sys.modules.get("PIL.Image")
    return mod is not None and isinstance(obj, mod.Image)


def _is_ipython_image(obj: object) -> bool:
    return _module(obj) == "IPython" and type(obj).__name__ == "Image"


def _is_tensor(obj: object) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("detach", "cpu", "numpy"))


def _is_prepared(obj: object) -> bool:
    return isinstance(obj, PreparedImage)


def _held_figure(obj: object) -> Any | None:
    """A matplotlib figure held as ``.figure``/``.fig`` (seaborn grids and the like)."""
    if "matplotlib" not in sys.modules:
        return None
    for attr in ("figure", "fig"):
        try:
            held = getattr(obj, attr, None)
        except Exception:  # properties of foreign objects may raise anything
            continue
        if held is not None and _module(held) == "matplotlib":
            return held
    return None


IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic")


def looks_like_image(value: Any) -> bool:
    """Whether ``value`` is an image grok_nb can send, judged without decoding it: what
    a prompt placeholder ``{fig}`` or a part of ``ask([...])`` is taken to be."""
    if _is_prepared(value) or _is_pil(value) or _is_ipython_image(value):
        return True
    if callable(getattr(value, "_grok_source_", None)) and not isinstance(value, type):
        return True  # a TileExplorer
    if isinstance(value, os.PathLike):
        return os.fspath(value).lower().endswith(IMAGE_SUFFIXES)
    if isinstance(value, (bytes, bytearray)):
        head = bytes(value[:16])
        return head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    module = _module(value)
    if module == "matplotlib":
        return type(value).__name__ in ("Figure", "SubFigure") or hasattr(value, "get_subplotspec")
    if module == "numpy" or _is_tensor(value):
        return getattr(value, "ndim", 0) in (2, 3)
    return _held_figure(value) is not None


def describe_source(source: Any) -> str:
    """A short printable name for ``source``, without decoding it (for messages)."""
    if _is_prepared(source):
        return str(source.label)
    if isinstance(source, (str, os.PathLike)):
        text = os.fsdecode(source)
        if is_data_url(text):
            head = text.partition(",")[0]
            kind = head[5:].split(";")[0] or "data"
            return f"data: URL ({kind}, {len(text):,} characters)"
        return _short(text)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source[:16])
        return f"bytes ({len(source):,}, {_bytes_kind(data)})"
    if _is_pil(source):
        name = getattr(source, "filename", "") or ""
        if name:
            return _short(os.path.basename(name))
        return f"PIL {source.mode} image {source.width}x{source.height}"
    module = _module(source)
    if module == "matplotlib":
        return figure_label(source)
    if _is_ipython_image(source):
        if getattr(source, "filename", None):
            return _short(os.path.basename(source.filename))
        if getattr(source, "url", None):
            return _short(str(source.url))
        data = getattr(source, "data", None) or b""
        return f"IPython Image ({len(data):,} bytes)"
    if module == "numpy" and hasattr(source, "shape"):
        if source.dtype.kind == "O" and source.size and _module(source.flat[0]) == "matplotlib":
            fig = root_figure(source.flat[0])
            return f"array of {source.size} Axes of {figure_label(fig) if fig else 'no figure'}"
        return array_label(source)
    if _is_tensor(source) and hasattr(source, "shape"):
        return array_label(source, type(source).__name__)
    if _held_figure(source) is not None:
        return figure_label(source)
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        return _short(os.path.basename(name)) if isinstance(name, str) else "file object"
    if hasattr(source, "__array__") and hasattr(source, "shape"):
        return array_label(source, type(source).__name__)
    return f"{type(source).__name__} object"


def expand_sources(
    sources: Any, *, max_images_per_request: int | None = MAX_IMAGES_PER_REQUEST
) -> list[Any]:
    """One source or a list/tuple of them -> individual sources; paths checked, globs
    expanded (sorted, ``expand_path_source``). URLs stay as they are. Missing paths
    raise ``ImageError``; more than ``max_images_per_request`` in all,
    ``TooManyImagesError``."""
    out = _expand(sources, max_images_per_request)
    many = isinstance(sources, (list, tuple, types.GeneratorType))
    check_count(len(out), "the images given" if many else describe_source(sources),
                max_images_per_request)  # fmt: skip
    return out


def _expand(sources: Any, limit: int | None) -> list[Any]:
    items = list(sources) if isinstance(sources, (list, tuple, types.GeneratorType)) else [sources]
    out: list[Any] = []
    for item in items:
        if isinstance(item, (list, tuple, types.GeneratorType)):
            out.extend(_expand(item, limit))
        elif isinstance(item, (str, os.PathLike)):
            text = os.fsdecode(item)
            if is_http_url(text) or is_data_url(text):
                out.append(item)
            else:  # the same list %%grokvision and grok-nb get for this text
                out.extend(expand_path_source(text, max_files=limit))
        else:
            out.append(item)
    return out


def _size_limit(path: str, label: str, max_file_mb: float | None) -> None:
    """Refuse a file over the limit before reading it (a 4 GB file is not read whole)."""
    if max_file_mb is None:
        return
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # open() below reports it
    check_file_size(size, os.path.basename(path), label, max_file_mb)


def check_file_size(size: int, name: str, label: str, max_file_mb: float | None) -> None:
    """Refuse ``size`` bytes over ``max_file_mb``: files on disk, and files dropped on
    the chat panel (checked in the browser before they are sent, and again here)."""
    if max_file_mb is not None and size > max_file_mb * 1024 * 1024:
        raise ImageError(
            label,
            f"{name} is {size / 1024 / 1024:,.1f} MB, over the "
            f"max_file_mb={max_file_mb:g} MB limit; pass max_file_mb=... to allow it",
        )


def _read_path(text: str, label: str, max_file_mb: float | None = MAX_FILE_MB) -> bytes:
    path = os.path.expanduser(text)
    if not os.path.isfile(path) and is_pattern(path):
        matches = expand_path_source(text, max_files=None)
        if len(matches) != 1:
            raise ImageError(label, f"matches {len(matches)} files; use prepare_many")
        path = matches[0]
    _size_limit(path, label, max_file_mb)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ImageError(label, "no such file") from None
    except IsADirectoryError:
        raise ImageError(label, "is a folder; use a glob such as 'folder/*.png'") from None
    except PermissionError:
        raise ImageError(label, "permission denied") from None
    except OSError as exc:
        raise ImageError(label, f"could not read the file ({exc.strerror or exc})") from None
    if not data:
        raise ImageError(label, "empty file (0 bytes)")
    return data


def _read_fileobj(fh: Any, label: str, max_file_mb: float | None = MAX_FILE_MB) -> bytes:
    limit = None if max_file_mb is None else int(max_file_mb * 1024 * 1024)
    try:
        start = fh.tell() if getattr(fh, "seekable", lambda: False)() else None
        data = fh.read() if limit is None else fh.read(limit + 1)
        if start is not None:
            fh.seek(start)  # leave the user's file where it was
    except (OSError, ValueError) as exc:
        raise ImageError(label, f"could not read the file object ({exc})") from None
    if isinstance(data, str):
        raise ImageError(label, "the file is open in text mode; open it with 'rb'")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(label, f"read() returned {type(data).__name__}, not bytes")
    if limit is not None and len(data) > limit:
        raise ImageError(
            label,
            f"the file object holds more than the max_file_mb={max_file_mb:g} MB limit; "
            "pass max_file_mb=... to allow it",
        )
    return bytes(data)


def _from_bytes(data: bytes, label: str, notes: list[str] | None = None) -> Opened:
    notes = list(notes or [])
    image = open_bytes(data, label, notes)
    return Opened(label, image, notes=notes, source_format=image.format)


def _from_url(text: str, label: str, fetch_urls: bool) -> Opened:
    if is_data_url(text):
        return _from_bytes(decode_data_url(text, label), label)
    if not fetch_urls:
        return Opened(label, url=text, notes=["URL passed through for the API to fetch"])
    data = fetch_url(text, label)
    return _from_bytes(data, label, [f"downloaded {len(data):,} bytes"])


def _from_figure(
    obj: Any, label: str, rule: str | TileRule | None, detail: str, allow_blank: bool
) -> Opened:
    png, notes = render_figure(obj, label, rule=rule, detail=detail, allow_blank=allow_blank)
    opened = _from_bytes(png, label, notes)
    opened.prefer = "PNG"
    return opened


def _from_array(obj: Any, label: str) -> Opened:
    image, notes = array_to_pil(obj, label)
    return Opened(label, image, notes=notes)


def _from_ipython(obj: Any, label: str, fetch_urls: bool, max_file_mb: float | None) -> Opened:
    data = getattr(obj, "data", None)
    if isinstance(data, (bytes, bytearray)) and data:
        return _from_bytes(bytes(data), label)
    if getattr(obj, "url", None):
        return _from_url(str(obj.url), label, fetch_urls)
    if getattr(obj, "filename", None):
        return _from_bytes(_read_path(str(obj.filename), label, max_file_mb), label)
    raise ImageError(label, "the IPython Image holds no data, file name or URL")


def _object_array_figure(obj: Any, label: str) -> Any:
    """A numpy array of Axes (plt.subplots, pandas subplots=True) -> their one figure."""
    figs = {id(f): f for a in obj.ravel() if (f := root_figure(a)) is not None}
    if len(figs) != 1 or not all(_module(a) == "matplotlib" for a in obj.ravel()):
        raise ImageError(label, "an array of Python objects is not an image")
    return next(iter(figs.values()))


def open_source(
    source: Any,
    *,
    label: str | None = None,
    rule: str | TileRule | None = None,
    detail: str = "high",
    fetch_urls: bool = False,
    max_file_mb: float | None = MAX_FILE_MB,
    allow_blank: bool = False,
) -> Opened:
    """Resolve one source (see ``ACCEPTED``) to an ``Opened`` image or URL.

    Files (paths, file objects) larger than ``max_file_mb`` are refused before they
    are read; ``None`` removes the limit. A matplotlib figure with nothing drawn is
    refused unless ``allow_blank``."""
    name = label or describe_source(source)
    if _is_prepared(source):
        if source.data is None:
            return _from_url(source.url, name, fetch_urls)
        return _from_bytes(source.data, name)
    if isinstance(source, (str, os.PathLike)):
        text = os.fsdecode(source)
        if is_http_url(text) or is_data_url(text):
            return _from_url(text, name, fetch_urls)
        return _from_bytes(_read_path(text, name, max_file_mb), name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), name)
    if _is_pil(source):
        refuse_unrenderable(source, name)
        return Opened(name, source, owned=False, source_format=source.format)
    module = _module(source)
    if module == "matplotlib":
        return _from_figure(source, name, rule, detail, allow_blank)
    if _is_ipython_image(source):
        return _from_ipython(source, name, fetch_urls, max_file_mb)
    if module == "numpy" and getattr(getattr(source, "dtype", None), "kind", "") == "O":
        return _from_figure(_object_array_figure(source, name), name, rule, detail, allow_blank)
    if module == "numpy":
        return _from_array(source, name)
    if _is_tensor(source):
        try:
            array = source.detach().cpu().numpy()
        except Exception as exc:  # the tensor library's own failure, stated plainly
            raise ImageError(name, f"could not copy the tensor to numpy ({exc})") from None
        return _from_array(array, name)
    held = _held_figure(source)
    if held is not None:
        return _from_figure(held, name, rule, detail, allow_blank)
    if hasattr(source, "__array__"):
        return _from_array(source, name)
    for method, fmt in (("_repr_png_", "PNG"), ("_repr_jpeg_", "JPEG")):
        if callable(getattr(source, method, None)):
            data = getattr(source, method)()
            if isinstance(data, str):
                data = decode_data_url(f"data:;base64,{data}", name)
            if isinstance(data, (bytes, bytearray)) and data:
                return _from_bytes(bytes(data), name, [f"used its {fmt} display ({method})"])
    if hasattr(source, "read"):
        return _from_bytes(_read_fileobj(source, name, max_file_mb), name)
    raise ImageError(name, f"unsupported type {type(source).__qualname__}; accepted: {ACCEPTED}")


def uniform_colour_note(image: Image.Image) -> str | None:
    """A note when every pixel of ``image`` (RGB or RGBA, as sent) has one colour."""
    extrema: Any = image.getextrema()
    bands: list[Any] = list(extrema) if isinstance(extrema[0], tuple) else [extrema]
    if any(lo != hi for lo, hi in bands):  # a one-band image gives one (min, max) pair
        return None
    values = [lo for lo, _ in bands]
    if len(values) == 4 and values[3] == 0:
        colour = "fully transparent"
    else:
        rgb = (values * 3)[:3] if len(values) < 3 else values[:3]
        colour = "#" + "".join(f"{int(v):02X}" for v in rgb)
        if len(values) == 4:
            colour += f" at alpha {int(values[3])}/255"
    return (
        f"the whole image is one uniform colour ({colour}): sent as it is; if you "
        "expected a picture, check the source"
    )
