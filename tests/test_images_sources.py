"""Every kind of source a notebook user holds, and how each is named in messages."""

from __future__ import annotations

import base64
import http.server
import io
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from grok_nb import ImageError
from grok_nb.errors import ConfigError
from grok_nb.images import (
    PreparedImage,
    describe_source,
    expand_sources,
    load_image,
    mime_of,
    prepare,
    prepare_many,
)

ORANGE = (250, 140, 20)


def png(color: tuple[int, int, int] = ORANGE, size: tuple[int, int] = (30, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def pixel(p: PreparedImage) -> tuple[int, ...]:
    assert p.data is not None and mime_of(p.data) == p.mime
    im = Image.open(io.BytesIO(p.data)).convert("RGB")
    value = im.getpixel((im.width // 2, im.height // 2))
    assert isinstance(value, tuple)
    return value


def test_pil_bytes_bytearray_memoryview() -> None:
    data = png()
    for source in (Image.open(io.BytesIO(data)), data, bytearray(data), memoryview(data)):
        p = prepare(source)
        assert pixel(p) == ORANGE
        assert p.size == (30, 20) and p.mime == "image/png"
    assert describe_source(data) == f"bytes ({len(data):,}, PNG)"


def test_binary_file_object_read_and_rewound(tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(png())
    with open(path, "rb") as fh:
        p = prepare(fh)
        assert fh.tell() == 0
    assert p.label == "pic.png" and pixel(p) == ORANGE
    buf = io.BytesIO(b"xx" + png())
    buf.seek(2)
    assert pixel(prepare(buf)) == ORANGE and buf.tell() == 2
    assert describe_source(io.BytesIO()) == "file object"


def test_text_mode_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.png"
    path.write_bytes(png())
    with open(path, encoding="latin-1") as fh, pytest.raises(ImageError, match="'rb'"):
        prepare(fh)


def test_str_path_and_pathlib(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(png())
    for source in (str(path), path):
        p = prepare(source)
        assert p.label == str(path) and pixel(p) == ORANGE


def test_label_override() -> None:
    assert prepare(png(), label="my chart").label == "my chart"


def test_globs_expand_sorted_and_prepare_refuses_several(tmp_path: Path) -> None:
    colours = {"b.png": (0, 0, 200), "a.png": (200, 0, 0), "c.png": (0, 200, 0)}
    for name, colour in colours.items():
        (tmp_path / name).write_bytes(png(colour))
    (tmp_path / "notes.txt").write_text("x")
    pattern = str(tmp_path / "*.png")
    assert expand_sources(pattern) == [str(tmp_path / n) for n in ("a.png", "b.png", "c.png")]
    many = prepare_many([pattern, png(ORANGE)])
    assert [pixel(p) for p in many] == [(200, 0, 0), (0, 0, 200), (0, 200, 0), ORANGE]
    with pytest.raises(ImageError, match="gives 3 images; use prepare_many"):
        prepare(pattern)
    single = prepare(str(tmp_path / "a.*"))
    assert pixel(single) == (200, 0, 0)


def test_missing_paths_globs_and_folders(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        prepare(tmp_path / "nope.jpg")
    assert info.value.source.endswith("nope.jpg") and info.value.reason == "no such file"
    with pytest.raises(ImageError, match="no files match"):
        expand_sources(str(tmp_path / "*.jpeg"))
    with pytest.raises(ImageError, match="is a folder"):
        prepare(tmp_path)
    with pytest.raises(ImageError, match="no such file"):
        prepare_many([png(), str(tmp_path / "gone.png")])  # checked before decoding


def test_data_urls() -> None:
    data = png()
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    p = prepare(url)
    assert pixel(p) == ORANGE
    assert p.label == f"data: URL (image/png, {len(url):,} characters)"
    with pytest.raises(ImageError, match="base64"):
        prepare("data:image/png;base64,@@@@")
    with pytest.raises(ImageError, match="malformed"):
        prepare("data:image/png;base64")


def test_mislabelled_data_url_gets_the_true_mime() -> None:
    """The guide's own sample labels PNG bytes as image/jpeg; the bytes decide here."""
    url = "data:image/jpeg;base64," + base64.b64encode(png()).decode()
    p = prepare(url)
    assert p.mime == "image/png" and p.data_url.startswith("data:image/png;base64,")


def test_http_url_passed_through_unfetched() -> None:
    url = "https://example.invalid/cat.jpg"
    p = prepare(url)
    assert (p.data, p.mime, p.size, p.plan, p.url) == (None, None, None, None, url)
    assert p.data_url == url and p.label == url
    assert len(p.sha256) == 64
    assert "URL passed through" in repr(p)
    with pytest.raises(ImageError, match="fetch_urls=True"):
        p.thumbnail()


class _Handler(http.server.BaseHTTPRequestHandler):
    seen_headers: list[dict[str, str]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        type(self).seen_headers.append(dict(self.headers))
        if self.path == "/img.png":
            body = png((10, 200, 30), (500, 400))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(11 * 1024 * 1024))
            self.end_headers()
        elif self.path == "/huge-streamed":
            self.send_response(200)
            self.end_headers()  # no length: HTTP/1.0 body runs until close
            chunk = b"\0" * 65536
            try:
                for _ in range(11 * 16 + 1):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
            self.end_headers()
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_urls_downloads_and_prepares(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_KEY", "xai-secret-key-that-must-not-travel")
    _Handler.seen_headers.clear()
    p = prepare(f"{server}/img.png", fetch_urls=True)
    assert pixel(p) == (10, 200, 30) and p.size == (500, 400) and p.url is None
    assert p.label == f"{server}/img.png"
    headers = _Handler.seen_headers[-1]
    assert "Authorization" not in headers
    assert "xai-secret" not in repr(headers)
    pil, label, notes = load_image(f"{server}/img.png")  # load_image always downloads
    assert pil.size == (500, 400) and label == f"{server}/img.png"
    assert any("downloaded" in n for n in notes)


def test_fetch_failures(server: str) -> None:
    with pytest.raises(ImageError, match="HTTP 404"):
        prepare(f"{server}/missing.png", fetch_urls=True)
    with pytest.raises(ImageError, match="over the 10 MiB limit"):
        prepare(f"{server}/huge-declared", fetch_urls=True)
    with pytest.raises(ImageError, match="over the 10 MiB limit"):
        prepare(f"{server}/huge-streamed", fetch_urls=True)
    from grok_nb.images.fetch import fetch_url

    with pytest.raises(ImageError, match="timed out"):
        fetch_url(f"{server}/slow", "slow", timeout=0.3)


def test_unreachable_url() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(ImageError) as info:
        prepare(f"http://127.0.0.1:{port}/x.png", fetch_urls=True)
    assert "could not download" in info.value.reason
    assert info.value.source == f"http://127.0.0.1:{port}/x.png"


def test_ipython_display_image(tmp_path: Path) -> None:
    from IPython.display import Image as IPyImage

    data = png()
    path = tmp_path / "shown.png"
    path.write_bytes(data)
    by_data = prepare(IPyImage(data=data))
    assert pixel(by_data) == ORANGE and by_data.label == f"IPython Image ({len(data):,} bytes)"
    by_file = prepare(IPyImage(filename=str(path)))
    assert pixel(by_file) == ORANGE and by_file.label == "shown.png"
    by_url = prepare(IPyImage(url="https://example.invalid/a.png"))
    assert by_url.url == "https://example.invalid/a.png"


class FakeTensor:
    """Duck-typed like a torch tensor on a GPU: only .detach().cpu().numpy() works."""

    def __init__(self, arr: np.ndarray) -> None:
        self._arr = arr
        self.shape = arr.shape
        self.dtype = "torch.float32"

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self._arr


class ArrayLike:
    def __init__(self, arr: np.ndarray) -> None:
        self._arr = arr

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._arr


class HasReprPng:
    def _repr_png_(self) -> bytes:
        return png((1, 2, 3))


def test_tensor_array_like_and_repr_png() -> None:
    chw = np.zeros((3, 8, 10), dtype=np.float32)
    chw[0] = 1.0  # red, channel-first, floats in [0, 1]
    t = prepare(FakeTensor(chw))
    assert t.label == "FakeTensor 3x8x10 float32" and t.size == (10, 8)
    assert pixel(t) == (255, 0, 0)
    a = prepare(ArrayLike(np.full((6, 7, 3), 200, dtype=np.uint8)))
    assert pixel(a) == (200, 200, 200)
    r = prepare(HasReprPng())
    assert pixel(r) == (1, 2, 3) and any("_repr_png_" in n for n in r.notes)


def test_prepared_image_is_a_source() -> None:
    first = prepare(png())
    again = prepare(first)
    assert pixel(again) == ORANGE and again.label == first.label


def test_unsupported_types_are_named() -> None:
    with pytest.raises(ImageError) as info:
        prepare(42)
    assert info.value.source == "int object"
    assert "unsupported type int" in info.value.reason and "numpy array" in info.value.reason
    with pytest.raises(ImageError, match="unsupported type dict"):
        prepare({"a": 1})


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="resize"):
        prepare(png(), resize="small")
    with pytest.raises(ConfigError, match="detail"):
        prepare("https://example.invalid/a.png", detail="ultra")
    with pytest.raises(ConfigError, match="unknown tile rule"):
        prepare("https://example.invalid/a.png", rule="nope")


def test_prepared_image_surface() -> None:
    p = prepare(png(size=(300, 200)))
    assert p.data is not None and p.plan is not None
    assert p.data_url.startswith("data:image/png;base64,")
    assert base64.b64decode(p.data_url.split(",", 1)[1]) == p.data
    assert p.plan.preview is not None and p.plan.label == p.label
    assert p.plan.width == 300 and p.plan.height == 200
    thumb = p.thumbnail(64)
    assert max(thumb.size) == 64
    assert "300x200" in repr(p) and "bytes" in repr(p) and "b'" not in repr(p)
    import hashlib

    assert p.sha256 == hashlib.sha256(p.data).hexdigest()
    bundle, metadata = p._repr_mimebundle_()
    assert "grok_nb" in metadata
    assert bundle["text/plain"] == repr(p)


def test_import_stays_light() -> None:
    """Preparing PNG bytes needs neither matplotlib, numpy nor httpx."""
    code = (
        "import sys, io\n"
        "from PIL import Image\n"
        "import grok_nb.images as gi\n"
        "b = io.BytesIO(); Image.new('RGB', (9, 9)).save(b, 'PNG')\n"
        "gi.prepare(b.getvalue())\n"
        "print(sorted(m for m in ('matplotlib', 'numpy', 'httpx', 'IPython') "
        "if m in sys.modules))\n"
    )
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.strip() == "[]"
