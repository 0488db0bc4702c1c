"""Client against the simulator over real loopback HTTP: answers, usage, cost, models."""

from __future__ import annotations

import asyncio
import json

import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    MODEL,
    FakeImage,
    isolated_env_fixture,
    scan_for_key,
    sim_fixture,
)
from pydantic import BaseModel, Field

from grok_nb import simulator
from grok_nb.answer import Usage
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request
from grok_nb.errors import MissingKeyError, StructuredOutputError
from grok_nb.pricing import price_for
from grok_nb.tiling import plan


def _client(s: simulator.Simulator, **kw) -> Client:
    return Client(api_key=KEY, base_url=s.base_url, **kw)


def test_streamed_answer_with_interleaved_images_text_usage_and_cost(sim):
    red, blue = FakeImage((640, 480), (220, 30, 30)), FakeImage((300, 200), "blue", fmt="JPEG")
    body = build_chat_request(
        ["Compare", red, "with", blue, "please."], model="grok-4.20-reasoning", system="Be brief."
    )
    deltas: list[str] = []
    with _client(sim) as client:
        answer = client.chat(body, on_delta=deltas.append)
    # the parts reached the server in the order given, as one user message
    sent = sim.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]
    assert [p["type"] for p in sent[1]["content"]] == [
        "text", "image_url", "text", "image_url", "text",
    ]  # fmt: skip
    assert "".join(deltas) == answer.text and len(deltas) > 10
    assert answer.text.startswith("**[grok_nb simulator — offline, not a model]**")
    assert "Image 1: 640×480 PNG" in answer.text and "Image 2: 300×200 JPEG" in answer.text
    assert answer.model == "grok-4.20-0309-reasoning"  # the alias resolved by the server
    assert answer.finish_reason == "stop" and answer.complete
    expected_image = plan(640, 480).tokens + plan(300, 200).tokens
    u = answer.usage
    assert u is not None and u.image_tokens == expected_image
    assert u.prompt_tokens == u.text_tokens + u.image_tokens
    # one streamed token per chunk; deltas are fewer (the tail waits for the next chunk)
    assert u.completion_tokens >= len(deltas) and u.reasoning_tokens > 0
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens + u.reasoning_tokens
    # cost from the server's ticks, and the same figure from the price table
    assert answer.cost_usd == u.cost_in_usd_ticks / 1e10
    by_price = price_for("grok-4.20-0309-reasoning").cost(
        prompt_tokens=u.prompt_tokens,
        cached_tokens=u.cached_tokens,
        completion_tokens=u.completion_tokens,
        reasoning_tokens=u.reasoning_tokens,
        image_tokens=u.image_tokens,
    )
    assert answer.cost_usd == pytest.approx(by_price, rel=1e-12)
    assert answer.latency_s > 0 and 0 < answer.first_token_s <= answer.latency_s
    assert answer.request_id and answer.id
    # the answer keeps a redacted request: data URLs shortened
    url = answer.request["messages"][1]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,iVBOR") and url.endswith(" bytes)")
    assert len(json.dumps(answer.request)) < 1500


def test_non_streaming_answer_matches_streamed_one(sim):
    parts = ["What is it?", FakeImage((100, 100), "green")]
    with _client(sim) as client:
        streamed = client.chat(build_chat_request(parts, model=MODEL))
        plain = client.chat(build_chat_request(parts, model=MODEL, stream=False))
    assert sim.requests[-1]["stream"] is False and "stream_options" not in sim.requests[-1]
    assert plain.text == streamed.text
    assert plain.usage == streamed.usage
    assert plain.finish_reason == "stop" and plain.first_token_s is None


@pytest.mark.parametrize("mode", ["final", "every", "none"])
def test_every_usage_placement_parses(mode):
    with simulator.serve(usage_mode=mode) as s, _client(s) as client:
        answer = client.chat(build_chat_request(["hi", FakeImage()], model=MODEL))
        # read the raw stream too, to be sure the placement is what the mode says
        import httpx

        raw = httpx.post(
            s.base_url + "/chat/completions",
            json=build_chat_request(["hi", FakeImage()], model=MODEL),
            headers={"Authorization": "Bearer x"},
        ).text
    chunks = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    with_usage = [c for c in chunks if c.get("usage")]
    if mode == "none":
        assert answer.usage is None and answer.cost_usd is None
        assert with_usage == []
        return
    assert answer.usage is not None and answer.usage.image_tokens == plan(64, 48).tokens
    assert answer.usage.completion_tokens == len([c for c in chunks if c["choices"]]) - 1
    if mode == "every":
        assert len(with_usage) == len(chunks)  # cumulative usage on every chunk
    else:
        assert len(with_usage) == 1 and with_usage[0]["choices"] == []
    assert answer.cost_usd == answer.usage.cost_in_usd_ticks / 1e10


