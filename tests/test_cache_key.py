"""Canonical request and cache key: what makes two requests the same answer."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grok_nb.cache.responses import (
    CACHE_MODES,
    cacheable,
    canonical_request,
    check_mode,
    default_cache_path,
    request_key,
)
from grok_nb.errors import ConfigError

BASE = "https://api.x.ai/v1"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROK_NB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XAI_API_KEY", raising=False)


def body_with(url: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "model": "grok-4",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
                ],
            },
        ],
        "temperature": 0.2,
    }
    body.update(extra)
    return body


def png_url(data: bytes, *, wrap: bool = False, urlsafe: bool = False) -> str:
    if urlsafe:
        text = base64.urlsafe_b64encode(data).decode()
    elif wrap:  # MIME-style 76-column lines, as base64.encodebytes writes them
        text = base64.encodebytes(data).decode()
    else:
        text = base64.b64encode(data).decode()
    return f"data:image/png;base64,{text}"


def shuffled(value: object, rng: random.Random) -> object:
    """The same JSON value with every dict's insertion order shuffled."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(extra=st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5))
def test_key_ignores_dict_order(extra: dict[str, object]) -> None:
    body = body_with(png_url(b"\x89PNG fake"), response_format=extra)
    again = shuffled(body, random.Random(len(json.dumps(extra))))
    assert request_key(body, BASE) == request_key(again, BASE)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=1, max_size=400))
def test_same_bytes_same_key_whatever_the_base64_layout(data: bytes) -> None:
    keys = {
        request_key(body_with(png_url(data)), BASE),
        request_key(body_with(png_url(data, wrap=True)), BASE),
        request_key(body_with(png_url(data, urlsafe=True)), BASE),
    }
    assert len(keys) == 1
    assert request_key(body_with(png_url(data + b"!")), BASE) not in keys


def test_image_is_replaced_by_its_hash() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    text = canonical_request(body_with(png_url(data, wrap=True)), BASE)
    import hashlib

    assert f"sha256:{hashlib.sha256(data).hexdigest()}:image/png" in text
    assert base64.b64encode(data).decode()[:40] not in text
    # the canonical form is compact JSON with sorted keys
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_mime_type_is_part_of_the_key() -> None:
    data = b"same bytes"
    png = png_url(data)
    jpeg = png.replace("image/png", "image/jpeg")
    assert request_key(body_with(png), BASE) != request_key(body_with(jpeg), BASE)


def test_delivery_fields_do_not_change_the_key() -> None:
    url = png_url(b"img")
    plain = request_key(body_with(url), BASE)
    assert plain == request_key(body_with(url, stream=True), BASE)
    assert plain == request_key(
        body_with(url, stream=True, stream_options={"include_usage": True}), BASE
    )
    assert plain == request_key(body_with(url, user="notebook-1"), BASE)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "grok-4-fast"},
        {"temperature": 0.7},
        {"max_completion_tokens": 20},
        {"seed": 7},
        {"response_format": {"type": "json_object"}},
    ],
)
def test_options_that_change_the_answer_change_the_key(change: dict[str, object]) -> None:
    url = png_url(b"img")
    assert request_key(body_with(url), BASE) != request_key(body_with(url, **change), BASE)


def test_messages_and_detail_change_the_key() -> None:
    url = png_url(b"img")
    body = body_with(url)
    other_prompt = json.loads(json.dumps(body))
    other_prompt["messages"][1]["content"][0]["text"] = "Count the cats."
    low = json.loads(json.dumps(body))
    low["messages"][1]["content"][1]["image_url"]["detail"] = "low"
    keys = {request_key(b, BASE) for b in (body, other_prompt, low)}
    assert len(keys) == 3


def test_base_url_is_part_of_the_key_but_normalised() -> None:
    body = body_with(png_url(b"img"))
    real = request_key(body, "https://api.x.ai/v1")
    assert real == request_key(body, "https://API.x.ai/v1/")
    assert real == request_key(body, "  https://api.x.ai/v1//  ")
    assert real != request_key(body, "http://127.0.0.1:8765/v1")
    assert request_key(body, "http://[::1]:8000/v1") != request_key(body, "http://[::1]/v1")
    assert request_key(body, "http://host:notaport/v1") == request_key(
        body, "HTTP://HOST:notaport/v1"
    )
    # credentials in a URL never reach the canonical text
    text = canonical_request(body, "https://bob:hunter2-password@api.x.ai/v1")
    assert "hunter2" not in text and "bob" not in text


def test_integral_floats_equal_ints() -> None:
    url = png_url(b"img")
    assert request_key(body_with(url, temperature=1), BASE) == request_key(
        body_with(url, temperature=1.0), BASE
    )


def test_canonical_text_never_holds_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "xai-canonical-secret-0123456789"
    monkeypatch.setenv("XAI_API_KEY", secret)
    body = body_with(
        png_url(b"img"),
        api_key=secret,
        headers={"Authorization": f"Bearer {secret}"},
        Authorization=f"Bearer {secret}",
    )
    assert secret not in canonical_request(body, BASE)
    assert request_key(body, BASE) == request_key(body_with(png_url(b"img")), BASE)


def test_non_json_values_are_refused_with_their_location() -> None:
    body = body_with(png_url(b"img"), temperature={0.1, 0.2})
    with pytest.raises(ConfigError, match=r"body\.temperature: set is not a JSON value"):
        canonical_request(body, BASE)
    with pytest.raises(ConfigError, match="expected a dict"):
        canonical_request(["not", "a", "body"], BASE)  # type: ignore[arg-type]


def test_undecodable_base64_gets_a_stable_distinct_key() -> None:
    bad = "data:image/png;base64,@@@not base64@@@"
    assert request_key(body_with(bad), BASE) == request_key(body_with(bad), BASE)
    assert request_key(body_with(bad), BASE) != request_key(
        body_with("data:image/png;base64,@@@other@@@"), BASE
    )


def test_key_is_sha256_hex() -> None:
    key = request_key(body_with(png_url(b"img")), BASE)
    assert len(key) == 64 and int(key, 16) >= 0


def test_check_mode() -> None:
    for mode in CACHE_MODES:
        assert check_mode(mode) == mode
    with pytest.raises(ConfigError, match=r"cache='sometimes': expected one of use, refresh"):
        check_mode("sometimes")


def test_default_path_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_cache_path() == tmp_path / "cache" / "responses.sqlite3"
    monkeypatch.delenv("GROK_NB_CACHE_DIR")
    import platformdirs

    expected = Path(platformdirs.user_cache_dir("grok_nb")) / "responses.sqlite3"
    assert default_cache_path() == expected


@pytest.mark.parametrize(
    ("record", "ok"),
    [
        ({"text": "a cat", "finish_reason": "stop"}, True),
        ({"text": "a ca", "finish_reason": "length"}, True),
        ({"text": "a", "finish_reason": "incomplete"}, False),
        ({"text": "a", "finish_reason": "interrupted"}, False),
        ({"text": "", "error": "HTTP 500"}, False),
        ("not a record", False),
    ],
)
def test_cacheable(record: object, ok: bool) -> None:
    assert cacheable(record) is ok
