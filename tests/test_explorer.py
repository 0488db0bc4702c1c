"""TileExplorer on the Python side: loading, traits, validation, the kernel's plan,
the framed image, the wire state and the static fallback."""

from __future__ import annotations

import base64
import functools
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from grok_nb.errors import ConfigError, GrokError, ImageError
from grok_nb.notebook.explorer import (
    JS_DIR,
    TileExplorer,
    check_crop,
    framed_size,
)
from grok_nb.pricing import FALLBACK_PRICES
from grok_nb.tiling import RULES, TilePlan
from grok_nb.tiling import plan as plan_tiles

VECTORS = json.loads((Path(__file__).parent / "data" / "tile_vectors.json").read_text())
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@functools.cache
def _photo(w: int, h: int) -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([xx * 255 // w, yy * 255 // h, (xx * yy) % 251], -1).astype("uint8")
    return Image.fromarray(arr)


def photo(w: int = 1600, h: int = 1200) -> Image.Image:
    """A synthetic photo-like image (smooth gradients and noise-like texture)."""
    return _photo(w, h).copy()


@pytest.fixture
def explorer() -> TileExplorer:
    return TileExplorer(photo(), label="photo")


# --- loading ------------------------------------------------------------------------


def test_accepts_pil_array_path_and_bytes(tmp_path: Path) -> None:
    img = photo(300, 200)
    path = tmp_path / "shot.png"
    img.save(path)
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    for source in (img, np.asarray(img), path, str(path), buf.getvalue()):
        ex = TileExplorer(source)
        assert ex.original_size == (300, 200)
        assert ex.image_size == [300, 200]
    assert "shot" in TileExplorer(path).label
    assert TileExplorer(np.zeros((3, 20, 10))).original_size == (10, 20)  # C x H x W


BAD_SOURCES = [
    (b"not an image", "not a readable image"),
    (np.zeros((0, 5)), "not an image"),
    (np.full((4, 4), np.nan), "NaN"),
    (object(), "not an image"),
]


@pytest.mark.parametrize("source", [s for s, _ in BAD_SOURCES])
def test_bad_images_raise_one_clear_image_error(source: Any) -> None:
    with pytest.raises(ImageError) as info:
        TileExplorer(source)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["missing.png", "fake.png"])
def test_bad_files_are_named_in_the_error(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if name == "fake.png":
        path.write_text("hello")  # text named .png
    with pytest.raises(ImageError) as info:
        TileExplorer(path)
    assert name in str(info.value) and "\n" not in str(info.value)


# --- traits sent to the browser -------------------------------------------------------


def test_preview_is_small_real_image_bytes(explorer: TileExplorer) -> None:
    data = explorer.image_data
    assert isinstance(data, bytes)
    with Image.open(io.BytesIO(data)) as preview:
        assert max(preview.size) <= 1024
        assert preview.size == (1024, 768)
        assert Image.MIME[preview.format] == explorer.image_mime
    # a big photo goes as JPEG, flat graphics as PNG
    assert explorer.image_mime == "image/jpeg"
    assert TileExplorer(Image.new("RGB", (50, 40), "red")).image_mime == "image/png"
    assert TileExplorer(Image.new("RGBA", (50, 40))).image_mime == "image/png"


def test_image_bytes_travel_as_a_binary_buffer_not_json(explorer: TileExplorer) -> None:
    from ipywidgets.widgets.widget import _remove_buffers

    state = explorer.get_state()
    json_state, paths, buffers = _remove_buffers(state)
    assert ["image_data"] in paths
    assert any(bytes(b) == explorer.image_data for b in buffers)
    text = json.dumps(json_state)  # everything else is plain JSON
    assert base64.b64encode(explorer.image_data[:30]).decode()[:20] not in text
    assert json_state["plan"] == explorer.plan.to_dict()


def test_js_assets_and_lists(explorer: TileExplorer) -> None:
    for name in ("explorer.js", "explorer.css", "tiles.js", "usd.js"):
        assert (JS_DIR / name).is_file()
    assert explorer._tiles_js == (JS_DIR / "tiles.js").read_text(encoding="utf-8")
    assert explorer._usd_js == (JS_DIR / "usd.js").read_text(encoding="utf-8")
    assert [r["name"] for r in explorer.rules] == list(RULES)
    names = [m["name"] for m in explorer.models]
    assert names == [m for m, p in FALLBACK_PRICES.items() if p.vision]
    assert "grok-build-0.1" not in names  # priced, but not a vision model
    prices = {m["name"]: m["image_per_million"] for m in explorer.models}
    assert prices["grok-4.3"] == FALLBACK_PRICES["grok-4.3"].image_rate


def test_unknown_model_is_listed_without_a_price(explorer: TileExplorer) -> None:
    explorer.model = "grok-99-imaginary"
    entry = explorer.models[-1]
    assert entry == {"name": "grok-99-imaginary", "image_per_million": None, "source": None}
    assert explorer.cost_usd() is None
    assert TileExplorer(photo(10, 10), model="other").models[-1]["name"] == "other"


# --- framing and the kernel's plan -----------------------------------------------------


def test_framing_vectors() -> None:
    for case in VECTORS["framing"]:
        assert list(framed_size(case["crop"], case["scale"])) == case["framed"], case


def test_plan_is_recomputed_in_python(explorer: TileExplorer) -> None:
    assert explorer.plan == plan_tiles(1600, 1200)
    assert isinstance(explorer.plan, TilePlan)
    explorer.crop = [100, 50, 1100, 550]
    explorer.scale = 0.5
    explorer.rule = "ceil"
    explorer.detail = "low"
    assert explorer.framed_size == (500, 250)
    assert explorer.plan == plan_tiles(500, 250, rule="ceil", detail="low")
    assert explorer.cost_usd() == explorer.plan.cost_usd(explorer.model)
    explorer.rule = None  # back to the default
    assert explorer.rule == "xai-guide"


def test_front_end_updates_replan_and_cannot_override_the_plan(explorer: TileExplorer) -> None:
    explorer.set_state({"crop": [0, 0, 448, 448], "scale": 1.0, "plan": {"tokens": 1}})
    assert explorer.crop == [0, 0, 448, 448]
    assert explorer.plan == plan_tiles(448, 448)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("crop", [0, 0, 5000, 10], "needs 0 <= x0 < x1 <= 1600"),
        ("crop", [10, 10, 10, 20], "needs 0 <= x0 < x1"),
        ("crop", [0, 0, 1], "four integers"),
        ("crop", "0,0,1,1", "four integers"),
        ("crop", [0, 0, 1.5, 1], "must be an integer"),
        ("crop", [0, 0, True, 1], "must be an integer"),
        ("scale", 0, "(0, 1]"),
        ("scale", 1.5, "(0, 1]"),
        ("scale", "half", "(0, 1]"),
        ("rule", "nope", "unknown tile rule 'nope'"),
        ("rule", 3, "must be a rule name"),
        ("detail", "medium", "detail must be one of"),
        ("model", 42, "must be a model name"),
    ],
)
def test_bad_values_raise_config_error_and_keep_the_old_value(
    explorer: TileExplorer, name: str, value: Any, message: str
) -> None:
    before = getattr(explorer, name)
    with pytest.raises(ConfigError) as info:
        setattr(explorer, name, value)
    assert message in str(info.value)
    assert getattr(explorer, name) == before