def test_cost_from_prices_when_the_server_sends_no_ticks(sim):
    usage = Usage.from_api(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "prompt_tokens_details": {"image_tokens": 768, "cached_tokens": 200},
        }
    )
    from grok_nb.answer import cost_from_usage

    # grok-4.3: $1.25 prompt (image too), $0.20 cached, $2.50 completion per million
    expected = (32 * 1.25 + 200 * 0.20 + 768 * 1.25 + 100 * 2.50) / 1e6
    assert cost_from_usage(usage, "grok-4.3") == pytest.approx(expected)
    assert cost_from_usage(usage, "no-such-model") is None
    assert cost_from_usage(None, "grok-4.3") is None


def test_max_tokens_gives_finish_reason_length(sim):
    with _client(sim) as client:
        answer = client.chat(build_chat_request(["hi"], model=MODEL, max_tokens=3))
    assert sim.requests[-1]["max_completion_tokens"] == 3
    assert answer.finish_reason == "length" and answer.usage.completion_tokens == 3


def test_async_chat_stream_and_plain(sim):
    async def main():
        async with _client(sim) as client:
            deltas: list[str] = []
            parts = ["x", FakeImage()]
            a = await client.achat(build_chat_request(parts, model=MODEL), on_delta=deltas.append)
            b = await client.achat(build_chat_request(parts, model=MODEL, stream=False))
            many = await asyncio.gather(
                *(client.achat(build_chat_request([f"q{i}"], model=MODEL)) for i in range(5))
            )
            return a, b, deltas, many

    a, b, deltas, many = asyncio.run(main())
    assert a.text == b.text == "".join(deltas)
    assert a.usage == b.usage
    assert [m.text.count(f"q{i}") for i, m in enumerate(many)] == [1] * 5


def test_async_client_survives_a_new_event_loop(sim):
    client = _client(sim)
    body = build_chat_request(["hello"], model=MODEL)
    first = asyncio.run(client.achat(body))
    second = asyncio.run(client.achat(body))  # another loop: a fresh connection pool
    assert first.text == second.text
    asyncio.run(client.aclose())


def test_key_and_base_url_are_read_at_call_time(sim, monkeypatch, isolated_env):
    client = Client()
    body = build_chat_request(["hi"], model=MODEL)
    with pytest.raises(MissingKeyError) as info:
        client.chat(body)
    assert "XAI_API_KEY" in str(info.value) and "grok_nb.simulator" in str(info.value)
    assert "missing" in repr(client)
    # a .env in the working directory is read, without touching os.environ
    (isolated_env / "cwd" / ".env").write_text(f"XAI_API_KEY={KEY}\nXAI_BASE_URL={sim.base_url}\n")
    assert client.base_url == sim.base_url
    assert client.chat(body).text
    import os

    assert "XAI_API_KEY" not in os.environ
    assert "from environment" in repr(client)
    scan_for_key(repr(client), vars(client))
    client.close()


def test_models_and_language_models_with_day_cache(sim, isolated_env):
    import grok_nb.api.catalogue as models

    with _client(sim) as client:
        assert "grok-4.3" in client.models()
        listing = client.language_models()
        assert sim.log.count(("GET", "/v1/language-models", 200)) == 1
        again = client.language_models()  # from the disk cache
        assert sim.log.count(("GET", "/v1/language-models", 200)) == 1
        client.language_models(refresh=True)
        assert sim.log.count(("GET", "/v1/language-models", 200)) == 2
    assert listing == again
    by_id = {p.model: p for p in listing}
    assert by_id["grok-4.3"].vision and not by_id["grok-code-fast-1"].vision
    assert by_id["grok-4.3"].prompt == 1.25 and by_id["grok-4.3"].cached_prompt == 0.20
    # old names are listed as aliases of grok-4.3, as on xAI's models page
    assert {"grok-4-1-fast-reasoning", "grok-4", "grok-3"} <= set(by_id["grok-4.3"].aliases)
    vision = models.vision_models(Client(api_key=KEY, base_url=sim.base_url))
    assert "grok-4.3" in vision and "grok-code-fast-1" not in vision
    files = list((isolated_env / "cache").rglob("*"))  # $GROK_NB_CACHE_DIR
    assert any(f.name.startswith("language-models-") for f in files)
    for f in files:
        if f.is_file():
            scan_for_key(f.read_text())


