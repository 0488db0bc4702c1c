"""Our requests and the simulator's responses against xAI's published OpenAPI document.

The document is the vendored subset tests/data/xai-openapi-subset.json (source,
date and how to regenerate it: tests/data/README.md), so a fresh clone needs
nothing beside it. Set GROK_NB_FULL_OPENAPI to a full copy of xAI's document to
also check that the subset is still what the script cuts from it.

``detail`` on image parts: the document's ``ImageUrl`` lists only ``url`` and
``file_id`` (without ``additionalProperties: false``, so the plain schema accepts
``detail``), while the guide, the SDK and the gRPC schema all use ``detail``. We
keep sending it, deliberately. The strict check below proves it is the ONLY field
we send that the document does not name: with every object schema closed
(``additionalProperties: false``), the bodies fail only at ``image_url.detail``,
and pass once ``detail`` is removed.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import httpx
import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    MODEL,
    FakeImage,
    find_openapi,
    isolated_env_fixture,
    openapi_validator,
    sim_fixture,
)
from pydantic import BaseModel, Field

from grok_nb import simulator
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request


class Caption(BaseModel):
    text: str = Field(max_length=80)
    objects: list[str] = Field(min_length=1)
    confidence: float | None = None


SCHEMA_DICT = {
    "title": "Colours",
    "type": "object",
    "properties": {"colours": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
    "required": ["colours"],
}


def _bodies() -> list[dict]:
    png, jpeg = FakeImage(), FakeImage((500, 300), fmt="JPEG", detail="low")
    auto = FakeImage(detail="auto")
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"}]
    return [
        build_chat_request("text only", model=MODEL),
        build_chat_request(["a", png, "b", jpeg, auto], model=MODEL, system="be short"),
        build_chat_request([png], model="grok-4.3", stream=False, temperature=0.2, seed=3),
        build_chat_request(["x", png], model=MODEL, schema=Caption, max_tokens=100),
        build_chat_request(["x", png], model=MODEL, schema=SCHEMA_DICT, history=history),
    ]


def _without_detail(body: dict) -> dict:
    body = copy.deepcopy(body)
    for message in body["messages"]:
        if isinstance(message["content"], list):
            for part in message["content"]:
                part.get("image_url", {}).pop("detail", None)
    return body


def _errors(validator, instance) -> list[tuple[str, str]]:
    """(path, message) of every error (top level)."""
    return [
        ("/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(instance)
    ]


def _leaves(validator, instance) -> list[tuple[str, str]]:
    """(path, message) of the innermost errors, inside every oneOf branch."""
    out = []
    stack = list(validator.iter_errors(instance))
    while stack:
        error = stack.pop()
        if error.context:
            stack += error.context
        else:
            out.append(("/".join(map(str, error.absolute_path)), error.message))
    return out


def _subset_script():
    path = Path(__file__).with_name("data") / "make_openapi_subset.py"
    spec = importlib.util.spec_from_file_location("make_openapi_subset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_subset_is_closed_under_ref_and_regenerates_itself():
    script = _subset_script()
    doc = json.loads(find_openapi().read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    assert script._refs(doc) <= set(schemas)  # every $ref resolves inside the file
    meta = doc["info"]["x-grok-nb-subset"]
    assert meta["taken"] == "2026-12-04" and "xAI" in meta["source"]
    # a fixed point: nothing is missing and nothing unused is carried along
    assert script.dump(script.build_subset(doc, meta)) == find_openapi().read_text("utf-8")


def test_the_responses_api_schemas_are_vendored():
    doc = json.loads(find_openapi().read_text(encoding="utf-8"))
    post = doc["paths"]["/v1/responses"]["post"]
    example = post["requestBody"]["content"]["application/json"]["example"]
    assert _errors(openapi_validator("ModelRequest", strict=True), example) == []
    reply = post["responses"]["200"]["content"]["application/json"]["example"]
    assert _errors(openapi_validator("ModelUsage", strict=True), reply["usage"]) == []
    assert {"ModelResponse", "ModelOutput", "OutputMessage"} <= set(doc["components"]["schemas"])


def test_the_vendored_document_still_omits_detail():
    doc = json.loads(find_openapi().read_text(encoding="utf-8"))
    image_url = doc["components"]["schemas"]["ImageUrl"]
    assert set(image_url["properties"]) == {"url", "file_id"}, (
        "xAI's ImageUrl schema changed; revisit the detail special case in this module"
    )
    assert "additionalProperties" not in image_url


def test_every_request_body_we_build_validates_against_chat_request():
    plain = openapi_validator("ChatRequest")
    strict = openapi_validator("ChatRequest", strict=True)
    for body in _bodies():
        assert _errors(plain, body) == []
        assert _errors(strict, _without_detail(body)) == [], body
        # with detail, the strict schema complains, and the complaint is detail
        details = [
            f"messages/{i}/content/{j}/image_url"
            for i, m in enumerate(body["messages"]) if isinstance(m["content"], list)
            for j, p in enumerate(m["content"]) if "detail" in p.get("image_url", {})
        ]  # fmt: skip
        assert bool(_errors(strict, body)) == bool(details)
        flagged = {
            path for path, message in _leaves(strict, body)
            if "('detail' was unexpected)" in message
        }  # fmt: skip
        assert flagged == set(details)


def test_the_bodies_on_the_wire_validate_too(sim):
    plain = openapi_validator("ChatRequest")
    strict = openapi_validator("ChatRequest", strict=True)
    with Client(api_key=KEY, base_url=sim.base_url) as client:
        for body in _bodies():
            schema = body.get("response_format") and (
                Caption if "Caption" in json.dumps(body["response_format"]) else SCHEMA_DICT
            )
            client.chat(body, schema=schema or None)
    assert len(sim.requests) == 5
    for wire in sim.requests:
        assert _errors(plain, wire) == []
        assert _errors(strict, _without_detail(wire)) == []


@pytest.mark.parametrize("usage_mode", ["final", "every", "none"])
def test_simulator_responses_and_chunks_validate(usage_mode):
    response_v = openapi_validator("ChatResponse", strict=True)
    chunk_v = openapi_validator("ChatResponseChunk", strict=True)
    bodies = [*_bodies(), build_chat_request(["x"], model="grok-4-1-fast", max_tokens=2)]
    auth = {"Authorization": "Bearer k"}
    with simulator.serve(usage_mode=usage_mode) as s:
        for body in bodies:
            plain = {**body, "stream": False}
            plain.pop("stream_options", None)
            response = httpx.post(s.base_url + "/chat/completions", json=plain, headers=auth)
            assert _errors(response_v, response.json()) == []
            streamed = httpx.post(
                s.base_url + "/chat/completions", json={**body, "stream": True,
                "stream_options": {"include_usage": True}}, headers=auth,
            ).text  # fmt: skip
            payloads = [e[6:] for e in streamed.split("\n\n") if e.startswith("data: ")]
            assert payloads[-1] == "[DONE]"
            for payload in payloads[:-1]:
                assert _errors(chunk_v, json.loads(payload)) == []


def test_simulator_listings_validate(sim):
    auth = {"Authorization": "Bearer k"}
    models = httpx.get(sim.base_url + "/models", headers=auth).json()
    assert _errors(openapi_validator("ListModelsResponse", strict=True), models) == []
    listing = httpx.get(sim.base_url + "/language-models", headers=auth).json()
    assert _errors(openapi_validator("ListLanguageModelsResponse", strict=True), listing) == []
    one = httpx.get(sim.base_url + "/language-models/grok-4.3", headers=auth).json()
    assert _errors(openapi_validator("LanguageModel", strict=True), one) == []
