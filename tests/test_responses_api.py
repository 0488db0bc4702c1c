"""The Responses API (POST /v1/responses) beside Chat Completions.

Request bodies grok_nb builds are held to the vendored ``ModelRequest`` schema, the
simulator's replies (whole and streamed) to ``ModelResponse``; the official ``openai``
client's ``responses.create`` gets the same text and usage from the simulator as
grok_nb does; the response cache never serves an answer of one API to the other.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    FakeImage,
    isolated_env_fixture,
    openapi_validator,
    sim_fixture,
)
from openai import OpenAI
from PIL import Image
from pydantic import BaseModel, Field

from grok_nb import simulator
from grok_nb.answer import Usage
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request, redact_request
from grok_nb.api.responses_body import build_responses_request, responses_body
from grok_nb.api.responses_stream import ResponsesState
from grok_nb.api.sse import SSEDecoder
from grok_nb.calls import plan_call, send
from grok_nb.errors import APIConnectionError, ConfigError


class Caption(BaseModel):
    text: str = Field(max_length=80)
    objects: list[str] = Field(min_length=1)


def _picture(colour: str = "red") -> Image.Image:
    return Image.new("RGB", (320, 240), colour)


def _chat_bodies() -> list[dict[str, Any]]:
    png, jpeg = FakeImage(), FakeImage((500, 300), fmt="JPEG", detail="low")
    history = [
        {"role": "user", "content": [{"type": "text", "text": "earlier"},
                                     {"type": "image_url", "image_url": {"url": png.data_url}}]},
        {"role": "assistant", "content": "ok"},
    ]  # fmt: skip
    return [
        build_chat_request("Just text.", model="grok-4.3"),
        build_chat_request(["Describe", png], model="grok-4.3", stream=False),
        build_chat_request(
            ["A", png, "B", jpeg],
            model="grok-4.20-reasoning",
            system="Be brief.",
            temperature=0.2,
            max_tokens=64,
            seed=7,
        ),
        build_chat_request([png], model="grok-4.3", schema=Caption),
        build_chat_request("again?", model="grok-4.3", history=history, system="S"),
    ]


def _responses_bodies() -> list[dict[str, Any]]:
    out = [responses_body(b) for b in _chat_bodies()]
    out += [responses_body(b, conv_id="conv-123") for b in _chat_bodies()]
    out.append(build_responses_request(["x", FakeImage()], model="grok-4.3", conv_id="c"))
    return out


def test_every_responses_body_validates_against_model_request() -> None:
    validator = openapi_validator("ModelRequest")
    for body in _responses_bodies():
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], body
        assert "messages" not in body and "stream_options" not in body


def test_the_body_maps_each_chat_field() -> None:
    chat = _chat_bodies()[2]
    body = responses_body(chat, conv_id="abc")
    assert body["instructions"] == "Be brief."
    assert body["max_output_tokens"] == 64 and body["temperature"] == 0.2
    assert body["store"] is False and body["prompt_cache_key"] == "abc"
    parts = body["input"][0]["content"]
    assert [p["type"] for p in parts] == ["input_text", "input_image", "input_text", "input_image"]
    assert isinstance(parts[1]["image_url"], str) and parts[1]["image_url"].startswith("data:")
    assert parts[3]["detail"] == "low"
    structured = responses_body(_chat_bodies()[3])
    fmt = structured["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "Caption"
    assert "maxLength" not in json.dumps(fmt["schema"])  # cleaned as for chat
    assert "store" not in responses_body(_chat_bodies()[0])  # no images: nothing to say
    history = responses_body(_chat_bodies()[4])["input"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[0]["content"][1]["type"] == "input_image"


def test_redaction_shortens_responses_image_urls() -> None:
    body = responses_body(_chat_bodies()[1])
    shown = redact_request(body)
    url = shown["input"][0]["content"][1]["image_url"]
    assert url.startswith("data:image/png;base64,") and url.endswith("bytes)")


def test_plan_call_with_api_responses(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
    call = plan_call(["Hi", _picture()], api="responses", cache="off", model="grok-4.3")
    assert call.path == "/responses" and "input" in call.body
    assert call.user_message["role"] == "user" and "content" in call.user_message
    assert call.estimate.image_tokens > 0
    chat = plan_call(["Hi", _picture()], cache="off", model="grok-4.3")
    assert chat.path == "/chat/completions" and "messages" in chat.body
    with pytest.raises(ConfigError):
        plan_call("Hi", api="soap")


def _response_objects(sim: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {KEY}"}
    whole = httpx.post(f"{sim.base_url}/responses", json={**body, "stream": False},
                       headers=headers).json()  # fmt: skip
    events = []
    with httpx.stream("POST", f"{sim.base_url}/responses", json={**body, "stream": True},
                      headers=headers) as r:  # fmt: skip
        decoder = SSEDecoder()
        for chunk in r.iter_bytes():
            events += decoder.feed(chunk)
        events += decoder.flush()
    parsed = [json.loads(e.data) for e in events]
    assert [e.event for e in events] == [p["type"] for p in parsed]
    assert parsed[0]["type"] == "response.created"
    assert parsed[-1]["type"] in ("response.completed", "response.incomplete")
    assert [p["sequence_number"] for p in parsed] == list(range(len(parsed)))
    return [whole] + [p["response"] for p in parsed if "response" in p]


def test_every_simulator_reply_validates_against_model_response(sim: Any) -> None:
    validator = openapi_validator("ModelResponse")
    for body in _responses_bodies():
        for obj in _response_objects(sim, body):
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]
            assert errors == [], obj
    final = _response_objects(sim, _responses_bodies()[1])[-1]
    assert final["status"] == "completed" and final["usage"]["output_tokens_details"]


def test_the_simulator_checks_responses_bodies(sim: Any) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    url = f"{sim.base_url}/responses"
    good = responses_body(_chat_bodies()[1])

    def status(body: Any) -> int:
        return httpx.post(url, json=body, headers=headers).status_code

    assert status(good) == 200
    assert status({k: v for k, v in good.items() if k != "input"}) == 422
    assert status({**good, "store": True}) == 400  # images need store: false
    assert status({**good, "previous_response_id": "resp_1"}) == 400
    bad_part = json.loads(json.dumps(good))
    bad_part["input"][0]["content"][1] = {"type": "input_image", "image_url": {"url": "x"}}
    assert status(bad_part) == 422  # image_url is a plain string on /responses
    assert status({**good, "max_output_tokens": "ten"}) == 422
    assert status({**good, "model": "grok-nonexistent"}) == 404


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
def test_openai_responses_create_gets_what_grok_nb_gets(sim: Any, stream: bool) -> None:
    chat = build_chat_request(
        ["Two images:", FakeImage((640, 480)), "and", FakeImage((200, 600), "navy", fmt="JPEG")],
        model="grok-4.20-reasoning", system="Answer briefly.", stream=stream,
    )  # fmt: skip
    body = responses_body(chat)
    with Client(api_key=KEY, base_url=sim.base_url) as ours:
        answer = ours.chat(body)
    theirs = OpenAI(api_key=KEY, base_url=sim.base_url, max_retries=0)
    kwargs = {k: body[k] for k in ("model", "input", "instructions", "store")}
    if stream:
        pieces, final, kinds = [], None, []
        for event in theirs.responses.create(stream=True, **kwargs):
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                pieces.append(event.delta)
            if event.type == "response.completed":
                final = event.response
        assert final is not None and kinds[0] == "response.created"
        text, response = "".join(pieces), final
        assert final.output_text == text
    else:
        response = theirs.responses.create(**kwargs)
        text = response.output_text
    assert text == answer.text and text
    assert response.model == answer.model == "grok-4.20-0309-reasoning"
    assert Usage.from_api(response.usage.model_dump()) == answer.usage
    assert response.usage.input_tokens == answer.usage.prompt_tokens
    assert response.usage.output_tokens_details.reasoning_tokens == answer.usage.reasoning_tokens
    assert answer.usage.reasoning_tokens > 0 and answer.cost_usd
    assert answer.request is not None and "input" in answer.request


def test_a_client_with_api_responses_converts_chat_bodies(sim: Any) -> None:
    chat = build_chat_request(["Hi", FakeImage()], model="grok-4.3", stream=False)
    with Client(api_key=KEY, base_url=sim.base_url, api="responses") as client:
        answer = client.chat(chat, conv_id="conv-9")
    assert sim.log[-1][1] == "/v1/responses"
    assert sim.requests[-1]["prompt_cache_key"] == "conv-9" and sim.requests[-1]["store"] is False
    assert answer.finish_reason == "stop" and answer.usage.prompt_tokens > 0
    with pytest.raises(ConfigError):
        Client(api_key=KEY, api="grpc")


def test_max_output_tokens_reads_as_length(sim: Any) -> None:
    body = build_responses_request(["Describe", FakeImage()], model="grok-4.3", max_tokens=3)
    with Client(api_key=KEY, base_url=sim.base_url) as client:
        streamed = client.chat(body)
        whole = client.chat({**body, "stream": False})
    assert streamed.finish_reason == whole.finish_reason == "length"
    assert streamed.usage.completion_tokens == 3 and streamed.text == whole.text


def test_a_broken_responses_stream_keeps_the_partial_answer(sim: Any) -> None:
    body = build_responses_request(["Describe", FakeImage()], model="grok-4.3")
    sim.inject("reset", after_chunks=3, path="/responses")
    client = Client(api_key=KEY, base_url=sim.base_url, max_retries=0)
    with client, pytest.raises(APIConnectionError) as info:
        client.chat(body)
    partial = info.value.answer
    assert partial.finish_reason == "incomplete" and partial.text


def test_an_error_event_breaks_the_stream() -> None:
    state = ResponsesState()
    state.add_data(json.dumps({"type": "response.output_text.delta", "delta": "Hi"}))
    with pytest.raises(Exception, match="overloaded"):
        state.add_data(json.dumps({"type": "error", "message": "overloaded"}))
    assert state.text == "Hi" and not state.finished


def test_usage_reads_the_responses_shape() -> None:
    usage = Usage.from_api(
        {
            "input_tokens": 1000, "output_tokens": 90, "total_tokens": 1090,
            "input_tokens_details": {"cached_tokens": 700},
            "output_tokens_details": {"reasoning_tokens": 40}, "cost_in_usd_ticks": 12345,
        }
    )  # fmt: skip
    assert usage.prompt_tokens == 1000 and usage.cached_tokens == 700
    assert usage.completion_tokens == 50 and usage.reasoning_tokens == 40
    assert usage.cost_in_usd_ticks == 12345


def test_the_cache_keeps_the_two_apis_apart(sim: Any, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XAI_BASE_URL", sim.base_url)
    monkeypatch.setenv("XAI_API_KEY", KEY)
    opts = {"cache": "use", "cache_path": str(tmp_path / "c.sqlite3"), "model": "grok-4.3"}
    image = _picture()
    via_responses = send(plan_call(["Same question", image], api="responses", **opts))
    via_chat = send(plan_call(["Same question", image], api="chat", **opts))
    assert not via_responses.cached and not via_chat.cached  # a miss: never the other's
    assert [p for _, p, _ in sim.log] == ["/v1/responses", "/v1/chat/completions"]
    again = send(plan_call(["Same question", image], api="responses", conv_id="new-id", **opts))
    assert again.cached and again.text == via_responses.text  # conversation id: not in the key
    assert plan_call("q", api="responses", **opts).cache_key != plan_call("q", **opts).cache_key


def test_simulator_counts_responses_requests() -> None:
    with simulator.serve() as s, Client(api_key=KEY, base_url=s.base_url) as client:
        client.chat(build_responses_request("hello", model="grok-4.3"))
        assert s.stats["chat_requests"] == 1 and s.log[-1][2] == 200