def test_language_models_fall_back_offline(isolated_env):
    import grok_nb.api.catalogue as models
    from grok_nb.pricing import FALLBACK_PRICES

    # no key at all: the dated table
    listing = models.language_models(Client())
    assert {p.model for p in listing} == set(FALLBACK_PRICES)
    with pytest.raises(MissingKeyError):
        models.language_models(Client(), fallback=False)
    # a cached listing for that base URL, even stale, beats the table
    with simulator.serve() as s:
        Client(api_key=KEY, base_url=s.base_url).language_models()
        base = s.base_url
    stale = models.language_models(Client(api_key=KEY, base_url=base, max_retries=0))
    assert "grok-code-fast-1" in {p.model for p in stale}


class Caption(BaseModel):
    caption: str
    colours: list[str]
    confidence: float | None = None


class Strict(BaseModel):
    word: str = Field(max_length=3)  # stripped from the request, checked on the answer


def test_structured_output_pydantic_and_dict(sim):
    with _client(sim) as client:
        body = build_chat_request(["x", FakeImage()], model=MODEL, schema=Caption)
        answer = client.chat(body, schema=Caption)
        assert isinstance(answer.parsed, Caption)
        assert answer.parsed.caption == "simulated caption"
        schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 2}}}
        plain = build_chat_request(["x"], model=MODEL, schema=schema, stream=False)
        assert client.chat(plain, schema=schema).parsed == {"n": 2}
        with pytest.raises(StructuredOutputError, match="does not match Strict: word") as info:
            client.chat(build_chat_request(["x"], model=MODEL, schema=Strict), schema=Strict)
        assert info.value.answer.text == '{"word": "simulated word"}'
        assert info.value.answer.usage is not None  # the call was billed: keep its usage
    assert "maxLength" not in json.dumps(sim.requests[-1]["response_format"])


def test_async_listings_and_latency():
    async def main(base: str):
        async with Client(api_key=KEY, base_url=base) as client:
            return await client.amodels(), await client.alanguage_models(refresh=True)

    with simulator.serve(latency_s=0.2) as s:
        ids, listing = asyncio.run(main(s.base_url))
        with _client(s) as client:
            answer = client.chat(build_chat_request(["hi"], model=MODEL))
    assert "grok-4.3" in ids and any(p.vision for p in listing)
    assert answer.first_token_s >= 0.2


def test_retries_are_logged_without_secrets(sim, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="grok_nb.api.client")
    sim.inject("503")
    with Client(api_key=KEY, base_url=sim.base_url, sleep=lambda s: None) as client:
        client.chat(build_chat_request(["hi"], model=MODEL))
    messages = [r.getMessage() for r in caplog.records if r.name == "grok_nb.api.client"]
    assert any("HTTP 503 from 127.0.0.1" in m and "retry 1 of 2" in m for m in messages)
    scan_for_key(*messages)


def test_simulator_does_not_import_the_client():
    import subprocess
    import sys
    from pathlib import Path

    import grok_nb

    code = (
        "import sys, grok_nb.simulator as s\n"
        "with s.serve() as sim: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('grok_nb')))"
    )
    env = {"PYTHONPATH": str(Path(grok_nb.__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "grok_nb.tiling" in out.stdout and "grok_nb.api.client" not in out.stdout
    assert "grok_nb.api.credentials" not in out.stdout and "httpx" not in out.stdout


def test_one_client_shared_by_threads(sim):
    from concurrent.futures import ThreadPoolExecutor

    with _client(sim) as client, ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda i: client.chat(build_chat_request([f"t{i}"], model=MODEL)), range(8))
        )
    assert all(f"“t{i}”" in a.text for i, a in enumerate(answers))


def test_an_endpoint_that_ignores_stream_still_gives_an_answer():
    import httpx

    completion = {
        "id": "c1", "object": "chat.completion", "created": 0, "model": "proxy-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, json=completion)

    deltas: list[str] = []
    with Client(api_key=KEY, base_url="http://proxy.test/v1",
                transport=httpx.MockTransport(handler)) as client:  # fmt: skip
        answer = client.chat(build_chat_request(["hi"], model=MODEL), on_delta=deltas.append)
    assert deltas == ["whole"] and answer.text == "whole" and answer.model == "proxy-model"
    assert answer.usage.total_tokens == 4 and answer.finish_reason == "stop"

    async def main():
        transport = httpx.MockTransport(handler)
        async with Client(api_key=KEY, base_url="http://proxy.test/v1",
                          async_transport=transport) as client:  # fmt: skip
            return await client.achat(build_chat_request(["hi"], model=MODEL))

    assert asyncio.run(main()).text == "whole"
