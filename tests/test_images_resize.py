"""resize="model" keeps the exact tile plan; encoding picks PNG/JPEG and stays <= 10 MiB."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from grok_nb import ImageError
from grok_nb.images import encode as encode_mod
from grok_nb.images import mime_of, model_size, prepare
from grok_nb.images import resize as resize_mod
from grok_nb.images.encode import choose_format, encode_within_limit
from grok_nb.images.resize import downscale, plan_key
from grok_nb.tiling import plan

RULES = ("xai-guide", "internvl", "ceil")
DETAILS = ("high", "low", "auto")
sides = st.one_of(st.integers(1, 600), st.integers(1, 5000), st.integers(1, 20000))


@settings(max_examples=400, deadline=None)
@given(w=sides, h=sides, rule=st.sampled_from(RULES), detail=st.sampled_from(DETAILS))
def test_model_size_keeps_the_plan(w: int, h: int, rule: str, detail: str) -> None:
    sw, sh = model_size(w, h, rule, detail)
    original, sent = plan(w, h, rule, detail), plan(sw, sh, rule, detail)
    assert (sent.grid, sent.tiles, sent.extra_tiles, sent.tokens) == (
        original.grid,
        original.tiles,
        original.extra_tiles,
        original.tokens,
    )
    assert sent.resized == original.resized  # the model's canvas is the same too
    assert 1 <= sw <= w and 1 <= sh <= h  # never upscaled
    canvas = original.resized  # never below the canvas, unless the original is
    assert sw >= min(w, canvas[0]) and sh >= min(h, canvas[1])


@pytest.mark.parametrize(
    ("size", "rule", "detail", "want"),
    [
        ((4032, 3024), "xai-guide", "high", (1344, 1008)),  # 3x2 canvas 1344x896, aspect kept
        ((3024, 4032), "xai-guide", "high", (1008, 1344)),
        ((4032, 3024), "ceil", "high", (1194, 896)),  # ceil's own canvas
        ((4032, 3024), "xai-guide", "low", (448, 336)),  # low: fitted into one tile
        ((1000, 1000), "xai-guide", "high", (896, 896)),  # 2x2 (area tie-break kept)
        ((600, 400), "xai-guide", "high", (600, 400)),  # smaller than its canvas: as is
        ((20000, 1000), "xai-guide", "high", (5376, 448)),  # 20:1 -> 6x1 grid; aspect cut to 12
        ((100000, 10), "internvl", "high", (2688, 10)),  # a 1-px-high strip is never stretched
    ],
)
def test_model_size_examples(
    size: tuple[int, int], rule: str, detail: str, want: tuple[int, int]
) -> None:
    assert model_size(*size, rule, detail) == want


def photo_like(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / max(w, 1) * 200, y / max(h, 1) * 180, (x + y) % 97], axis=2)
    noise = rng.standard_normal((h, w, 3), dtype=np.float32) * 12
    return Image.fromarray(np.uint8(np.clip(base + 30 + noise, 0, 255)))


def chart_like(w: int, h: int) -> Image.Image:
    im = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(im)
    for i in range(0, w, 40):
        draw.rectangle((i, h - (i * 7) % h, i + 25, h), fill=(31, 119, 180))
    draw.line((0, h // 2, w, h // 3), fill="black", width=2)
    draw.text((10, 10), "Revenue by month", fill="black")
    return im


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    w=st.integers(1, 2400),
    h=st.integers(1, 2400),
    rule=st.sampled_from(RULES),
    detail=st.sampled_from(DETAILS),
)
def test_prepared_pixels_keep_the_plan(w: int, h: int, rule: str, detail: str) -> None:
    p = prepare(Image.new("RGB", (w, h), (90, 60, 30)), rule=rule, detail=detail)
    assert p.data is not None and p.plan is not None and p.sent_size is not None
    sent = Image.open(io.BytesIO(p.data))
    assert sent.size == p.sent_size
    assert plan_key(plan(*sent.size, rule, detail)) == plan_key(p.plan)
    assert (p.plan.width, p.plan.height) == (w, h)


def test_resize_none_sends_the_original() -> None:
    p = prepare(photo_like(1600, 1200), resize="none")
    assert p.sent_size == p.size == (1600, 1200)
    q = prepare(photo_like(1600, 1200))
    assert q.sent_size == (1344, 1008)
    assert "resized 1600x1200 -> 1344x1008 keeping the 3x2 plan (1792 tokens)" in q.notes


def test_never_upscales() -> None:
    p = prepare(chart_like(120, 80))
    assert p.sent_size == p.size == (120, 80)
    assert p.plan is not None and p.plan.resized == (1344, 896)  # the server stretches it


def test_large_jpeg_uses_draft_and_matches_a_full_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import JpegImagePlugin

    big = photo_like(2688, 2016, seed=3)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=95)
    drafts: list[tuple[int, int]] = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: object, size: object) -> object:
        result = real_draft(self, mode, size)  # type: ignore[arg-type]
        drafts.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    p = prepare(buf.getvalue())
    assert drafts == [(1344, 1008)]  # decoded at half scale in the DCT domain
    assert p.sent_size == (1344, 1008) and p.mime == "image/jpeg" and p.data is not None
    ours = np.asarray(Image.open(io.BytesIO(p.data)), dtype=np.float64)
    full = Image.open(io.BytesIO(buf.getvalue()))
    reference = np.asarray(full.resize((1344, 1008), Image.Resampling.LANCZOS), np.float64)
    psnr = 10 * np.log10(255**2 / np.mean((ours - reference) ** 2))
    assert psnr > 30, psnr


@pytest.mark.parametrize(
    ("threads", "source", "target"),
    [
        (2, (1500, 1100), (1000, 733)),
        (3, (2016, 1512), (1344, 1008)),
        (2, (4000, 900), (1300, 292)),
    ],
)
def test_banded_resize_matches_a_whole_resize(
    monkeypatch: pytest.MonkeyPatch,
    threads: int,
    source: tuple[int, int],
    target: tuple[int, int],
) -> None:
    im = photo_like(*source, seed=5)
    monkeypatch.setattr(resize_mod, "RESIZE_THREADS", threads)
    banded = np.asarray(downscale(im, target), dtype=np.int16)
    whole = np.asarray(im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0), np.int16)
    diff = np.abs(banded - whole)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001  # float rounding only, no seams


# ---- encoding choice -------------------------------------------------------------


def test_photo_goes_jpeg_chart_goes_png() -> None:
    photo, chart = prepare(_png(photo_like(800, 600))), prepare(_png(chart_like(800, 600)))
    assert photo.mime == "image/jpeg" and chart.mime == "image/png"
    assert any("looks photographic" in n for n in photo.notes)
    assert any("looks like graphics" in n for n in chart.notes)


def test_screenshot_with_a_photo_in_it_goes_png() -> None:
    im = chart_like(900, 600)
    im.paste(photo_like(300, 200), (500, 300))  # many colours, but most of it is flat UI
    fmt, why = choose_format(im)
    assert fmt == "PNG" and "flat neighbours" in why


def test_jpeg_source_stays_jpeg_and_alpha_forces_png() -> None:
    buf = io.BytesIO()
    chart_like(300, 200).save(buf, "JPEG", quality=95)
    assert prepare(buf.getvalue()).mime == "image/jpeg"
    rgba = photo_like(300, 200).convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 10))
    assert choose_format(rgba) == ("PNG", "has transparency")


def test_mime_of() -> None:
    assert mime_of(b"\x89PNG\r\n\x1a\n...") == "image/png"
    assert mime_of(b"\xff\xd8\xff\xe0...") == "image/jpeg"
    assert mime_of(b"GIF89a") is None


# ---- the 10 MiB guarantee --------------------------------------------------------


def _noise(w: int, h: int, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(9)
    channels = 4 if mode == "RGBA" else 3
    arr = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    if mode == "RGBA":
        arr[..., 3] = rng.integers(1, 255, (h, w), dtype=np.uint8)
    return Image.fromarray(arr)


def test_png_over_limit_falls_back_to_jpeg() -> None:
    im = _noise(500, 400)
    data, sent, notes = encode_within_limit(im, "PNG", "noise", limit=400_000)
    assert mime_of(data) == "image/jpeg" and len(data) <= 400_000 and sent.size == im.size
    assert any("sent as JPEG" in n for n in notes)


def test_jpeg_quality_steps_down_but_not_below_85() -> None:
    im = _noise(500, 400)
    q90 = len(encode_mod.encode(im, "JPEG", 90))
    q85 = len(encode_mod.encode(im, "JPEG", 85))
    data, _sent, notes = encode_within_limit(im, "JPEG", "noise", limit=(q90 + q85) // 2)
    assert len(data) <= (q90 + q85) // 2 and any("quality lowered" in n for n in notes)
    with pytest.raises(ImageError) as info:
        encode_within_limit(im, "JPEG", "noise", limit=q85 - 1000)
    assert info.value.source == "noise" and "without changing its tile plan" in info.value.reason


def test_alpha_over_limit_downscales_only_to_plan_keeping_sizes() -> None:
    im = _noise(600, 400, "RGBA")
    with pytest.raises(ImageError, match="with transparency"):
        encode_within_limit(im, "PNG", "noisy overlay", limit=200_000)
    data, sent, notes = encode_within_limit(
        im, "PNG", "noisy overlay", limit=200_000, smaller=[((200, 133), "keeps the plan")]
    )
    assert mime_of(data) == "image/png" and sent.size == (200, 133)
    assert any("downscaled to 200x133" in n for n in notes)


def test_prepare_honours_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    im = _noise(1600, 1200)  # resize="none" sends 1600x1200; its plan allows 1344x1008
    over = len(encode_mod.encode(im, "JPEG", 85))  # too big at full size, any quality
    small = len(encode_mod.encode(downscale(im, (1344, 1008)), "JPEG", 90))
    assert small < over
    monkeypatch.setattr(encode_mod, "MAX_BYTES", (small + over) // 2)
    p = prepare(im, resize="none")
    assert p.data is not None and len(p.data) <= (small + over) // 2
    assert p.plan is not None and p.sent_size == (1344, 1008)
    assert plan_key(plan(*p.sent_size)) == plan_key(p.plan)
    assert any("downscaled to 1344x1008" in n for n in p.notes)
    monkeypatch.setattr(encode_mod, "MAX_BYTES", 100_000)
    with pytest.raises(ImageError, match="cannot be brought under"):
        prepare(im)
