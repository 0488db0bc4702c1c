"""Keys with stray whitespace or characters a header cannot carry, and base URLs with
credentials: clear errors that never show the key or the password."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY

from grok_nb import simulator
from grok_nb.api.client import Client
from grok_nb.api.credentials import KeyFormatError, find_api_key, require_api_key
from grok_nb.api.request import build_chat_request
from grok_nb.errors import ConfigError, GrokError, MissingKeyError

BODY = build_chat_request(["Describe."], model="grok-4-1-fast-non-reasoning", stream=False)
PASSWORD = "hunter2-very-secret-pw"


def all_text(exc: BaseException) -> str:
    """The error, and the local variables of grok_nb's frames in its traceback (what a
    verbose traceback shows; the test's own frame holds the key on purpose)."""
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    frames = [f for f in tb.stack if "grok_nb" in Path(f.filename).parts]
    return "\n".join([str(exc), repr(exc), *(repr(f.locals) for f in frames)])


@pytest.mark.parametrize("raw", [TEST_KEY + "\n", f"  {TEST_KEY}\r\n", f"\t{TEST_KEY} "])
def test_key_whitespace_is_dropped_everywhere(
    raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_api_key(raw) == TEST_KEY  # an explicit argument, e.g. open(...).read()
    with simulator.serve(api_key=TEST_KEY) as sim:  # answers only the exact key
        with Client(api_key=raw, base_url=sim.base_url, max_retries=0) as client:
            assert client.chat(BODY).finish_reason == "stop"
        (tmp_path / ".env").write_text(f'XAI_API_KEY="{raw}"', encoding="utf-8")
        assert find_api_key() == TEST_KEY
        with Client(base_url=sim.base_url, max_retries=0) as client:
            assert client.chat(BODY).finish_reason == "stop"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("“" + TEST_KEY + "”", "U+201C LEFT DOUBLE QUOTATION MARK"),
        (TEST_KEY[:10] + "é" + TEST_KEY[10:], "non-ASCII character at position 11"),
        (TEST_KEY[:10] + "\u200b" + TEST_KEY[10:], "U+200B ZERO WIDTH SPACE"),
        (TEST_KEY[:10] + " " + TEST_KEY[10:], "whitespace or a control character"),
    ],
    ids=["curly-quotes", "accent", "zero-width", "inner-space"],
)
def test_a_key_a_header_cannot_carry_is_a_clear_error(
    sim: Any, monkeypatch: pytest.MonkeyPatch, key: str, reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("XAI_API_KEY", key)
    with pytest.raises(KeyFormatError) as info, Client(max_retries=0) as client:
        client.chat(BODY)
    error = info.value
    assert isinstance(error, MissingKeyError) and isinstance(error, ConfigError)
    assert "XAI_API_KEY" in str(error) and reason in str(error)
    assert "environment variable" in str(error)
    assert not isinstance(error.__context__, UnicodeError)
    text = all_text(error) + caplog.text
    assert TEST_KEY[:8] not in text and TEST_KEY[12:24] not in text
    assert sim.requests == []  # nothing was sent
    with pytest.raises(KeyFormatError, match="the api_key argument"):
        require_api_key(key)


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:{PASSWORD}@api.x.ai/v1",
        f"http://{PASSWORD}@127.0.0.1:9/v1",
        f"https://user:{PASSWORD}@proxy.example/v1?x=1",
    ],
)
def test_base_url_with_credentials_is_refused_without_showing_them(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    with pytest.raises(ConfigError) as given:
        Client(base_url=url)
    assert "base_url" in str(given.value) and "***@" in str(given.value)
    assert "XAI_API_KEY" in str(given.value)
    monkeypatch.setenv("XAI_BASE_URL", url)
    client = Client()
    assert "<invalid>" in repr(client)
    with pytest.raises(ConfigError, match="XAI_BASE_URL") as from_env:
        client.chat(BODY)
    client.close()
    seen = [all_text(given.value), all_text(from_env.value), repr(client), repr(vars(client))]
    seen.append(caplog.text)
    for text in seen:
        assert PASSWORD not in text and TEST_KEY not in text


def test_grok_error_for_every_key_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("", "   ", "\n"):
        monkeypatch.setenv("XAI_API_KEY", value)
        with pytest.raises(MissingKeyError):
            require_api_key()
    monkeypatch.setenv("XAI_API_KEY", "‘xai-abc’")
    with pytest.raises(GrokError):
        require_api_key()
