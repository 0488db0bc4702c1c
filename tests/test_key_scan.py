"""The key, planted where messages are cut and where JSON keeps its object keys, never
shows: served by the simulator over loopback HTTP, scanned in errors, logs and files.

Every text grok_nb quotes from a server is cut somewhere (500 characters of an error
message, 200 of a stream error event, 80 of a body that is not JSON or of a malformed
stream event). Cutting before redacting leaves a key's first characters, which no
longer look like a key; these tests put the key just before and just after each cut.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY
from PIL import Image

import grok_nb
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request
from grok_nb.errors import GrokError
from grok_nb.redact import MASK, redact, redact_obj, redact_truncate

PREFIX = TEST_KEY[:8]  # any leaked prefix of 8+ characters contains this one
MODEL = "grok-4-1-fast-non-reasoning"


def offsets(limit: int) -> list[int]:
    """Where the key starts: wholly before the cut, across it, just after it."""
    n = len(TEST_KEY)
    return sorted({limit - n - 1, limit - n, limit - n + 1, limit - 12, limit - 8, limit - 7,
                   limit - 1, limit, limit + 1})  # fmt: skip


def planted(offset: int, filler: str = "x") -> str:
    return filler * offset + TEST_KEY + " tail"


def texts_of(exc: BaseException) -> list[str]:
    out = [str(exc), repr(exc), repr(exc.args), repr(getattr(exc, "body", None))]
    out += list(getattr(exc, "__notes__", []))
    out.append("".join(traceback.format_exception(exc)))
    partial = getattr(exc, "answer", None)
    if partial is not None:
        out += [repr(partial), json.dumps(partial.to_dict(), default=str)]
    return out


def assert_clean(*texts: str) -> None:
    for text in texts:
        at = text.find(PREFIX)
        assert at < 0, f"key prefix leaked: ...{text[max(at - 80, 0) : at + 40]!r}"


def files_under(*roots: str | Path) -> list[Path]:
    return [p for r in roots if Path(r).exists() for p in Path(r).rglob("*") if p.is_file()]


def _fail(client: Client, body: dict[str, Any]) -> list[str]:
    try:
        client.chat(body)
    except GrokError as exc:
        return texts_of(exc)
    raise AssertionError("the fault did not surface as an error")


@pytest.fixture
def client(sim: Any) -> Any:
    with Client(max_retries=0) as c:  # the key and base URL come from the environment
        yield c


STREAM = build_chat_request(["Describe."], model=MODEL)
PLAIN = build_chat_request(["Describe."], model=MODEL, stream=False)


# -- the scrubber itself ---------------------------------------------------------------


@pytest.mark.parametrize("limit", [80, 200, 500])
def test_redact_then_truncate_leaves_no_prefix_at_any_cut(limit: int) -> None:
    for offset in offsets(limit):
        text = planted(offset)
        assert_clean(redact_truncate(text, limit, [TEST_KEY]))
        assert_clean(redact_truncate(text, limit))  # by shape alone, too
        # the wrong order is exactly the bug: a key cut to under "xai-" + 16 characters
        # is no longer recognisable, by value or by shape
        if 8 <= limit - offset < 20:
            assert PREFIX in redact(text[:limit], [TEST_KEY])


def test_redact_obj_masks_object_keys_and_values() -> None:
    body = {TEST_KEY: {"nested": [TEST_KEY, {f"k-{TEST_KEY}": 1}]}, "ok": "fine"}
    out = redact_obj(body, [TEST_KEY])
    assert_clean(json.dumps(out))
    assert out["ok"] == "fine" and MASK in out


# -- over loopback HTTP ----------------------------------------------------------------


@pytest.mark.parametrize("offset", offsets(500))
@pytest.mark.parametrize("shape", ["xai", "openai", "string", "text"])
def test_error_messages_cut_at_500(sim: Any, client: Client, offset: int, shape: str) -> None:
    sim.inject("422", shape=shape, message=planted(offset))
    assert_clean(*_fail(client, PLAIN))


@pytest.mark.parametrize("offset", offsets(500))
def test_rejected_key_message_cut_at_500(sim: Any, client: Client, offset: int) -> None:
    sim.inject("400", message="Incorrect API key provided: " + planted(offset))
    seen = _fail(client, STREAM)
    assert "the API key was rejected" in seen[0]
    assert_clean(*seen)


@pytest.mark.parametrize(
    "body",
    [
        {TEST_KEY: "an object key", "error": "bad request"},
        {"error": {TEST_KEY: "deep", "message": "bad"}, "detail": {TEST_KEY: [1, 2]}},
        {"code": "invalid-argument", "error": {"message": {TEST_KEY: "the message is a dict"}}},
        {"error": ["x" * 480, TEST_KEY]},  # the message is the list's text, cut at 500
    ],
    ids=["top-level", "nested", "message-dict", "list"],
)
def test_key_as_an_object_key_in_error_bodies(sim: Any, client: Client, body: Any) -> None:
    sim.inject("400", shape="raw", message=json.dumps(body))
    assert_clean(*_fail(client, PLAIN))


def test_key_json_escaped_in_an_error_body(sim: Any, client: Client) -> None:
    escaped = "\\u0078" + TEST_KEY[1:]  # "xai-..." with its x written as \u0078
    sim.inject("400", shape="raw", message='{"error": "echo ' + escaped + '"}')
    assert_clean(*_fail(client, PLAIN))


@pytest.mark.parametrize("offset", offsets(80))
def test_body_that_is_not_json_cut_at_80(sim: Any, client: Client, offset: int) -> None:
    sim.inject("malformed", message=planted(offset))
    seen = _fail(client, PLAIN)
    assert "not JSON" in seen[0]
    assert_clean(*seen)


@pytest.mark.parametrize("offset", offsets(80))
def test_malformed_stream_event_cut_at_80(sim: Any, client: Client, offset: int) -> None:
    sim.inject("malformed", after_chunks=0, message=planted(offset))
    seen = _fail(client, STREAM)
    assert "malformed stream event" in seen[0]
    assert_clean(*seen)


@pytest.mark.parametrize("offset", offsets(200))
def test_named_stream_error_event_cut_at_200(sim: Any, client: Client, offset: int) -> None:
    sim.inject("error_event", after_chunks=2, shape="text", message=planted(offset))
    seen = _fail(client, STREAM)
    assert "reported an error mid-answer" in seen[0]
    assert_clean(*seen)


@pytest.mark.parametrize("offset", offsets(200))
def test_json_stream_error_event(sim: Any, client: Client, offset: int) -> None:
    sim.inject("error_event", after_chunks=0, message=planted(offset))
    assert_clean(*_fail(client, STREAM))


def test_no_prefix_in_logs_or_cache_files(
    sim: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    seen: list[str] = []
    img = Image.new("RGB", (320, 200), (10, 120, 200))
    # a short prompt holding the key: echoed whole by the simulator, stored with the answer
    answer = grok_nb.ask(f"Is {TEST_KEY} a key?", img, cache_path=str(tmp_path / "c.sqlite3"))
    again = grok_nb.ask(f"Is {TEST_KEY} a key?", img, cache_path=str(tmp_path / "c.sqlite3"))
    assert again.cached and MASK in answer.text
    seen += [answer.text, repr(answer), json.dumps(answer.to_dict(), default=str)]
    # a 200 whose answer text holds the key right at a cut: scrubbed before it is kept
    completion = {
        "id": "c1", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": planted(75)}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }  # fmt: skip
    sim.inject("malformed", message=json.dumps(completion))
    echoed = grok_nb.ask("Echo.", img, stream=False, cache_path=str(tmp_path / "c.sqlite3"))
    assert echoed.text.startswith("x" * 75 + MASK)
    seen.append(repr(echoed.to_dict()))
    for offset in (490, 495, 500):
        sim.inject("422", message=planted(offset))
        with pytest.raises(GrokError) as info:
            grok_nb.ask("Fail.", img, cache="off", max_retries=0)
        seen += texts_of(info.value)
    blob = "\n".join(seen) + caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert_clean(blob)
    written = files_under(os.environ["GROK_NB_CACHE_DIR"], tmp_path)
    assert any(p.suffix == ".sqlite3" for p in written)
    for path in written:
        assert PREFIX.encode() not in path.read_bytes(), path
