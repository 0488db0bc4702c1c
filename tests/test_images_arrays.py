"""numpy arrays: shapes, dtypes and value ranges mapped to the pixels a user expects."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from grok_nb import ImageError
from grok_nb.images import describe_source, load_image, mime_of, prepare


def rgba(arr: object) -> np.ndarray:
    pil, _label, _notes = load_image(arr)
    return np.asarray(pil.convert("RGBA"))


def test_labels_do_not_decode() -> None:
    assert describe_source(np.zeros((480, 640, 3), np.float32)) == "array 480x640x3 float32"
    assert describe_source(np.zeros((2, 3), bool)) == "array 2x3 bool"


@pytest.mark.parametrize(
    ("dtype", "low", "high"),
    [
        (np.uint8, 0, 255),
        (np.int64, 0, 255),  # ints already in 0..255 are 8-bit levels
        (np.float32, 0.0, 1.0),
        (np.float64, -1.0, 1.0),  # normalised tensors
        (np.float32, 0.0, 255.0),  # floats of 8-bit data
        (np.float64, -3.5, 1200.0),  # anything else: stretched
        (np.uint16, 0, 4095),  # 12-bit camera data: scaled by its maximum
        (np.int32, -1000, 1000),
    ],
)
def test_value_ranges_map_to_black_and_white(dtype: type, low: float, high: float) -> None:
    arr: np.ndarray = np.array([[low, high]], dtype=dtype).repeat(4, axis=0).repeat(4, axis=1)
    out = rgba(arr)
    assert out[0, 0].tolist() == [0, 0, 0, 255]
    assert out[0, 7].tolist() == [255, 255, 255, 255]


def test_twelve_bit_keeps_black_point_and_scales_midtones() -> None:
    arr = np.array([[0, 2048, 4095]], dtype=np.uint16)
    assert rgba(arr)[0, :, 0].tolist() == [0, 128, 255]


def test_bool_array() -> None:
    arr = np.eye(4, dtype=bool)
    out = rgba(arr)
    assert out[0, 0, 0] == 255 and out[0, 1, 0] == 0


def test_float_midtones_and_colour_balance_kept() -> None:
    arr = np.zeros((2, 2, 3), np.float32)
    arr[..., 0] = 0.5
    arr[..., 2] = 1.0
    assert rgba(arr)[0, 0].tolist() == [128, 0, 255, 255]


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((20, 30), (30, 20)),
        ((20, 30, 1), (30, 20)),
        ((20, 30, 3), (30, 20)),
        ((20, 30, 4), (30, 20)),
        ((3, 20, 30), (30, 20)),  # channel-first
        ((1, 20, 30), (30, 20)),
        ((4, 20, 30), (30, 20)),
        ((1, 20, 30, 3), (30, 20)),  # batch of one
        ((1, 3, 20, 30), (30, 20)),
        ((1, 1, 20, 30), (30, 20)),
    ],
)
def test_shapes(shape: tuple[int, ...], size: tuple[int, int]) -> None:
    p = prepare(np.full(shape, 0.5, np.float32))
    assert p.size == size and p.data is not None and mime_of(p.data) == p.mime


def test_channel_first_colours_and_note() -> None:
    chw = np.zeros((3, 10, 12), np.uint8)
    chw[1] = 255
    pil, _label, notes = load_image(chw)
    assert pil.size == (12, 10) and pil.getpixel((0, 0)) == (0, 255, 0)
    assert any("C×H×W" in n for n in notes)


def test_hwc_wins_when_both_axes_could_be_channels() -> None:
    arr = np.zeros((3, 5, 3), np.uint8)  # last axis 3: read as H×W×C
    arr[..., 0] = 255
    pil, _, _ = load_image(arr)
    assert pil.size == (5, 3) and pil.getpixel((0, 0)) == (255, 0, 0)


def test_rgba_array_alpha_kept_as_png() -> None:
    arr = np.zeros((10, 10, 4), np.float32)
    arr[..., 2] = 1.0
    arr[:, :5, 3] = 1.0  # left half opaque blue, right half transparent
    p = prepare(arr)
    assert p.mime == "image/png" and p.data is not None
    sent = np.asarray(Image.open(io.BytesIO(p.data)).convert("RGBA"))
    assert sent[0, 0].tolist() == [0, 0, 255, 255]
    assert sent[0, 9, 3] == 0


def test_grey_alpha_array() -> None:
    arr = np.zeros((4, 4, 2), np.uint8)
    arr[..., 0] = 90
    arr[..., 1] = 255
    arr[0, 0, 1] = 0
    out = rgba(arr)
    assert out[1, 1].tolist() == [90, 90, 90, 255] and out[0, 0, 3] == 0


def test_partial_nan_becomes_transparent_with_note() -> None:
    arr = np.linspace(0, 1, 16, dtype=np.float64).reshape(4, 4)
    arr[0, 0] = np.nan
    arr[3, 3] = np.inf
    pil, _, notes = load_image(arr)
    out = np.asarray(pil)
    assert pil.mode == "RGBA"
    assert out[0, 0, 3] == 0 and out[3, 3, 3] == 0 and out[1, 1, 3] == 255
    assert "2 NaN/inf pixels made transparent" in notes
    # the finite values still span 0..1 -> black..white (inf did not squash them)
    assert out[0, 1, 0] == round(1 / 15 * 255) and out[3, 2, 0] == round(14 / 15 * 255)


def test_masked_array_masks_become_transparent() -> None:
    arr = np.ma.masked_array(np.full((3, 3), 200, np.uint8), mask=np.eye(3, dtype=bool))
    out = rgba(arr)
    assert out[0, 0, 3] == 0 and out[0, 1].tolist() == [200, 200, 200, 255]


@pytest.mark.parametrize(
    ("arr", "needle"),
    [
        (np.full((4, 4), np.nan), "every pixel is NaN or infinite"),
        (np.full((4, 4, 3), np.inf), "every pixel is NaN or infinite"),
        (np.zeros((0, 10)), "empty"),
        (np.zeros((10, 0, 3)), "empty"),
        (np.zeros((2, 3, 20, 30)), "has 4 dimensions; pass one image"),
        (np.zeros((5, 6, 7)), "cannot tell the channel axis"),
        (np.zeros(10), "1-D array"),
        (np.float64(3.0), "single number"),
        (np.zeros((4, 4), complex), "complex"),
        (np.array([["a", "b"]]), "not numeric"),
    ],
)
def test_bad_arrays(arr: np.ndarray, needle: str) -> None:
    with pytest.raises(ImageError) as info:
        prepare(arr)
    assert needle in info.value.reason
    assert info.value.source.startswith("array")


def test_non_contiguous_views() -> None:
    base = np.zeros((40, 60, 3), np.uint8)
    base[::2, ::2, 0] = 255
    view = base[::2, ::2]
    assert not view.flags["C_CONTIGUOUS"]
    pil, _, _ = load_image(view)
    assert pil.size == (30, 20) and pil.getpixel((3, 3)) == (255, 0, 0)
