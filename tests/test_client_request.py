"""Request bodies, structured output and redaction (no network)."""

from __future__ import annotations

import json

import pytest
from client_fixtures import MODEL, FakeImage, isolated_env_fixture  # noqa: F401  (fixture)
from pydantic import BaseModel, Field

from grok_nb.api.request import (
    build_chat_request,
    parse_structured,
    redact_request,
    response_format_for,
)
from grok_nb.errors import ConfigError, GrokError, StructuredOutputError


class Thing(BaseModel):
    name: str = Field(description="what it is", max_length=20)
    count: int


class Scene(BaseModel):
    """A scene with things."""

    title: str = Field(min_length=1)
    things: list[Thing] = Field(max_length=5)
    main: Thing = Field(description="the main thing")  # pydantic may wrap this $ref


def test_parts_keep_their_order_in_one_user_message():
    a, b = FakeImage(detail="low"), FakeImage(fmt="JPEG", detail=None)
    body = build_chat_request(["first", a, "", "second", b], model=MODEL)
    content = body["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "text", "image_url"]
    assert content[0]["text"] == "first" and content[2]["text"] == "second"
    assert content[1]["image_url"] == {"url": a.data_url, "detail": "low"}
    assert content[3]["image_url"] == {"url": b.data_url}  # detail left to the server
    images_first = build_chat_request([a, "after"], model=MODEL)["messages"][0]["content"]
    assert [p["type"] for p in images_first] == ["image_url", "text"]


def test_options_system_history_and_streaming():
    history = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    body = build_chat_request(
        "just text", model=" grok-4.3 ", system="sys", history=history, temperature=0,
        max_tokens=50, seed=7, stream=True,
    )  # fmt: skip
    assert body["model"] == "grok-4.3"
    assert body["messages"] == [
        {"role": "system", "content": "sys"}, *history, {"role": "user", "content": "just text"},
    ]  # fmt: skip
    assert body["temperature"] == 0.0 and body["max_completion_tokens"] == 50
    assert "max_tokens" not in body and body["seed"] == 7
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    plain = build_chat_request("x", model=MODEL, stream=False)
    assert plain["stream"] is False and "stream_options" not in plain
    history[0]["content"] = "changed"  # the body holds its own copy
    assert body["messages"][1]["content"] == "q1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parts": []}, "nothing to send"),
        ({"parts": ["", ""]}, "nothing to send"),
        ({"parts": [b"bytes"]}, "cannot send a bytes"),
        ({"parts": [3.5]}, "cannot send a float"),
        ({"model": ""}, "model must be"),
        ({"temperature": 2.5}, "temperature must be between 0 and 2"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"max_tokens": True}, "max_tokens must be a positive integer"),
        ({"seed": "1"}, "seed must be an integer"),
        ({"history": [{"content": "no role"}]}, r"history\[0\]"),
        ({"schema": 42}, "schema must be a pydantic model class or a JSON-schema dict"),
    ],
)
def test_bad_input_gets_one_clear_message(kwargs, message):
    args = {"parts": ["hi"], "model": MODEL, **kwargs}
    with pytest.raises(ConfigError, match=message):
        build_chat_request(args.pop("parts"), **args)


def test_bad_image_parts_are_named():
    bad = FakeImage()
    bad.data_url = "pictures/not-a-url.png"
    with pytest.raises(ConfigError, match="image 1: its data_url must be"):
        build_chat_request(["x", bad], model=MODEL)
    odd = FakeImage(detail="medium")
    with pytest.raises(ConfigError, match="image 1: detail must be one of auto, low, high"):
        build_chat_request([odd], model=MODEL)


def _walk_keys(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k
            yield from _walk_keys(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_keys(v, f"{path}/{i}")


def test_pydantic_schema_is_sent_without_unsupported_keywords():
    fmt = build_chat_request("x", model=MODEL, schema=Scene)["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Scene"
    schema = fmt["json_schema"]["schema"]
    raw = json.dumps(Scene.model_json_schema())
    assert "maxLength" in raw and "minLength" in raw and "maxItems" in raw  # pydantic emits them
    banned = {"allOf", "minLength", "maxLength", "minItems", "maxItems"}
    assert not [
        (p, k) for p, k in _walk_keys(schema) if k in banned and not p.endswith("properties")
    ]
    assert schema["properties"]["things"]["items"] == {"$ref": "#/$defs/Thing"}
    assert schema["$defs"]["Thing"]["properties"]["name"]["description"] == "what it is"


def test_dict_schema_all_of_is_merged_and_property_names_survive():
    schema = {
        "title": "my answer!",
        "type": "object",
        "allOf": [
            {"properties": {"a": {"type": "string", "maxLength": 3}}, "required": ["a"]},
            {"properties": {"maxLength": {"type": "integer"}}, "required": ["maxLength"]},
        ],
    }
    sent = response_format_for(schema)["json_schema"]
    assert sent["name"] == "my_answer_"
    assert sent["schema"] == {
        "title": "my answer!",
        "type": "object",
        "properties": {"a": {"type": "string"}, "maxLength": {"type": "integer"}},
        "required": ["a", "maxLength"],
    }
    assert schema["allOf"][0]["properties"]["a"]["maxLength"] == 3  # the caller's dict untouched
    conflict = {"allOf": [{"type": "object"}, {"type": "array"}]}
    with pytest.raises(ConfigError, match="allOf combines conflicting 'type'"):
        response_format_for(conflict)


def test_parse_structured_pydantic_and_dict():
    scene = parse_structured(
        '{"title": "t", "things": [], "main": {"name": "cat", "count": 1}}', Scene
    )
    assert isinstance(scene, Scene) and scene.main.name == "cat"
    fenced = '```json\n{"a": "x", "maxLength": 2}\n```'
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert parse_structured(fenced, schema) == {"a": "x", "maxLength": 2}


@pytest.mark.parametrize(
    ("text", "schema", "message"),
    [
        ("not json at all", Scene, "does not match Scene"),
        ('{"title": "t", "things": [], "main": {"name": "cat"}}', Scene, "main.count"),
        ("{broken", {"type": "object"}, "not valid JSON"),
        ('{"a": 1}', {"type": "object", "properties": {"a": {"type": "string"}}}, "a: 1 is not"),
    ],
)
def test_parse_structured_errors_quote_the_text(text, schema, message):
    with pytest.raises(StructuredOutputError, match=message) as info:
        parse_structured(text, schema)
    assert isinstance(info.value, GrokError) and info.value.text == text
    assert repr(text[:10])[1:-1] in str(info.value)


def test_redact_request_shortens_data_urls_only():
    big = FakeImage((400, 300), fmt="JPEG")
    body = build_chat_request(
        ["x", big, FakeImage(), "https://example.com/a.png"], model=MODEL, system="s"
    )
    body["messages"][1]["content"].append(
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    )
    body["api_key"] = "should vanish"
    shown = redact_request(body)
    parts = shown["messages"][1]["content"]
    size = f"{len(big.data):,}".replace(",", " ")  # e.g. "12 345"
    head = "data:image/jpeg;base64,"  # kept, plus base64 up to 64 characters in all
    assert parts[1]["image_url"]["url"] == f"{head}{big.data_url[len(head) : 64]}…({size} bytes)"
    assert parts[1]["image_url"]["detail"] == "high"
    assert parts[4]["image_url"]["url"] == "https://example.com/cat.jpg"
    assert "api_key" not in shown
    assert body["messages"][1]["content"][1]["image_url"]["url"] == big.data_url  # untouched
    assert len(json.dumps(shown)) < 800
