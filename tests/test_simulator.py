"""The simulator on its own, spoken to with plain httpx: validation, usage, faults, CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
from client_fixtures import MODEL, FakeImage, isolated_env_fixture, sim_fixture  # noqa: F401
from PIL import Image

import grok_nb
from grok_nb import simulator
from grok_nb.simulator import Fault
from grok_nb.simulator.jsonfill import instance_for
from grok_nb.tiling import plan

AUTH = {"Authorization": "Bearer any-key"}


def _post(s, body, headers=AUTH, **kw) -> httpx.Response:
    return httpx.post(
        s.base_url + "/chat/completions", json=body, headers=headers, timeout=10, **kw
    )


def _body(*parts, model=MODEL, **extra):
    content = [p if isinstance(p, dict) else {"type": "text", "text": p} for p in parts]
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def _image_part(url: str, detail: str | None = "high") -> dict:
    image = {"url": url} if detail is None else {"url": url, "detail": detail}
    return {"type": "image_url", "image_url": image}


def test_answer_is_labelled_deterministic_and_measures_each_image(sim):
    stripes = Image.new("RGB", (900, 300), "white")
    stripes.paste((0, 0, 255), (0, 0, 450, 300))
    buf = io.BytesIO()
    stripes.save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    body = _body("What colours?", _image_part(url), _image_part(FakeImage().data_url, "low"))
    first, second = _post(sim, body).json(), _post(sim, body).json()
    text = first["choices"][0]["message"]["content"]
    assert text == second["choices"][0]["message"]["content"]  # deterministic
    assert text.startswith("**[grok_nb simulator — offline, not a model]**")
    assert "no model looked at the images" in text and "“What colours?”" in text
    assert "Image 1: 900×300 PNG" in text and "3×1 grid + 1 extra tile = 1,024 tokens" in text
    assert "#0000ff blue 50%" in text and "#ffffff white 50%" in text
    assert "Image 2: 64×48 PNG" in text and "detail low" in text
    usage = first["usage"]
    expected = plan(900, 300).tokens + plan(64, 48, detail="low").tokens
    assert usage["prompt_tokens_details"]["image_tokens"] == expected
    assert first["id"] != second["id"]


@pytest.mark.parametrize("rule", ["xai-guide", "internvl", "ceil"])
def test_image_tokens_follow_the_chosen_rule(rule):
    with simulator.serve(rule=rule) as s:
        usage = _post(s, _body("x", _image_part(FakeImage((64, 64)).data_url))).json()["usage"]
    assert usage["prompt_tokens_details"]["image_tokens"] == plan(64, 64, rule=rule).tokens


def test_cost_ticks_are_exact_from_list_prices(sim):
    usage = _post(sim, _body("x" * 400, model="grok-4.3")).json()["usage"]
    d = usage["prompt_tokens_details"]
    # grok-4.3: 12500 / 2000 / 25000 US cents per 100M tokens = ticks per token
    uncached = d["text_tokens"] - d["cached_tokens"]
    expected = uncached * 12500 + d["cached_tokens"] * 2000 + usage["completion_tokens"] * 25000
    assert usage["cost_in_usd_ticks"] == expected
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    reasoning = _post(sim, _body("x", model="grok-4.20-reasoning")).json()
    assert reasoning["model"] == "grok-4.20-0309-reasoning"
    assert reasoning["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_history_images_are_billed_and_mentioned(sim):
    url = FakeImage().data_url
    body = {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": [_image_part(url), {"type": "text", "text": "one"}]},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": "and now?"},
        ],
    }
    reply = _post(sim, body).json()
    assert "Plus 1 image from earlier messages" in reply["choices"][0]["message"]["content"]
    assert reply["usage"]["prompt_tokens_details"]["image_tokens"] == plan(64, 48).tokens


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body["error"] if isinstance(body, dict) else body


@pytest.mark.parametrize(
    ("make", "status", "needle"),
    [
        (lambda: _body("x", _image_part(FakeImage(fmt="JPEG", mime="image/png").data_url)),
         400, "says image/png but the bytes are image/jpeg"),
        (lambda: _body(_image_part("data:image/png;base64,iVBORw0KGgo=")),
         400, "could not be decoded"),
        (lambda: _body(_image_part("data:image/png;base64,@@@@")), 400, "not valid base64"),
        (lambda: _body(_image_part("data:image/gif;base64,R0lGODlh")),
         400, "unsupported image type"),
        (lambda: _body(_image_part("file:///etc/passwd")), 400, "unsupported image URL"),
        (lambda: _body(_image_part(FakeImage().data_url, "medium")),
         422, "unknown variant `medium`"),
        (lambda: _body({"type": "audio", "audio": "x"}), 422, "unknown variant `audio`"),
        (lambda: _body({"type": "image_url", "image_url": "http://x"}), 422, "missing field `url`"),
        (lambda: {"messages": [{"role": "user", "content": "x"}]}, 422, "missing field `model`"),
        (lambda: {"model": MODEL, "messages": []}, 422, "non-empty"),
        (lambda: {"model": MODEL, "messages": [{"role": "bot", "content": "x"}]}, 422, "role"),
        (lambda: _body("x", model="grok-99"), 404, "The model grok-99 does not exist"),
        (lambda: _body("x", _image_part(FakeImage().data_url), model="grok-code-fast-1"),
         400, "does not support image input"),
        (lambda: _body("x", temperature=3), 400, "temperature must be between 0 and 2"),
        (lambda: _body("x", max_completion_tokens=0), 400, "max_completion_tokens"),
        (lambda: _body("x", model="grok-4.20-0309-reasoning", presence_penalty=1), 400,
         "not supported on this model: presence_penalty"),
        (lambda: _body("x", response_format={"type": "json_schema", "json_schema": {
            "name": "a", "schema": {"type": "string", "maxLength": 3}}}), 400, "`maxLength`"),
        (lambda: _body("x", response_format={"type": "yaml"}), 422, "response_format.type"),
    ],
)  # fmt: skip
def test_validation_like_the_real_service(sim, make, status, needle):
    response = _post(sim, make())
    assert response.status_code == status, response.text
    assert needle in _error(response)
    if status == 400:
        assert response.json()["code"] == "Client specified an invalid argument"


def test_ten_mib_limit(sim):
    over = b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024)
    url = "data:image/png;base64," + base64.b64encode(over).decode()
    response = _post(sim, _body(_image_part(url)))
    assert response.status_code == 400 and "10 MiB" in response.json()["error"]


def test_http_url_images_are_not_fetched_but_counted_at_the_maximum(sim):
    reply = _post(sim, _body("x", _image_part("https://example.com/cat.png"))).json()
    text = reply["choices"][0]["message"]["content"]
    assert "not fetched (the simulator is offline)" in text and "example.com" in text
    assert reply["usage"]["prompt_tokens_details"]["image_tokens"] == 1792


def test_headers_and_auth(sim):
    raw = json.dumps(_body("x")).encode()
    no_type = httpx.post(sim.base_url + "/chat/completions", content=raw, headers=AUTH)
    assert no_type.status_code == 415 and "Content-Type: application/json" in no_type.text
    assert no_type.headers["content-type"].startswith("text/plain")
    empty = httpx.post(
        sim.base_url + "/chat/completions", content=b"",
        headers={**AUTH, "Content-Type": "application/json"},
    )  # fmt: skip
    assert empty.status_code == 415
    assert _post(sim, _body("x"), headers={}).status_code == 401
    assert _post(sim, _body("x"), headers={"Authorization": "Basic abc"}).status_code == 401
    assert httpx.get(sim.base_url + "/nothing", headers=AUTH).status_code == 404
    with simulator.serve(api_key="right") as s:
        wrong = _post(s, _body("x"))
        assert wrong.status_code == 400
        assert wrong.json() == {
            "code": "Client specified an invalid argument",
            "error": "Incorrect API key provided: ***. You can obtain an API key from "
            "https://console.x.ai.",
        }
        assert _post(s, _body("x"), headers={"Authorization": "Bearer right"}).status_code == 200


def test_listings(sim):
    models = httpx.get(sim.base_url + "/models", headers=AUTH).json()
    ids = [m["id"] for m in models["data"]]
    assert models["object"] == "list" and "grok-4.3" in ids and ids == sorted(ids)
    listing = httpx.get(sim.base_url + "/language-models", headers=AUTH).json()["models"]
    by_id = {m["id"]: m for m in listing}
    assert by_id["grok-4.3"]["prompt_text_token_price"] == 12500  # $1.25 per million
    assert by_id["grok-code-fast-1"]["input_modalities"] == ["text"]
    one = httpx.get(sim.base_url + "/language-models/grok-4-1-fast", headers=AUTH).json()
    assert one["id"] == "grok-4.3"  # an alias answers as its target
    assert httpx.get(sim.base_url + "/models/nope", headers=AUTH).status_code == 404


def test_stream_format_keep_alive_and_stats(sim):
    body = _body("hi", stream=True, stream_options={"include_usage": True})
    with httpx.Client(headers=AUTH) as client:
        texts = [client.post(sim.base_url + "/chat/completions", json=body).text for _ in range(3)]
    assert texts[0].endswith("data: [DONE]\n\n")
    events = [e for e in texts[0].split("\n\n") if e]
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert (
        chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 2
    )
    no_usage = httpx.post(
        sim.base_url + "/chat/completions", json=_body("hi", stream=True), headers=AUTH
    ).text
    assert '"usage"' not in no_usage  # include_usage not asked for
    stats = sim.stats
    assert stats["requests"] == 4 and stats["chat_requests"] == 4 and stats["by_status"] == {200: 4}


def test_structured_answers_validate_against_the_schema(sim):
    schema = {
        "type": "object",
        "properties": {
            "caption": {"type": "string"},
            "count": {"type": "integer", "minimum": 3},
            "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "when": {"type": "string", "format": "date"},
            "kind": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Kind"}]},
            "flag": {"type": ["boolean", "null"]},
            "fixed": {"const": 7},
        },
        "required": ["caption", "count"],
        "$defs": {"Kind": {"type": "string", "enum": ["x", "y"]}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    reply = _post(sim, _body("x", response_format=fmt)).json()
    value = json.loads(reply["choices"][0]["message"]["content"])
    jsonschema.validate(value, schema)
    assert value["caption"] == "simulated caption" and value["kind"] == "x"
    assert value["count"] == 3 and 0 < value["score"] <= 1
    as_object = _post(sim, _body("x", response_format={"type": "json_object"})).json()
    assert json.loads(as_object["choices"][0]["message"]["content"])["simulator"]


def test_instance_for_edge_cases():
    assert instance_for({"type": "array", "items": {"type": "integer"}, "minItems": 3}) == [0, 0, 0]
    assert instance_for({"type": "string", "minLength": 15}) == "simulated value"
    assert instance_for({"type": "string", "maxLength": 4}) == "simu"
    assert instance_for({"type": "integer", "multipleOf": 5, "minimum": 7}) == 10
    assert instance_for({"oneOf": [{"type": "null"}, {"type": "boolean"}]}) is False
    assert instance_for({"default": {"a": 1}}) == {"a": 1}


def test_fault_specs():
    assert Fault.parse("429:retry_after=2").retry_after == 2.0
    f = Fault.parse("reset:after_chunks=3,path=/chat/completions")
    assert (f.kind, f.after_chunks, f.path) == ("reset", 3, "/chat/completions")
    assert Fault("stall").after_chunks == 0 and Fault("malformed").after_chunks == 2
    assert Fault("reset").path == "/chat/completions" and Fault("503").path is None
    for bad in ("teapot", "200", "429:colour=red"):
        with pytest.raises(ValueError):
            Fault.parse(bad)
    with pytest.raises(ValueError, match="error shape"):
        Fault("500", shape="xml")


def test_faults_are_taken_in_order_and_by_path(sim):
    sim.inject("503")
    sim.inject("429", retry_after=1.5)
    sim.inject(Fault("500", path="/chat/completions"))
    assert httpx.get(sim.base_url + "/models", headers=AUTH).status_code == 503
    limited = httpx.get(sim.base_url + "/models", headers=AUTH)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1.5"
    assert httpx.get(sim.base_url + "/models", headers=AUTH).status_code == 200  # 500 waits
    assert _post(sim, _body("x")).status_code == 500
    assert sim.stats["faults_fired"] == 3 and sim.stats["faults_pending"] == 0


def test_command_line_runs_the_simulator():
    # the test runs in a temporary working directory: point the child at this checkout
    env = {**os.environ, "PYTHONPATH": str(Path(grok_nb.__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_nb.simulator", "--port", "0", "--rule", "ceil",
         "--fault", "503", "--usage", "every"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert "offline, not a model" in line
        base = line.split("listening on ")[1].strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")
        assert "export XAI_BASE_URL=" + base in proc.stdout.readline()
        assert httpx.get(base + "/models", headers=AUTH).status_code == 503
        assert httpx.get(base + "/models", headers=AUTH).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run(
        [sys.executable, "-m", "grok_nb.simulator", "--fault", "teapot"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown fault 'teapot'" in bad.stderr


def test_main_reports_a_busy_port(sim, capsys):
    assert simulator.main(["--port", str(sim.port)]) == 1
    assert f"cannot listen on 127.0.0.1:{sim.port}" in capsys.readouterr().err


def test_an_internal_failure_still_answers(sim, monkeypatch):
    import grok_nb.simulator.server as server

    def broken(*args, **kwargs):
        raise RuntimeError("oops")

    monkeypatch.setattr(server, "make_reply", broken)
    response = _post(sim, _body("x"))
    assert response.status_code == 500
    assert response.json()["error"] == "grok_nb simulator error: RuntimeError: oops"


def test_stop_releases_stalled_and_idle_connections():
    import threading
    import time

    s = simulator.serve(faults=[Fault("stall", stall_s=60)])
    sim = s.__enter__()
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(_post(sim, _body("x")).status_code)
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.3)  # the request is now stalled inside the server
    started = time.perf_counter()
    s.__exit__(None, None, None)
    worker.join(timeout=10)
    assert not worker.is_alive() and time.perf_counter() - started < 5
    assert outcome and outcome[0] != 200
