"""numpy arrays (and anything that becomes one) -> 8-bit RGB/RGBA PIL images.

Shapes: H×W, H×W×1/2/3/4 (2 = grey + alpha), and C×H×W when the first axis is
1, 3 or 4 and the last is not. Arrays with more than three axes are accepted only
when the extra leading axes have size 1 (a batch of one, 1×H×W×C or 1×C×H×W).

Values are mapped to 0..255 for the whole array at once, so colour balance is kept:

- bool: False -> 0, True -> 255;
- integers already in 0..255 are used as they are; other non-negative integers are
  scaled by 255 / max (a 12-bit camera frame in uint16 keeps its black point);
  integers with negative values are stretched min..max;
- floats in [0, 1] are multiplied by 255; in [-1, 1] (normalised tensors) mapped
  from -1..1; in [0, 255] taken as 8-bit levels; anything else stretched min..max.

NaN and ±inf never reach the scaling: an array with nothing else is refused, and
otherwise those pixels become transparent (alpha 0), as matplotlib shows them.
Masked arrays treat their masked pixels the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grok_nb.errors import ImageError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

__all__ = ["array_label", "array_to_pil"]

_FLOAT_SLACK = 1e-6  # rounding noise above 1.0 still counts as a [0, 1] image


def array_label(arr: Any, kind: str = "array") -> str:
    shape = "x".join(str(int(n)) for n in getattr(arr, "shape", ()))
    dtype = str(getattr(arr, "dtype", "")).removeprefix("torch.")
    return f"{kind} {shape} {dtype}".strip()


def _to_hwc(arr: np.ndarray, label: str, notes: list[str]) -> np.ndarray:
    shape = arr.shape
    if arr.ndim > 3:
        dropped = 0
        while arr.ndim > 3 and arr.shape[0] == 1:
            arr = arr[0]
            dropped += 1
        if arr.ndim > 3:
            raise ImageError(
                label,
                f"array of shape {shape} has {len(shape)} dimensions; pass one image "
                "(e.g. arr[0]) or a list of images (list(arr))",
            )
        notes.append(f"{dropped} leading axis of size 1 dropped from shape {shape}")
    if arr.ndim == 0:
        raise ImageError(label, "a single number is not an image")
    if arr.ndim == 1:
        raise ImageError(
            label, f"a 1-D array of shape {shape} is not an image; reshape it to (height, width)"
        )
    if arr.ndim == 3:
        first, last = arr.shape[0], arr.shape[-1]
        if last not in (1, 2, 3, 4):
            if first not in (1, 3, 4):
                raise ImageError(
                    label,
                    f"cannot tell the channel axis of shape {arr.shape}; expected "
                    "H×W, H×W×3, H×W×4 or 3×H×W",
                )
            arr = arr.transpose(1, 2, 0)
            notes.append(f"channel-first array {arr.shape[2]}x{arr.shape[0]}x{arr.shape[1]} "
                         "read as C×H×W")  # fmt: skip
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
    return arr


def _scale(values: np.ndarray, valid: np.ndarray | None, is_alpha: bool) -> tuple[Any, str | None]:
    """``values`` mapped to uint8 by the module's rules, and a note when not obvious."""
    import numpy as np

    kind = values.dtype.kind
    if kind == "b":
        return values.astype(np.uint8) * 255, None
    finite = values if valid is None else values[valid]
    lo, hi = float(finite.min()), float(finite.max())
    what = "alpha" if is_alpha else "values"
    data = values.astype(np.float32) if values.dtype.itemsize < 8 else values.astype(np.float64)
    if valid is not None:
        data = np.where(valid, data, 0)
    note = None
    if kind in "iu":
        if lo >= 0 and hi <= 255:
            return values.astype(np.uint8) if valid is None else data.astype(np.uint8), None
        if lo >= 0:
            data = data * (255.0 / hi)
            note = f"integer {what} 0..{hi:g} scaled to 0..255"
        else:
            data = (data - lo) * (255.0 / (hi - lo))
            note = f"integer {what} {lo:g}..{hi:g} stretched to 0..255"
    elif lo >= 0 and hi <= 1 + _FLOAT_SLACK:
        data = data * 255.0
    elif lo >= -1 - _FLOAT_SLACK and hi <= 1 + _FLOAT_SLACK and not is_alpha:
        data = (data + 1.0) * 127.5
        note = f"float {what} in [-1, 1] mapped to 0..255"
    elif lo >= 0 and hi <= 255:
        note = f"float {what} in [0, 255] taken as 8-bit levels"
    elif hi > lo:
        data = (data - lo) * (255.0 / (hi - lo))
        note = f"float {what} {lo:.4g}..{hi:.4g} stretched to 0..255"
    else:  # a constant outside every range: show it as black or white
        data = np.full_like(data, 255.0 if lo > 0 else 0.0)
        note = f"constant float {what} {lo:.4g} shown as {'white' if lo > 0 else 'black'}"
    return np.clip(np.rint(data), 0, 255).astype(np.uint8), note


