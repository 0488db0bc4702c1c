"""The official ``openai`` client talks to the simulator and sees what grok_nb sees."""

from __future__ import annotations

import pytest
from client_fixtures import (  # noqa: F401  (fixtures)
    KEY,
    FakeImage,
    isolated_env_fixture,
    sim_fixture,
)
from openai import OpenAI

from grok_nb.answer import Usage
from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request


def _as_usage(u) -> Usage:
    return Usage.from_api(u.model_dump())


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
def test_openai_client_gets_the_same_text_and_usage(sim, stream):
    body = build_chat_request(
        ["Two images:", FakeImage((640, 480)), "and", FakeImage((200, 600), "navy", fmt="JPEG")],
        model="grok-4.20-reasoning",
        system="Answer briefly.",
        stream=stream,
    )
    with Client(api_key=KEY, base_url=sim.base_url) as ours:
        answer = ours.chat(body)
    theirs = OpenAI(api_key=KEY, base_url=sim.base_url, max_retries=0)
    if stream:
        pieces, usage, model, finish = [], None, None, None
        for chunk in theirs.chat.completions.create(
            model=body["model"], messages=body["messages"], stream=True,
            stream_options={"include_usage": True},
        ):  # fmt: skip
            model = chunk.model
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                pieces.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
        text = "".join(pieces)
    else:
        completion = theirs.chat.completions.create(model=body["model"], messages=body["messages"])
        text = completion.choices[0].message.content
        usage, model = completion.usage, completion.model
        finish = completion.choices[0].finish_reason
    theirs.close()
    assert text == answer.text and text.startswith("**[grok_nb simulator")
    assert model == answer.model == "grok-4.20-0309-reasoning"
    assert finish == answer.finish_reason == "stop"
    assert usage is not None and _as_usage(usage) == answer.usage
    assert usage.prompt_tokens_details.image_tokens == answer.usage.image_tokens > 0
    # both requests reached the server with the same messages
    assert sim.requests[0]["messages"] == sim.requests[1]["messages"]


def test_xai_shaped_errors_openai_versus_grok_nb(sim):
    import openai

    from grok_nb.errors import AuthenticationError

    messages = [{"role": "user", "content": "x"}]
    sim.inject("bad_key")
    client = OpenAI(api_key=KEY, base_url=sim.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError) as theirs:
        client.chat.completions.create(model="grok-4.3", messages=messages)
    client.close()
    # the same wire error: openai keeps the body, but its message drops xAI's words ...
    assert theirs.value.status_code == 400 and "Incorrect API key" in str(theirs.value.body)
    sim.inject("bad_key")
    with (
        Client(api_key=KEY, base_url=sim.base_url) as ours,
        pytest.raises(AuthenticationError) as mine,
    ):
        ours.chat({"model": "grok-4.3", "messages": messages})
    # ... grok_nb puts them in the message, with what to do
    assert "Incorrect API key" in str(mine.value) and "the API key was rejected" in str(mine.value)
