"""Shared helpers for the client, simulator, SSE and OpenAPI tests.

Imported by those test modules (pytest puts tests/ on sys.path); kept out of
conftest.py so that the autouse environment isolation applies to these modules only.
Test modules import ``isolated_env_fixture`` and ``sim_fixture``; the fixtures are
named ``isolated_env`` and ``sim``.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from grok_nb import simulator

# Shaped like a real xAI key so that both exact and pattern redaction are exercised.
KEY = "xai-TESTkey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
MODEL = "grok-4.20-0309-non-reasoning"  # the offline default model


class FakeImage:
    """Stand-in for grok_nb.images.PreparedImage: only .data_url and .detail."""

    def __init__(
        self,
        size: tuple[int, int] = (64, 48),
        color: Any = (200, 40, 40),
        fmt: str = "PNG",
        detail: str | None = "high",
        mime: str | None = None,
    ) -> None:
        buf = io.BytesIO()
        mode = "RGBA" if isinstance(color, tuple) and len(color) == 4 else "RGB"
        Image.new(mode, size, color).save(buf, fmt)
        self.data = buf.getvalue()
        self.size = size
        self.mime = mime or ("image/png" if fmt == "PNG" else "image/jpeg")
        self.data_url = f"data:{self.mime};base64," + base64.b64encode(self.data).decode()
        self.detail = detail


class Sleeps:
    """Recording replacement for time.sleep / asyncio.sleep: tests take no time."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture(autouse=True, name="isolated_env")
def isolated_env_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real key, base URL, .env or user cache dir leaks into a test."""
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    monkeypatch.delenv("XAI_BASE_URL", raising=False)
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "cache"))  # every grok_nb file
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


@pytest.fixture(name="sim")
def sim_fixture() -> Iterator[simulator.Simulator]:
    with simulator.serve() as s:
        yield s


OPENAPI_SUBSET = Path(__file__).with_name("data") / "xai-openapi-subset.json"


def find_openapi() -> Path:
    """The vendored part of xAI's OpenAPI document (see tests/data/README.md)."""
    if not OPENAPI_SUBSET.is_file():
        raise AssertionError(f"{OPENAPI_SUBSET.name} is missing from tests/data/")
    return OPENAPI_SUBSET


def openapi_validator(component: str, *, strict: bool = False) -> Any:
    """A jsonschema validator for components/schemas/<component>.

    ``strict`` adds ``additionalProperties: false`` to every object schema that lists
    properties, so that fields the document does not name are reported.
    """
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = json.loads(find_openapi().read_text(encoding="utf-8"))
    if strict:
        _make_strict(doc["components"]["schemas"])
    uri = "urn:xai-openapi"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, DRAFT202012))
    ref = {"$ref": f"{uri}#/components/schemas/{component}"}
    return Draft202012Validator(ref, registry=registry)


def _make_strict(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    _make_strict(sub)
            else:
                _make_strict(value)
    elif isinstance(node, list):
        for value in node:
            _make_strict(value)


def scan_for_key(*texts: Any, key: str = KEY) -> None:
    """Fail if the key (or its distinctive tail) appears in any of the texts."""
    for text in texts:
        s = text if isinstance(text, str) else repr(text)
        at = s.find(key[8:])
        assert at < 0, f"the API key leaked: ...{s[max(at - 300, 0) : at + 60]!r}"