def test_constructor_options(tmp_path: Path) -> None:
    ex = TileExplorer(photo(), rule="internvl", detail="auto", scale=0.25, crop=(0, 0, 800, 600))
    assert ex.plan == plan_tiles(200, 150, rule="internvl", detail="auto")
    with pytest.raises(ConfigError):
        TileExplorer(photo(), crop=(0, 0, 2000, 10))


def test_numpy_integers_are_fine_in_a_crop(explorer: TileExplorer) -> None:
    explorer.crop = np.array([1, 2, 3, 4])
    assert explorer.crop == [1, 2, 3, 4]
    assert check_crop(None, 5, 6) == (0, 0, 5, 6)


def test_image_is_the_crop_then_the_scale() -> None:
    src = photo(640, 480)
    ex = TileExplorer(src)
    assert ex.image().tobytes() == src.tobytes()
    ex.crop = [10, 20, 330, 260]
    assert ex.image().tobytes() == src.crop((10, 20, 330, 260)).tobytes()  # exact pixels
    ex.scale = 0.5
    out = ex.image()
    assert out.size == ex.framed_size == (160, 120)
    assert out.size == (ex.plan.width, ex.plan.height)
    ex.reset()
    assert (ex.crop, ex.scale) == ([0, 0, 640, 480], 1.0)


# --- display ----------------------------------------------------------------------------


def test_mimebundle_has_widget_view_and_static_fallback(explorer: TileExplorer) -> None:
    explorer.crop = [0, 0, 800, 1200]
    data, _metadata = explorer._repr_mimebundle_()
    assert data[WIDGET_VIEW]["model_id"] == explorer.model_id
    png = base64.b64decode(data["image/png"])
    with Image.open(io.BytesIO(png)) as overlay:
        assert overlay.format == "PNG"
    assert "data:image/png;base64," in data["text/html"]
    assert f"{explorer.plan.tokens:,} tokens" in data["text/plain"]
    assert "crop 0,0–800,1200 of 1600×1200" in data["text/plain"]


def test_saved_notebook_without_widget_state_shows_the_overlay(explorer: TileExplorer) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    data, metadata = explorer._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("explorer")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    nb.cells = [cell]
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert "data:image/png;base64," in body
    assert "1,792 tokens" in body


def test_repr_is_short_and_informative(explorer: TileExplorer) -> None:
    text = repr(explorer)
    assert text.startswith("<TileExplorer photo 1600x1200")
    assert "1792 tokens" in text and "\n" not in text


def test_errors_are_grok_errors() -> None:
    assert issubclass(ConfigError, GrokError) and issubclass(ImageError, GrokError)


@pytest.mark.parametrize("size", [(20000, 2), (2, 30000), (1, 1)])
def test_extreme_shapes_still_display_the_widget(size: tuple[int, int]) -> None:
    ex = TileExplorer(Image.new("RGB", size, (10, 200, 30)))
    data, _ = ex._repr_mimebundle_()
    assert data[WIDGET_VIEW]["model_id"] == ex.model_id
    assert data["text/plain"]
    with Image.open(io.BytesIO(ex.image_data)) as preview:
        assert max(preview.size) <= 1024 and min(preview.size) >= 1
    assert ex.image().size == size
