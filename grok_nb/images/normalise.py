"""A decoded-or-lazy PIL image -> the upright 8-bit RGB or RGBA image that is sent.

- Multi-frame files (animated GIF/WebP/PNG, multi-page TIFF) use their first frame;
  an image object the user passed uses its current frame. Either way a note says so.
- EXIF orientation is applied to the pixels; the result carries no EXIF at all.
- Palette, CMYK, grey, grey+alpha, 16-bit, 32-bit and float modes become RGB, or
  RGBA when there is transparency; an alpha channel that is fully opaque is dropped.
- 16-bit data (and 32-bit integer data within 0..65535) is scaled by its bit depth,
  so the picture does not depend on the container: where the container declares a
  depth (PGM/PPM ``maxval``), Pillow has already expanded it to 16 bits; otherwise
  the depth is the observed one, the smallest of 8, 10, 12, 14 or 16 bits that
  holds the brightest value (12-bit camera data in a 16-bit TIFF or PNG is
  0..4095 -> 0..255, not near-black). A note says "values rescaled". Wider or
  signed integers and floats follow the array rules (``arrays``).
- A layered PSD is sent as its flattened composite (how it looks), not a layer.
- Pillow's warnings while decoding are caught (see ``decode``), never shown.
- Embedded colour profiles other than sRGB (Display P3 phone photos, CMYK print
  profiles) are converted to sRGB, which is what the model is trained on.
- Large JPEGs can be decoded straight at a reduced scale (Pillow's draft mode:
  scaling in the DCT domain) when the caller knows the size it will send.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from grok_nb.errors import ImageError
from grok_nb.images.arrays import array_to_pil
from grok_nb.images.decode import load_pixels, pillow_errors

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["exif_orientation", "normalise", "upright_size"]

ORIENTATION_TAG = 0x0112
_ORIENTATION_WORDS = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped vertically",
    5: "transposed",
    6: "rotated 90° clockwise",
    7: "transversed",
    8: "rotated 90° anticlockwise",
}
_RGB_MODES = {"1", "L", "P", "RGB", "RGBX", "YCbCr", "LAB", "HSV", "CMYK"}
_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}


_HEADER_EXIF = ("JPEG", "MPO")  # EXIF read at open: orientation known before decoding


def _pending(im: Image.Image) -> bool:
    return bool(getattr(im, "tile", None))


def exif_orientation(im: Image.Image, label: str = "image") -> int:
    """The EXIF orientation (1..8) still to apply to ``im``'s pixels.

    Only JPEGs carry their EXIF in the header; other formats (PNG's eXIf chunk may
    follow the pixels) decode the image to read it, so they are decoded here
    first, under ``load_pixels``: a corrupt file raises instead of leaving half an
    image behind. A TIFF's orientation is applied by Pillow itself on load (and its
    tag removed), so reading after the decode never applies it twice."""
    if _pending(im) and im.format not in _HEADER_EXIF:
        load_pixels(im, label)
    try:
        value = im.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not make a readable image unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_size(im: Image.Image, label: str = "image") -> tuple[int, int]:
    """(width, height) after orientation is applied; only JPEGs stay undecoded."""
    w, h = im.size
    return (h, w) if exif_orientation(im, label) >= 5 else (w, h)


def _select_frame(im: Image.Image, owned: bool, notes: list[str]) -> None:
    frames = getattr(im, "n_frames", 1)
    if not isinstance(frames, int) or frames <= 1:
        return
    fmt = im.format or "image"
    first = getattr(im, "_min_frame", 0)  # PSD: frame 0 does not exist, layers are 1..n
    if fmt == "PSD" and im.tell() == first:  # as opened: the flattened composite
        notes.append(f"flattened image of the {frames}-layer PSD used")
        return
    if not owned:
        current = im.tell() - first
        notes.append(f"frame {current + 1} of {frames} used (the image object's current frame)")
        return
    if im.tell() != first:
        im.seek(first)
    if fmt == "MPO":  # phone JPEGs carrying a depth map or preview: frame 0 is the photo
        return
    if fmt == "TIFF":
        notes.append(f"first page of {frames}-page TIFF used")
    else:
        notes.append(f"first frame of {frames}-frame animation used")


def _apply_orientation(im: Image.Image, orientation: int, notes: list[str]) -> Image.Image:
    from PIL import Image as PILImage

    method = {
        2: PILImage.Transpose.FLIP_LEFT_RIGHT,
        3: PILImage.Transpose.ROTATE_180,
        4: PILImage.Transpose.FLIP_TOP_BOTTOM,
        5: PILImage.Transpose.TRANSPOSE,
        6: PILImage.Transpose.ROTATE_270,
        7: PILImage.Transpose.TRANSVERSE,
        8: PILImage.Transpose.ROTATE_90,
    }.get(orientation)
    if method is None:
        return im
    notes.append(
        f"EXIF orientation {orientation} applied (stored {_ORIENTATION_WORDS[orientation]})"
    )
    return im.transpose(method)


def _to_srgb(im: Image.Image, icc: bytes, notes: list[str]) -> Image.Image:
    """Convert pixels from an embedded profile to sRGB; leave sRGB-tagged images alone."""
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = (ImageCms.getProfileDescription(src) or "").strip()
    except Exception:  # an unreadable profile: fall back to the plain conversion
        return im
    if "srgb" in name.lower().replace(" ", "") or name.lower().startswith("iec"):
        return im
    out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
    try:
        dst = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(im, src, dst, outputMode=out_mode)
    except Exception:
        return im
    if converted is None:
        return im
    notes.append(f"colours converted from {name or 'embedded profile'} to sRGB")
    return converted


_DEPTHS = (8, 10, 12, 14, 16)


def _sixteen_to_eight(arr: Any, notes: list[str]) -> Any:
    """16-bit levels -> 8-bit, scaled by the data's bit depth (see ``normalise``)."""
    import numpy as np

    hi = int(arr.max())
    bits = next(b for b in _DEPTHS if hi <= 2**b - 1)
    full = 2**bits - 1
    if bits == 16:
        notes.append("values rescaled: 16-bit levels reduced to 8 bits")
    elif bits == 8:
        notes.append(f"values rescaled: 16-bit image whose values (0..{hi}) fit 8 bits, "
                     "taken as 8-bit levels")  # fmt: skip
    else:
        notes.append(f"values rescaled: {bits}-bit data (0..{hi}) in a 16-bit image, "
                     f"0..{full} mapped to 0..255")  # fmt: skip
    return np.rint(arr.astype(np.float32) * (255.0 / full)).astype(np.uint8)