def array_to_pil(obj: Any, label: str) -> tuple[Image.Image, list[str]]:
    """An array-like as an upright 8-bit RGB or RGBA image, with notes on what was done."""
    import numpy as np
    from PIL import Image

    notes: list[str] = []
    mask = None
    if isinstance(obj, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(obj)
        obj = obj.data
    try:
        arr = np.asarray(obj)
    except Exception as exc:  # an __array__ that fails is the user's object's error
        raise ImageError(label, f"could not convert to a numpy array ({exc})") from None
    if arr.dtype.kind == "c":
        raise ImageError(label, "complex values are not an image; pass np.abs(arr) or arr.real")
    if arr.dtype.kind not in "biuf":
        raise ImageError(label, f"array of dtype {arr.dtype} is not numeric pixel data")
    if arr.size == 0:
        raise ImageError(label, f"array of shape {arr.shape} is empty")
    arr = _to_hwc(arr, label, notes)
    if mask is not None:  # same shape, so the same axis decisions
        mask = _to_hwc(mask, label, []) if mask.any() else None
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    has_alpha = channels in (2, 4)
    colour = arr[..., : channels - 1] if has_alpha else arr
    alpha = arr[..., -1] if has_alpha else None

    # valid: per pixel, every channel finite and unmasked
    bad = None if arr.dtype.kind != "f" else ~np.isfinite(arr)
    if mask is not None:
        bad = mask if bad is None else bad | mask
    valid = None
    if bad is not None and bad.any():
        valid = ~bad if bad.ndim == 2 else ~bad.any(axis=2)
        if not valid.any():
            what = "NaN or infinite" if mask is None else "masked, NaN or infinite"
            raise ImageError(label, f"every pixel is {what}; nothing to show")
    cvalid = None if valid is None else (valid if colour.ndim == 2 else valid[..., None])
    if cvalid is not None:
        cvalid = np.broadcast_to(cvalid, colour.shape)
    colour8, note = _scale(colour, cvalid, is_alpha=False)
    if note:
        notes.append(note)
    alpha8 = None
    if alpha is not None:
        alpha8, note = _scale(alpha, valid, is_alpha=True)
        if note:
            notes.append(note)
    if valid is not None:
        n_bad = int((~valid).sum())
        alpha8 = np.where(valid, 255 if alpha8 is None else alpha8, 0).astype(np.uint8)
        what = "masked/NaN/inf" if mask is not None else "NaN/inf"
        notes.append(f"{n_bad} {what} pixel{'s' if n_bad != 1 else ''} made transparent")

    if colour8.ndim == 3 and colour8.shape[2] == 1:
        colour8 = colour8[:, :, 0]
    if colour8.ndim == 2:
        colour8 = np.repeat(colour8[:, :, None], 3, axis=2)
    if alpha8 is not None:
        out = np.dstack([colour8, alpha8])
        return Image.fromarray(np.ascontiguousarray(out)), notes
    return Image.fromarray(np.ascontiguousarray(colour8)), notes
