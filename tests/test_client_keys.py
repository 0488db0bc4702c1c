"""Key and base URL lookup, and a scan proving the key never leaks anywhere."""

from __future__ import annotations

import logging
import os
import pickle
import traceback

import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    MODEL,
    FakeImage,
    Sleeps,
    isolated_env_fixture,
    scan_for_key,
    sim_fixture,
)

from grok_nb.api.client import Client
from grok_nb.api.credentials import (
    DEFAULT_BASE_URL,
    Secret,
    find_api_key,
    redact,
    require_api_key,
    resolve_base_url,
)
from grok_nb.api.request import build_chat_request
from grok_nb.errors import ConfigError, GrokError, MissingKeyError


def test_key_lookup_order(monkeypatch, isolated_env):
    cwd = isolated_env / "cwd"
    assert find_api_key() is None
    (cwd / ".env").write_text("XAI_API_KEY=xai-from-dotenv-file-0123456789\n")
    assert find_api_key() == "xai-from-dotenv-file-0123456789"
    monkeypatch.setenv("XAI_API_KEY", "xai-from-environment-0123456789")
    assert find_api_key() == "xai-from-environment-0123456789"
    assert find_api_key("xai-explicit-argument-0123456789") == "xai-explicit-argument-0123456789"
    assert find_api_key(Secret("xai-secret-0123456789abcdef")) == "xai-secret-0123456789abcdef"
    monkeypatch.setenv("XAI_API_KEY", "   ")  # blank counts as unset
    assert find_api_key() == "xai-from-dotenv-file-0123456789"
    assert os.environ["XAI_API_KEY"] == "   "  # .env values are never copied into os.environ


def test_missing_key_says_how_to_set_one():
    with pytest.raises(MissingKeyError) as info:
        require_api_key()
    msg = str(info.value)
    assert "export XAI_API_KEY=" in msg and ".env" in msg and "%env" in msg
    assert "grok_nb.simulator" in msg and "grok-nb simulate" in msg


def test_base_url_lookup_and_validation(monkeypatch, isolated_env):
    assert resolve_base_url() == DEFAULT_BASE_URL
    (isolated_env / "cwd" / ".env").write_text("XAI_BASE_URL=http://127.0.0.1:9/v1/\n")
    assert resolve_base_url() == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("XAI_BASE_URL", "api.x.ai/v1")
    with pytest.raises(ConfigError, match=r"XAI_BASE_URL environment variable is 'api\.x\.ai/v1'"):
        resolve_base_url()
    assert resolve_base_url("https://proxy.example/v1") == "https://proxy.example/v1"
    with pytest.raises(ConfigError, match="base_url"):
        Client(api_key=KEY, base_url="ftp://x").chat(build_chat_request(["hi"], model=MODEL))


def test_secret_hides_itself():
    s = Secret(KEY)
    assert KEY not in repr(s) and KEY not in str(s) and KEY not in f"{s}"
    with pytest.raises(TypeError):
        pickle.dumps(s)
    assert s == Secret(KEY) and s.get() == KEY


def test_redact_masks_the_key_and_anything_shaped_like_one():
    text = f"echo {KEY} and xai-someOtherKeyThatLooksReal1234 but not xai-short"
    out = redact(text, [KEY])
    assert KEY not in out and "someOtherKey" not in out and "xai-short" in out


def _attempt(client: Client, body: dict) -> list[object]:
    """One call; every text its error can produce, tracebacks with locals included.

    Kept in its own frame so the tracebacks' locals are this call's, not the
    growing list of everything seen so far.
    """
    try:
        client.chat(body)
        return []
    except GrokError as exc:
        out: list[object] = [str(exc), repr(exc), exc.args, getattr(exc, "body", None)]
        out += list(getattr(exc, "__notes__", []))
        out.append("".join(traceback.format_exception(exc)))
        tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
        out.append("".join(tb.format()))
        from IPython.core.ultratb import VerboseTB

        # IPython's %xmode Verbose shows local variables and evaluated expressions
        out.append(VerboseTB(theme_name="nocolor").text(type(exc), exc, exc.__traceback__))
        partial = getattr(exc, "answer", None)
        if partial is not None:
            out += [partial, partial._repr_markdown_(), partial.to_dict()]
        return out


def _run_everything(sim, caplog) -> list[object]:
    """Every path that can produce text: answers, errors of each kind, logs."""
    seen: list[object] = []
    client = Client(api_key=KEY, base_url=sim.base_url, sleep=Sleeps(), timeout_s=0.5)
    seen += [client, repr(client), vars(client)]
    body = build_chat_request(["Describe", FakeImage()], model=MODEL)
    plain = build_chat_request(["Describe", FakeImage()], model=MODEL, stream=False)
    answer = client.chat(body)
    seen += [answer, answer._repr_markdown_(), answer.to_dict(), answer.request]
    faults = [
        ("bad_key", {}), ("credits", {}), ("400", {"shape": "text", "message": f"echo {KEY}"}),
        ("400", {"shape": "openai", "message": f"echo {KEY}"}), ("404", {}),
        ("reset", {"after_chunks": 2}), ("truncate", {}), ("malformed", {}),
        ("error_event", {"message": f"boom {KEY}"}), ("stall", {"after_chunks": 2, "stall_s": 2}),
    ]  # fmt: skip
    for kind, options in faults:
        for _ in range(3):  # enough for the retried kinds to surface as errors too
            sim.inject(kind, **options)
        for b in (body, plain):
            seen += _attempt(client, b)
        sim.faults.clear()

    def interrupt(_: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        client.chat(body, on_delta=interrupt)
    seen += [info.value.partial_answer, info.value.partial_answer.to_dict()]
    seen += client.models(), client.language_models()
    client.close()
    seen += [r.getMessage() for r in caplog.records] + [caplog.text]
    return seen


def test_the_key_never_appears_in_errors_answers_logs_or_files(sim, caplog, isolated_env):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    seen = _run_everything(sim, caplog)
    assert len(seen) > 100 and len(caplog.records) > 20
    scan_for_key(*seen)
    written = [p for p in isolated_env.rglob("*") if p.is_file()]
    assert written, "the model cache should have been written"
    for path in written:
        scan_for_key(path.read_bytes().decode("utf-8", "replace"))
    # the server did receive the key: the scan would have caught a leak
    assert any("Incorrect API key" in str(s) for s in seen)
