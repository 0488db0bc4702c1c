"""File formats in, upright 8-bit pixels out; bad files refused with one clear error.

The corpus is drawn here with Pillow: no committed binaries.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from grok_nb import ImageError
from grok_nb.images import PreparedImage, load_image, mime_of, prepare

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrants(w: int = 80, h: int = 60) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    im = Image.new("RGB", (w, h))
    im.paste(RED, (0, 0, w // 2, h // 2))
    im.paste(GREEN, (w // 2, 0, w, h // 2))
    im.paste(BLUE, (0, h // 2, w // 2, h))
    im.paste(WHITE, (w // 2, h // 2, w, h))
    return im


def assert_quadrants(im: Image.Image, tol: int = 40) -> None:
    w, h = im.size
    for (x, y), want in {
        (w // 4, h // 4): RED,
        (3 * w // 4, h // 4): GREEN,
        (w // 4, 3 * h // 4): BLUE,
        (3 * w // 4, 3 * h // 4): WHITE,
    }.items():
        got = im.convert("RGB").getpixel((x, y))
        assert isinstance(got, tuple)
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= tol, (x, y, got, want)


def encoded(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def check_bytes(p: PreparedImage) -> Image.Image:
    """The MIME type matches the magic number, and the bytes decode to sent_size."""
    data, mime = p.data, p.mime
    assert data is not None and mime_of(data) == mime
    im = decoded(data)
    assert mime == {"PNG": "image/png", "JPEG": "image/jpeg"}[str(im.format)]
    assert im.size == p.sent_size
    assert 0x0112 not in im.getexif()  # no orientation tag travels
    return im


# EXIF orientation k: how to store an upright image so that a viewer shows it upright
_STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_applied_and_dropped(orientation: int, fmt: str) -> None:
    upright = quadrants()
    method = _STORE[orientation]
    stored = upright if method is None else upright.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(stored, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    p = prepare(data)
    assert p.size == upright.size
    sent = check_bytes(p)
    assert_quadrants(sent)
    assert (orientation != 1) == any("EXIF orientation" in n for n in p.notes)
    pil, _label, _notes = load_image(data)
    assert pil.size == upright.size
    assert_quadrants(pil)


def test_palette_with_transparency_keeps_alpha_as_png() -> None:
    im = Image.new("P", (40, 30), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (20, 0, 40, 30))
    im.info["transparency"] = 1
    p = prepare(encoded(im, "GIF", transparency=1))
    assert p.mime == "image/png"
    sent = check_bytes(p).convert("RGBA")
    assert sent.getpixel((5, 5)) == (255, 0, 0, 255)
    # fully transparent pixels carry white, so a server that drops alpha sees white
    assert sent.getpixel((30, 5)) == (255, 255, 255, 0)


def test_palette_without_transparency_becomes_rgb() -> None:
    im = quadrants().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    pil, _, _ = load_image(encoded(im, "PNG"))
    assert pil.mode == "RGB"
    assert_quadrants(pil, tol=0)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # red ink-free of black
    p = prepare(encoded(cmyk, "JPEG", quality=95))
    sent = check_bytes(p).convert("RGB")
    r, g, b = sent.getpixel((16, 16))  # type: ignore[misc]
    assert r > 220 and g < 40 and b < 40
    assert any("CMYK" in n for n in p.notes)


def _icc_rgb_profile(name: str, primaries: list[tuple[float, float, float]]) -> bytes:
    """A minimal ICC v2 RGB display profile: gamma-1 curves and the given D50 primaries."""
    import struct

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = name.encode() + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 8
    desc += b"\0" * 3 + b"\0" * 67
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 256) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249))]
    tags += [(sig, xyz(*p)) for sig, p in zip((b"rXYZ", b"gXYZ", b"bXYZ"), primaries, strict=True)]
    tags += [(sig, curve) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24
    header += s15(0.9642) + s15(1.0) + s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def test_icc_profile_converted_to_srgb() -> None:
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    swapped = _icc_rgb_profile("Swapped test RGB", [green, red, blue])  # R means green
    data = encoded(Image.new("RGB", (16, 16), RED), "PNG", icc_profile=swapped)
    pil, _, notes = load_image(data)
    r, g, b = pil.getpixel((3, 3))  # type: ignore[misc]
    assert g > 200 and r < 60 and b < 60, (r, g, b)
    assert "colours converted from Swapped test RGB to sRGB" in notes
    p = prepare(data)
    assert p.data is not None and "icc_profile" not in decoded(p.data).info


def test_srgb_profile_left_alone() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pil, _, notes = load_image(encoded(Image.new("RGB", (8, 8), RED), "PNG", icc_profile=srgb))
    assert pil.getpixel((3, 3)) == RED
    assert not any("sRGB" in n for n in notes)


def test_sixteen_bit_png_scaled_to_eight_bits() -> None:
    arr = np.zeros((20, 40), dtype=np.uint16)
    arr[:, 20:] = 65535
    arr[:10, :20] = 32896  # 128 * 257
    im = Image.fromarray(arr)
    assert im.mode.startswith("I;16")
    pil, _, notes = load_image(encoded(im, "PNG"))
    assert pil.mode == "RGB"
    assert pil.getpixel((30, 5)) == (255, 255, 255)
    assert pil.getpixel((5, 5)) == (128, 128, 128)
    assert pil.getpixel((5, 15)) == (0, 0, 0)
    assert any("16-bit" in n for n in notes)


def test_grey_alpha_becomes_rgba() -> None:
    im = Image.new("LA", (30, 20), (200, 255))
    im.paste((50, 0), (0, 0, 10, 20))
    p = prepare(encoded(im, "PNG"))
    assert p.mime == "image/png"
    sent = check_bytes(p).convert("RGBA")
    assert sent.getpixel((20, 10)) == (200, 200, 200, 255)
    assert sent.getpixel((5, 10))[3] == 0  # type: ignore[index]


def test_opaque_alpha_is_dropped() -> None:
    im = quadrants().convert("RGBA")
    pil, _, _ = load_image(encoded(im, "PNG"))
    assert pil.mode == "RGB"


def test_float_tiff() -> None:
    arr = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (16, 1))
    im = Image.fromarray(arr)
    assert im.mode == "F"
    pil, _, _ = load_image(encoded(im, "TIFF"))
    assert pil.getpixel((0, 0)) == (0, 0, 0)
    assert pil.getpixel((63, 0)) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_first_frame_with_note(fmt: str) -> None:
    frames = [Image.new("RGB", (24, 24), c) for c in (RED, GREEN, BLUE)]
    buf = io.BytesIO()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, **extra)
    p = prepare(buf.getvalue())
    sent = check_bytes(p).convert("RGB")
    assert sent.getpixel((12, 12)) == RED
    assert "first frame of 3-frame animation used" in p.notes


def test_multipage_tiff_first_page() -> None:
    pages = [Image.new("RGB", (20, 20), c) for c in (GREEN, BLUE)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    pil, _, notes = load_image(buf.getvalue())
    assert pil.getpixel((5, 5)) == GREEN
    assert "first page of 2-page TIFF used" in notes


def test_user_image_current_frame_used_and_not_moved() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, GREEN, BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    im = Image.open(io.BytesIO(buf.getvalue()))
    im.seek(1)
    pil, _, notes = load_image(im)
    assert pil.convert("RGB").getpixel((8, 8)) == GREEN
    assert "frame 2 of 3 used (the image object's current frame)" in notes
    assert im.tell() == 1


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP", "PPM", "ICO"])
def test_other_formats_convert(fmt: str) -> None:
    extra = {"lossless": True} if fmt == "WEBP" else {}
    p = prepare(encoded(quadrants(64, 64), fmt, **extra))
    assert_quadrants(check_bytes(p), tol=0 if p.mime == "image/png" else 40)


def test_user_pil_image_is_not_modified() -> None:
    im = quadrants().convert("RGBA")
    im.info["note"] = "mine"
    before = im.tobytes()
    p = prepare(im)
    assert im.mode == "RGBA" and im.info == {"note": "mine"} and im.tobytes() == before
    assert p.label == "PIL RGBA image 80x60"


# ---- bad input ---------------------------------------------------------------------


def _raises(source: object, *needles: str) -> ImageError:
    with pytest.raises(ImageError) as info:
        prepare(source)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return info.value


def test_empty_file_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    err = _raises(path, "empty")
    assert err.source.endswith("empty.png")
    _raises(b"", "empty")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_truncated_files(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(1)
    im = Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8))
    data = encoded(im.convert("P") if fmt == "GIF" else im, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    err = _raises(path, "truncated or corrupt")
    assert err.source == str(path)


def test_text_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello world, this is not a picture\n")
    err = _raises(path, "notes.png", "text file, not an image")
    assert "hello" not in str(err)  # file content is never quoted (a glob may sweep up .env)


def test_random_bytes() -> None:
    _raises(bytes(range(7, 100)), "not an image format")


def test_svg_and_pdf_get_advice(tmp_path: Path) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    _raises(svg, "logo.svg", "SVG", "export it to PNG", "cairosvg")
    _raises(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    _raises(pdf, "paper.pdf", "PDF", "pdftoppm")


def test_html_page() -> None:
    _raises(b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML page")


def test_heic_without_pillow_heif() -> None:
    data = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        _raises(data, "pillow-heif")
    else:  # with the plugin, this fake file is refused as corrupt instead
        _raises(data)


def test_decompression_bombs_refused_without_leaking_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    warn_size = encoded(Image.new("RGB", (40, 40)), "PNG")  # 1600 px: Pillow warns
    error_size = encoded(Image.new("RGB", (100, 100)), "PNG")  # 10000 px: Pillow raises
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _raises(warn_size, "decompression bomb", "MAX_IMAGE_PIXELS")
        _raises(error_size, "decompression bomb")
        with pytest.raises(ImageError):
            load_image(warn_size)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_large_rotated_jpeg_drafted_and_upright() -> None:
    upright = quadrants(2688, 2016)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated, as a phone held upright writes it
    stored = upright.transpose(_STORE[6])  # type: ignore[arg-type]
    assert stored.size == (2016, 2688)
    p = prepare(encoded(stored, "JPEG", quality=90, exif=exif.tobytes()))
    assert p.size == (2688, 2016) and p.sent_size == (1344, 1008)
    assert_quadrants(check_bytes(p))


def test_pil_image_whose_file_was_closed(tmp_path: Path) -> None:
    path = tmp_path / "closed.png"
    quadrants().save(path)
    with Image.open(path) as im:
        pass  # never loaded; the with-block closed its file
    with pytest.raises(ImageError, match="file was closed before its pixels were read"):
        prepare(im)
