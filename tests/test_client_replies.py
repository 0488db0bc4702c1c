"""Replies that arrive but are not shaped as xAI documents become ``APIResponseError``.

Over real loopback HTTP with the simulator's reply faults (``RESHAPE_KINDS`` in
grok_nb/simulator/faults.py), streamed and not, through ``chat`` and ``achat``,
and for the ``/models`` and ``/language-models`` listings: never a raw
``TypeError``, ``AttributeError``, ``httpx.DecodingError`` or ``RecursionError``,
never a retry, never the key in the message. The reply checks themselves
(grok_nb/api/reply.py) are also held to the examples in xAI's OpenAPI document.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    MODEL,
    FakeImage,
    Sleeps,
    find_openapi,
    isolated_env_fixture,
    scan_for_key,
    sim_fixture,
)

import grok_nb
from grok_nb.api import reply
from grok_nb.api.catalogue import read_cache
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request
from grok_nb.errors import APIResponseError, GrokError

STREAM = build_chat_request(["Describe", FakeImage((96, 64))], model=MODEL)
PLAIN = build_chat_request(["Describe", FakeImage((96, 64))], model=MODEL, stream=False)

# fault kind -> (JSON path named for a whole completion, for a streamed chunk)
CHAT_FAULTS = {
    "content_list": ("$.choices[0].message.content", "$.choices[0].delta.content"),
    "choices_dict": ("$.choices", "$.choices"),
    "usage_list": ("$.usage", "$.usage"),
    "not_object": ("$", "$"),
    "deep_json": ("$", "$"),
    "bad_gzip": (None, None),
}
EXPECTED = {
    "content_list": "a string or null",
    "choices_dict": "an array",
    "usage_list": "an object or null",
    "not_object": "an object",
}


def _client(s, sleeps: Sleeps) -> Client:
    return Client(api_key=KEY, base_url=s.base_url, sleep=sleeps, async_sleep=sleeps.async_sleep)


def _no_leak(error: BaseException) -> None:
    scan_for_key(str(error), repr(error), error.args, getattr(error, "answer", None))


def _ask(client: Client, body: dict, use_async: bool):
    if use_async:

        async def go():
            try:
                return await client.achat(body)
            finally:
                await client.aclose()

        return asyncio.run(go())
    return client.chat(body)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", list(CHAT_FAULTS))
def test_a_malformed_chat_reply_is_an_api_response_error(sim, kind, streamed, use_async):
    sim.inject(kind, after_chunks=2)
    sleeps = Sleeps()
    client = _client(sim, sleeps)
    with pytest.raises(APIResponseError) as info:
        _ask(client, STREAM if streamed else PLAIN, use_async)
    error = info.value
    assert isinstance(error, GrokError) and error.__cause__ is None
    assert error.json_path == CHAT_FAULTS[kind][streamed]
    if kind in EXPECTED:
        assert error.expected is not None and error.expected.startswith(EXPECTED[kind])
        assert f"{error.json_path} is " in str(error) and error.expected in str(error)
    if kind == "bad_gzip":
        assert "could not be decoded" in str(error)
    if kind == "deep_json":
        assert "nested too deeply" in str(error)
    assert sim.base_url.split("/")[2] in str(error) and "/v1/chat/completions" in str(error)
    assert sleeps.calls == [] and len(sim.requests) == 1  # a served request is not retried
    answer = error.answer
    assert answer.finish_reason == "incomplete"
    if streamed:  # two chunks of text arrived before the bad one, and are kept
        assert answer.text and "partial answer is on this error's .answer" in str(error)
    else:
        assert answer.text == ""
    _no_leak(error)
    # the client is still usable
    assert _ask(client, PLAIN, use_async).finish_reason == "stop"
    client.close()


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_a_bad_first_chunk_leaves_no_text_and_names_the_request_id(sim, streamed):
    sim.inject("choices_dict", after_chunks=0)
    with pytest.raises(APIResponseError) as info, _client(sim, Sleeps()) as client:
        client.chat(STREAM if streamed else PLAIN)
    assert info.value.answer.text == "" and info.value.request_id
    assert f"(request id {info.value.request_id})" in str(info.value)
    assert getattr(info.value, "after_first_token", None) is False


LISTING_FAULTS = {
    "listing_dict": "expected an array",
    "not_object": "expected an object",
    "deep_json": "nested too deeply",
    "bad_gzip": "could not be decoded",
}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("path", ["/models", "/language-models"])
@pytest.mark.parametrize("kind", list(LISTING_FAULTS))
def test_a_malformed_listing_is_an_api_response_error(sim, kind, path, use_async):
    sim.inject(kind, path=path)
    sleeps = Sleeps()
    client = _client(sim, sleeps)

    async def acall():
        try:
            if path == "/models":
                return await client.amodels()
            return await client.alanguage_models(refresh=True)
        finally:
            await client.aclose()  # each asyncio.run has its own loop and connections

    def call():
        if use_async:
            return asyncio.run(acall())
        return client.models() if path == "/models" else client.language_models(refresh=True)

    with pytest.raises(APIResponseError, match=LISTING_FAULTS[kind]) as info:
        call()
    assert f"/v1{path} is not what xAI's API sends" in str(info.value)
    assert sleeps.calls == []
    _no_leak(info.value)
    if path == "/language-models":
        assert read_cache(sim.base_url) is None  # a bad listing is never cached
    assert call()  # the next, well-formed listing is read normally
    client.close()


def test_the_error_is_exported():
    assert grok_nb.APIResponseError is APIResponseError
    assert "APIResponseError" in grok_nb.__all__


# -- the checks themselves --------------------------------------------------------------


def _chunk(**fields):
    return {"id": "c1", "model": MODEL, "choices": [{"index": 0, "delta": {"content": "hi"}}],
            **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        (_chunk(usage={"prompt_tokens": "lots"}), "$.usage.prompt_tokens", "an integer or null"),
        (_chunk(usage={"prompt_tokens_details": []}), "$.usage.prompt_tokens_details", "an object"),
        (_chunk(choices=[[]]), "$.choices[0]", "an object"),
        (_chunk(choices=[{"index": "0"}]), "$.choices[0].index", "an integer or null"),
        (_chunk(choices=[{"delta": "hi"}]), "$.choices[0].delta", "an object or null"),
        (_chunk(choices=[{"finish_reason": 1}]), "$.choices[0].finish_reason", "a string"),
        (_chunk(model=["m"]), "$.model", "a string or null"),
        ("a string", "$", "an object"),
    ],
)
def test_chunk_checks_name_the_path_and_what_was_expected(value, path, expected):
    with pytest.raises(reply.MalformedReply) as info:
        reply.check("chunk", value)
    assert info.value.json_path == path and info.value.expected.startswith(expected)


def test_checks_are_lenient_where_the_service_varies():
    reply.check("chunk", {"choices": [], "usage": {"prompt_tokens": 3}})  # usage-only chunk
    reply.check("chunk", {"id": None, "model": None, "choices": None, "usage": None})
    reply.check("chunk", _chunk(unknown={"deep": [1, 2]}, usage={"total_tokens": "12"}))
    reply.check("completion", {"choices": [{"message": {"content": None, "refusal": None}}]})
    with pytest.raises(reply.MalformedReply, match=r"\$\.choices is missing; expected an array"):
        reply.check("completion", {"id": "x"})
    with pytest.raises(reply.MalformedReply, match=r"\$\.data\[1\]\.id is missing"):
        reply.check("models", {"data": [{"id": "a"}, {"object": "model"}]})


def test_json_python_cannot_hold_is_named_and_bad_json_stays_a_broken_stream():
    with pytest.raises(reply.MalformedReply, match="nested too deeply"):
        reply.parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(reply.MalformedReply, match="unreadable"):
        reply.parse('{"usage": {"prompt_tokens": ' + "9" * 5000 + "}}")
    with pytest.raises(reply.StreamBroken, match="that is not JSON") as info:
        reply.parse('{"id": "broken", "choices": [')
    assert not isinstance(info.value, reply.MalformedReply)


def test_the_checks_accept_the_examples_in_xais_openapi_document():
    paths = json.loads(find_openapi().read_text(encoding="utf-8"))["paths"]

    def example(path: str, method: str = "get") -> dict:
        return paths[path][method]["responses"]["200"]["content"]["application/json"]["example"]

    reply.check("completion", example("/v1/chat/completions", "post"))
    reply.check("models", example("/v1/models"))
    reply.check("language_models", example("/v1/language-models"))
