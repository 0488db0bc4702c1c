"""Regressions from the adversarial review of images/: every fixture is made here."""

from __future__ import annotations

import io
import sqlite3
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from grok_nb.cache.prepared import PreparedStore
from grok_nb.errors import ImageError
from grok_nb.images import prepare, prepare_many
from grok_nb.images.decode import captured_warnings
from grok_nb.images.fingerprint import fingerprint
from grok_nb.images.normalise import _select_frame


def _sent(p: Any) -> Image.Image:
    im = Image.open(io.BytesIO(p.data))
    im.load()
    return im


# --- stale fingerprints ---------------------------------------------------------


def test_palette_change_changes_the_fingerprint_and_the_picture() -> None:
    im = Image.new("P", (32, 32), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    before = fingerprint(im)
    red = _sent(prepare(im)).convert("RGB").getpixel((0, 0))
    im.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    assert fingerprint(im) != before
    assert _sent(prepare(im)).convert("RGB").getpixel((0, 0)) != red


def test_transparency_and_orientation_change_the_fingerprint() -> None:
    im = Image.new("P", (16, 16), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    seen = {fingerprint(im)}
    im.info["transparency"] = 1
    seen.add(fingerprint(im))
    rgb = Image.new("RGB", (16, 8), "white")
    seen.add(fingerprint(rgb))
    rgb.getexif()[0x0112] = 6
    seen.add(fingerprint(rgb))
    assert len(seen) == 4 and None not in seen


def test_array_of_axes_is_never_fingerprinted() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    try:
        assert fingerprint(axes) is None  # its bytes are pointers: re-plotting keeps them
    finally:
        plt.close(fig)


def test_prepared_store_refuses_a_blob_that_does_not_match_its_hash(tmp_path: Path) -> None:
    store = PreparedStore(tmp_path / "p.sqlite3")
    p = prepare(Image.new("RGB", (64, 64), "green"))
    store.put("k", p)
    assert store.get("k") is not None
    store.close()
    with sqlite3.connect(tmp_path / "p.sqlite3") as db:
        db.execute("UPDATE prepared SET data = ? WHERE key = 'k'", (p.data[:-4] + b"junk",))
    store = PreparedStore(tmp_path / "p.sqlite3")
    assert store.get("k") is None  # a miss: prepared again, never sent damaged
    assert store.get("k") is None
    store.close()


# --- containers -----------------------------------------------------------------


class _LayeredPsd:
    """What Pillow hands over for a layered PSD: frames are layers 1..n, frame 0
    does not exist, and as opened the image holds the flattened composite."""

    format = "PSD"
    n_frames = 3
    _min_frame = 1

    def __init__(self) -> None:
        self.frame = 1
        self.tile = [("raw",)]

    def tell(self) -> int:
        return self.frame

    def seek(self, frame: int) -> None:
        if frame < 1:
            raise EOFError("attempt to seek outside sequence")
        self.frame = frame


def test_layered_psd_uses_its_composite_and_never_seeks_to_frame_0() -> None:
    psd = _LayeredPsd()
    notes: list[str] = []
    _select_frame(psd, True, notes)  # type: ignore[arg-type]
    assert psd.frame == 1 and "flattened" in notes[0]


_STORE = {  # how to store an upright picture so that orientation k shows it upright
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _quadrants(w: int = 60, h: int = 40) -> Image.Image:
    im = Image.new("RGB", (w, h), "white")
    im.paste((255, 0, 0), (0, 0, w // 2, h // 2))  # red top left
    im.paste((0, 0, 255), (w // 2, h // 2, w, h))  # blue bottom right
    return im


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_applied_once(orientation: int, tmp_path: Path) -> None:
    upright = _quadrants()
    method = _STORE[orientation]
    stored = upright if method is None else upright.transpose(method)
    path = tmp_path / "o.tif"
    stored.save(path, tiffinfo={0x0112: orientation})
    p = prepare(path, resize="none")
    assert p.size == (60, 40) and p.plan is not None and (p.plan.width, p.plan.height) == (60, 40)
    sent = _sent(p).convert("RGB")
    assert sent.size == (60, 40)
    assert sent.getpixel((5, 5))[0] > 200 and sent.getpixel((5, 5))[2] < 60  # red top left
    assert sent.getpixel((55, 35))[2] > 200  # blue bottom right


# --- 16-bit data ----------------------------------------------------------------


def _twelve_bit() -> np.ndarray:
    return (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 4096).astype(np.uint16)


def _pgm(arr: np.ndarray) -> bytes:
    h, w = arr.shape
    return f"P5\n{w} {h}\n65535\n".encode() + arr.astype(">u2").tobytes()


def test_twelve_bit_data_is_not_black_and_does_not_depend_on_the_container() -> None:
    arr = _twelve_bit()
    png, tif = io.BytesIO(), io.BytesIO()
    Image.fromarray(arr).save(png, "PNG")
    Image.fromarray(arr).save(tif, "TIFF")
    results = [prepare(b, resize="none") for b in (png.getvalue(), tif.getvalue(), _pgm(arr))]
    pixels = [np.asarray(_sent(p).convert("L")) for p in results]
    assert pixels[0].max() >= 250  # 4095 is full scale for 12-bit data, not 1/16 of it
    for other in pixels[1:]:
        assert np.abs(other.astype(int) - pixels[0].astype(int)).max() <= 1
    for p in results:
        assert any("values rescaled" in n and "12-bit" in n for n in p.notes), p.notes


# --- undecodable input ------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _corrupt_png() -> bytes:
    """A PNG whose header is fine and whose pixel stream is not zlib data (valid CRCs)."""
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    good = zlib.compress(b"\x00" + b"\x80" * 64 * 3)  # the first row decodes...
    idat = good[:-6] + b"\xff" * 200  # ...then garbage
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def test_corrupt_png_raises_and_is_never_sent_half_decoded(tmp_path: Path) -> None:
    data = _corrupt_png()
    path = tmp_path / "broken.png"
    path.write_bytes(data)
    for source in (path, data):
        with pytest.raises(ImageError, match="corrupt"):
            prepare(source)
    im = Image.open(path)
    assert fingerprint(im) is None  # identifying it decodes it, and fails quietly...
    for _ in range(2):  # ...and every later preparation still refuses it
        with pytest.raises(ImageError, match="corrupt"):
            prepare(im)


def _dds(fourcc: bytes) -> bytes:
    header = struct.pack("<7I", 124, 0x1007, 4, 4, 0, 0, 0) + b"\0" * 44
    pixel_format = struct.pack("<2I4s5I", 32, 0x4, fourcc, 0, 0, 0, 0, 0)
    return b"DDS " + header + pixel_format + b"\0" * 20 + b"\0" * 64


def test_unimplemented_dds_is_an_image_error(tmp_path: Path) -> None:
    data = _dds(b"XXXX")
    (path := tmp_path / "t.dds").write_bytes(data)
    for source in (data, path):
        with pytest.raises(ImageError, match="not supported by Pillow"):
            prepare(source)


def test_planning_a_call_with_an_undecodable_pil_image_raises_image_error(
    tmp_path: Path,
) -> None:
    from grok_nb.asking import plan_call

    im = Image.open(io.BytesIO(_corrupt_png()))
    for _ in range(2):  # the fingerprint (first) must not turn it into a half image
        with pytest.raises(ImageError, match="corrupt"):
            plan_call("what is it?", [im], cache="off", cache_path=str(tmp_path / "c.sqlite3"))


def test_grib_and_wmf_are_not_raster_images() -> None:
    grib = b"GRIB\0\0\0\x01" + b"\0" * 100
    with pytest.raises(ImageError, match="GRIB is a data format, not a raster image"):
        prepare(grib)
    with pytest.raises(ImageError, match="not a raster image"):
        prepare(Image.open(io.BytesIO(grib)))
    wmf = b"\xd7\xcd\xc6\x9a" + struct.pack("<H4hHIH", 0, 0, 0, 100, 100, 1440, 0, 0)
    wmf += b"\x01\x00\x09\x00" + b"\0" * 60
    try:
        from PIL import WmfImagePlugin

        has_handler = WmfImagePlugin._handler is not None
    except (ImportError, AttributeError):
        has_handler = False
    if not has_handler:
        with pytest.raises(ImageError, match="vector metafile"):
            prepare(wmf)


def test_eps_without_ghostscript_says_so() -> None:
    from PIL import EpsImagePlugin

    if EpsImagePlugin.has_ghostscript():
        pytest.skip("Ghostscript is installed: EPS renders")
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "EPS")
    with pytest.raises(ImageError, match="Ghostscript"):
        prepare(buf.getvalue())


# --- warnings -----------------------------------------------------------------------


def test_pillow_warnings_never_reach_the_user() -> None:
    im = Image.new("P", (16, 16), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=b"\x00\x80")  # palette alpha Pillow warns about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = prepare(buf.getvalue())
    assert p.mime == "image/png"


def test_meaningful_warnings_become_notes_and_others_pass_through() -> None:
    notes: list[str] = []
    with pytest.warns(RuntimeWarning, match="not ours"), captured_warnings(notes):
        for _ in range(57):
            warnings.warn_explicit("Possibly corrupt EXIF data", UserWarning, "/x/PIL/Tiff.py", 1)
        warnings.warn_explicit("IM is deprecated", DeprecationWarning, "/x/PIL/Im.py", 1)
        warnings.warn_explicit("not ours", RuntimeWarning, "/elsewhere/lib.py", 1)
    assert notes == ["Pillow warned: Possibly corrupt EXIF data"]


# --- limits and messages ----------------------------------------------------------------


def test_a_file_over_max_file_mb_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with open(path, "wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: costs no disk, would cost 300 MB of RAM
    with pytest.raises(ImageError) as info:
        prepare(path)
    message = str(info.value)
    assert "huge.png" in message and "300.0 MB" in message and "max_file_mb=100" in message
    Image.new("RGB", (600, 600)).save(small := tmp_path / "small.png")
    with pytest.raises(ImageError, match=r"max_file_mb=0\.001"):
        prepare(small, max_file_mb=0.001)
    assert prepare(small, max_file_mb=None).size == (600, 600)


def test_text_files_swept_up_by_a_glob_are_named_not_quoted(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "key.txt").write_text("XAI_API_KEY=xai-abcdefghijklmnopqrstuvwxyz0123456789\n")
    with pytest.raises(ImageError) as info:
        prepare_many(str(tmp_path / "*"))
    message = str(info.value)
    assert "key.txt" in message and "text file" in message
    assert "XAI_API_KEY" not in message and "xai-" not in message