def _deep_to_rgb(im: Image.Image, label: str, notes: list[str]) -> Image.Image:
    """16-bit, 32-bit integer and float modes, via numpy (which matplotlib brings)."""
    import numpy as np

    arr = np.asarray(im)
    if arr.dtype.kind in "iu" and arr.size and int(arr.min()) >= 0 and int(arr.max()) <= 65535:
        arr = _sixteen_to_eight(arr, notes)  # I;16 modes, and mode I holding 16-bit data
    out, more = array_to_pil(arr, label)
    notes.extend(more)
    return out


def _convert_mode(im: Image.Image, label: str, notes: list[str]) -> Image.Image:
    mode = im.mode
    icc = im.info.get("icc_profile")
    has_trns = im.info.get("transparency") is not None
    if mode.startswith("I") or mode == "F":
        return _deep_to_rgb(im, label, notes)
    if mode in _ALPHA_MODES or (has_trns and mode in ("P", "L", "RGB", "1")):
        target = "RGBA"
    elif mode in _RGB_MODES:
        target = "RGB"
    else:
        try:
            return im.convert("RGB")
        except (ValueError, OSError):
            raise ImageError(label, f"unsupported pixel mode {mode!r}") from None
    if icc and mode in ("RGB", "RGBA", "CMYK"):
        converted = _to_srgb(im, icc, notes)
        if converted is not im:
            return converted if converted.mode == target else converted.convert(target)
    if mode == "CMYK":
        notes.append("CMYK converted to RGB without a colour profile")
    return im if im.mode == target else im.convert(target)


def _drop_opaque_alpha(im: Image.Image) -> Image.Image:
    if im.mode == "RGBA":
        lo, _hi = im.getchannel("A").getextrema()
        if isinstance(lo, (int, float)) and lo >= 255:
            return im.convert("RGB")
    return im


def normalise(
    im: Image.Image,
    label: str,
    *,
    owned: bool,
    draft_to: tuple[int, int] | None = None,
) -> tuple[Image.Image, list[str]]:
    """Decode ``im`` to an upright RGB/RGBA image, with notes on what was changed.

    ``owned``: the image object was opened here (so it may be seeked and drafted);
    a user's object is never modified. ``draft_to``: the upright size that will be
    sent; a JPEG is then decoded at the smallest DCT scale that still covers it.
    """
    notes: list[str] = []
    original = im
    with pillow_errors(label, notes=notes):
        _select_frame(im, owned, notes)
        if owned and draft_to and im.format in _HEADER_EXIF and _pending(im):
            orientation = exif_orientation(im, label)
            want = draft_to if orientation < 5 else (draft_to[1], draft_to[0])
            im.draft(None, want)
        load_pixels(im, label, notes)
        orientation = exif_orientation(im, label)  # after decoding: see exif_orientation
        im = _apply_orientation(im, orientation, notes)
        im = _convert_mode(im, label, notes)
        im = _drop_opaque_alpha(im)
    if im.width < 1 or im.height < 1:
        raise ImageError(label, f"the image is empty ({im.width}x{im.height} pixels)")
    if im is original:  # never hand back (or later modify) the caller's own object
        im = im.copy()
    im.info.clear()  # no EXIF, ICC or text chunks travel further
    return im, notes
