"""Both APIs from every entry point, and prompt caching for conversations.

A conversation sends its id (``x-grok-conv-id`` on Chat, ``prompt_cache_key`` on
Responses); the simulator then bills the resent earlier turns as cached tokens at
the cached price, the follow-up's estimate expects them cached, and the footer and
the ledger say what caching saved. Without an id the same requests bill cold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

import grok_nb
from grok_nb.api.client import Client
from grok_nb.calls import plan_call
from grok_nb.ledger import LEDGER
from grok_nb.pricing import price_for
from grok_nb.render import estimate_mimebundle, usage_mimebundle
from grok_nb.settings import current


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path) -> Any:
    settings = current()
    saved = settings.cache_path
    settings.cache_path = str(tmp_path / "cache.sqlite3")
    yield
    settings.cache_path = saved


def picture(colour: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    return Image.new("RGB", size, colour)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_three_turns_with_two_images_bill_the_earlier_images_cached(sim: Any, api: str) -> None:
    LEDGER.clear()
    conv = grok_nb.Conversation(options={"cache": "off", "api": api, "model": "grok-4.3"})
    first = conv.ask("Compare these.", picture("red"), picture("blue", (300, 900)))
    images = first.usage.image_tokens
    follow = conv.plan("Which is taller?")
    assert follow.estimate.expected_cached_tokens >= images
    assert follow.estimate.prompt_usd < follow.estimate.cold_prompt_usd
    line = estimate_mimebundle(follow)["text/plain"]
    assert "expected cached" in line
    second = conv.ask("Which is taller?")
    third = conv.ask("And which is redder?")
    assert first.usage.cached_tokens < images  # turn 1: nothing was cached yet
    for later in (second, third):
        assert later.usage.cached_tokens >= images  # the earlier images, cached
        assert later.cache_saved_usd and later.cache_saved_usd > 0
        assert "prompt cache" in later.footer() and "saved" in later.footer()
    assert third.usage.cached_tokens > second.usage.cached_tokens  # the prefix grows
    path = "/v1/responses" if api == "responses" else "/v1/chat/completions"
    assert {p for _, p, _ in sim.log} == {path}
    if api == "responses":
        assert {r["prompt_cache_key"] for r in sim.requests} == {conv.id}
    totals = LEDGER.totals()
    assert totals["cached_tokens"] >= 2 * images
    assert totals["cache_saved_usd"] == pytest.approx(
        sum(a.cache_saved_usd or 0 for a in conv.answers)
    )
    assert "saved" in usage_mimebundle(LEDGER)["text/plain"]
    # billed at the cached price: the simulator's ticks say the same as the prices
    price = price_for(second.model)
    assert price is not None and price.cached_prompt is not None
    u = second.usage
    expected = price.cost(
        prompt_tokens=u.prompt_tokens, cached_tokens=u.cached_tokens,
        image_tokens=u.image_tokens, completion_tokens=u.completion_tokens,
        reasoning_tokens=u.reasoning_tokens,
    )  # fmt: skip
    assert second.cost_usd == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_without_a_conversation_id_the_prefix_bills_cold(sim: Any, api: str) -> None:
    first = plan_call(["Compare.", picture("red")], api=api, cache="off", model="grok-4.3")
    with Client(base_url=sim.base_url) as client:
        a1 = client.chat(first.body)
        history = [first.user_message, {"role": "assistant", "content": a1.text}]
        second = plan_call("Again?", api=api, cache="off", model="grok-4.3", history=history)
        assert second.estimate.expected_cached_tokens == 0  # no id: nothing expected
        a2 = client.chat(second.body)
        assert a2.usage.cached_tokens < a1.usage.image_tokens
        warm = plan_call(
            "Again?", api=api, cache="off", model="grok-4.3", history=history, conv_id="x"
        )
        client.chat(plan_call(["Compare.", picture("red")], api=api, cache="off",
                              model="grok-4.3", conv_id="x").body, conv_id="x")  # fmt: skip
        a3 = client.chat(warm.body, conv_id="x")
    assert a3.usage.cached_tokens >= a1.usage.image_tokens
    assert a3.cost_usd < a2.cost_usd


def test_editing_an_earlier_message_misses_the_cache(sim: Any) -> None:
    conv = grok_nb.Conversation(options={"cache": "off", "model": "grok-4.3"})
    first = conv.ask("Look.", picture("red"))
    conv.messages[0] = {"role": "user", "content": "edited"}
    second = conv.ask("Now?")
    assert second.usage.cached_tokens < first.usage.image_tokens


def test_ask_follow_up_is_prompt_cached(sim: Any) -> None:
    answer = grok_nb.ask("What colour?", picture("red"), cache="off", api="responses")
    assert sim.requests[-1]["prompt_cache_key"] == answer.conversation.id
    follow = answer.follow_up("Sure?")
    assert follow.usage.cached_tokens >= answer.usage.image_tokens


def test_ask_many_and_the_magic_speak_responses(sim: Any) -> None:
    answers = grok_nb.ask_many(
        [picture("red"), picture("green")], "Colour?", cache="off", progress=False,
        api="responses",
    )  # fmt: skip
    assert len(answers) == 2 and all(a.text for a in answers)
    assert [p for _, p, _ in sim.log] == ["/v1/responses"] * 2
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    ip.user_ns["img"] = picture("blue")
    with capture_output() as out:
        ip.run_cell_magic("grokvision", "img --api responses --dry-run", "What is it?")
    shown = "".join(o.data.get("text/plain", "") for o in out.outputs)
    assert "/responses" in shown and '"input"' in shown
    assert len(sim.requests) == 2  # a dry run sends nothing
    with capture_output():
        ip.run_cell_magic("grokvision", "img --api responses --no-cache", "What is it?")
    assert sim.log[-1][1] == "/v1/responses"


def test_cli_ask_takes_api(sim: Any, tmp_path: Path, capsys: Any) -> None:
    from grok_nb.cli import main  # imported here: the CLI pulls in the notebook front end

    path = tmp_path / "p.png"
    picture("red").save(path)
    assert main(["ask", str(path), "-p", "Colour?", "--api", "responses", "--no-cache"]) == 0
    assert sim.log[-1][1] == "/v1/responses"
    assert TEST_KEY not in capsys.readouterr().out
