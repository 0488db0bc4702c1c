"""End to end: after a session of real use, the key is in no output, log, error or file."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY
from PIL import Image

import grok_nb
from grok_nb.api.request import redact_request
from grok_nb.asking import plan_call


def test_key_appears_nowhere(sim: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    img = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    seen: list[str] = []

    answer = grok_nb.ask("Describe.", img, on_delta=seen.append)
    cached = grok_nb.ask("Describe.", img)
    seen += [repr(answer), str(answer), answer._repr_markdown_(), repr(cached), str(answer.request)]
    seen.append(str(redact_request(plan_call("Dry run.", [img]).body)))

    sim.inject("bad_key")
    with pytest.raises(grok_nb.AuthenticationError) as rejected:
        grok_nb.ask("Again.", img, cache="off")
    seen += [str(rejected.value), repr(rejected.value), repr(rejected.value.body)]
    sim.inject("500")
    sim.inject("500")
    sim.inject("500")
    with pytest.raises(grok_nb.InternalServerError) as failed:
        grok_nb.ask("Once more.", img, cache="off")
    seen.append(str(failed.value))

    batch = grok_nb.ask_many([img, tmp_path / "missing.png"], "Batch.", progress=False)
    seen += [repr(a) for a in batch] + [str(a.error) for a in batch]
    from grok_nb.api.catalogue import language_models

    client = grok_nb.Client()
    seen += [repr(client), repr(language_models(client, refresh=True)[:2])]
    client.close()
    seen.append(str(grok_nb.calibrate()))

    blob = "\n".join(seen) + caplog.text
    assert "Incorrect API key" in blob or "rejected" in blob  # the errors really were seen
    assert TEST_KEY not in blob
    written = [
        p
        for root in (os.environ["GROK_NB_CACHE_DIR"], os.environ["XDG_CACHE_HOME"], str(tmp_path))
        if Path(root).exists()
        for p in Path(root).rglob("*")
        if p.is_file()
    ]
    assert any(p.suffix == ".sqlite3" for p in written)  # the cache really was written
    for path in written:
        assert TEST_KEY.encode() not in path.read_bytes(), path
