"""An answer that echoes the key never shows it: not live, not in the saved notebook,
not in the cache (the cache redacts on its own; the display must too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TEST_KEY as KEY
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from grok_nb.api.client import Client
from grok_nb.cache.responses import ResponseCache
from grok_nb.settings import GrokVision


@pytest.fixture
def shell(tmp_path: Path) -> Any:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    settings = GrokVision.instance()
    saved = settings.options()
    settings.cache_path = str(tmp_path / "cache.sqlite3")
    yield ip
    for name, value in saved.items():
        setattr(settings, name, value)


def test_the_magic_never_shows_an_echoed_key(shell: Any, sim: Any, tmp_path: Path) -> None:
    shell.user_ns["pic"] = Image.new("RGB", (64, 48), (200, 30, 30))
    with capture_output() as captured:  # every live frame, and the final view
        shell.run_cell_magic("grokvision", "pic -o ans", f"Repeat after me: {KEY} please")
    outputs = [o.data for o in captured.outputs]
    assert len(outputs) >= 2  # the answer streamed live, then the final view
    assert "simulator" in json.dumps(outputs).lower()
    ans = shell.user_ns["ans"]
    assert "Repeat after me" in ans.text  # the simulator did echo the prompt
    shown = json.dumps(outputs) + captured.stdout + captured.stderr + ans.text + repr(ans)
    assert KEY not in shown
    cache = ResponseCache(tmp_path / "cache.sqlite3")
    stored = [cache.get(k) for k in [ans_key(cache)]]
    assert stored[0] is not None and KEY not in json.dumps(stored[0].record)
    cache.close()


def ans_key(cache: ResponseCache) -> str:
    import sqlite3

    conn = sqlite3.connect(cache.path)
    (key,) = conn.execute("SELECT key FROM responses").fetchone()
    conn.close()
    return str(key)


def split_key_stream(request: httpx.Request) -> httpx.Response:
    # A real model streams a key as many tokens: no single event holds it whole.
    pieces = ["Your key is ", KEY[:9], KEY[9:20], KEY[20:], "."]
    events = [
        {"id": "c1", "model": "grok-4", "choices": [{"index": 0, "delta": {"content": p}}]}
        for p in pieces
    ]
    events.append(
        {"id": "c1", "model": "grok-4", "choices": [{"index": 0, "delta": {},
         "finish_reason": "stop"}]}
    )  # fmt: skip
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def test_a_key_split_across_stream_events_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_KEY", KEY)
    client = Client(
        base_url="http://127.0.0.1:9/v1", transport=httpx.MockTransport(split_key_stream)
    )
    live: list[str] = []
    answer = client.chat({"model": "grok-4", "messages": [], "stream": True}, on_delta=live.append)
    client.close()
    assert answer.text.startswith("Your key is ")
    assert KEY not in "".join(live) and KEY not in answer.text
