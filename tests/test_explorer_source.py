"""A ``TileExplorer`` is an image source everywhere, and sends what it shows: the framed
crop at the chosen scale, with the explorer's rule and detail, estimated at exactly the
number of tokens the explorer displays."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

import grok_nb
from grok_nb.calls import plan_call
from grok_nb.notebook.explorer import TileExplorer


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    return ip


def framed() -> TileExplorer:
    img = Image.effect_noise((1600, 1200), 60).convert("RGB")
    ex = TileExplorer(img, rule="ceil", detail="low", label="photo")
    ex.crop = [100, 50, 1300, 950]
    ex.scale = 0.5
    return ex


def sent_details(sim: Any) -> list[str]:
    parts = sim.requests[-1]["messages"][-1]["content"]
    return [p["image_url"]["detail"] for p in parts if p["type"] == "image_url"]


def test_the_estimate_is_the_number_the_explorer_shows() -> None:
    ex = framed()
    call = plan_call("What is this?", [ex], cache="off")
    (plan,) = call.plans
    assert (plan.rule, plan.detail, plan.tokens) == ("ceil", "low", ex.plan.tokens)
    assert (plan.width, plan.height) == ex.framed_size == (600, 450)
    assert call.estimate.image_tokens == ex.plan.tokens
    assert plan.rule_source == "explorer"


def test_the_magic_sends_the_framing_with_its_rule_and_detail(
    shell: InteractiveShell, sim: Any
) -> None:
    ex = framed()
    shell.user_ns["ex"] = ex
    with capture_output() as out:
        shell.run_cell_magic("grokvision", "ex --no-cache -o a", "What is this?")
    answer = shell.user_ns["a"]
    assert sent_details(sim) == ["low"]
    assert answer.images[0].tokens == ex.plan.tokens
    assert answer.usage.image_tokens == ex.plan.tokens  # the simulator bills what it got
    assert f"≈ {ex.plan.tokens:,} image tokens" in "".join(
        str(o.data.get("text/plain", "")) for o in out.outputs
    )


def test_ask_ask_async_ask_many_and_conversations_take_an_explorer(sim: Any) -> None:
    ex = framed()
    answers = [
        grok_nb.ask("What is this?", ex, cache="off"),
        asyncio.run(grok_nb.ask_async("What is this?", ex, cache="off")),
        grok_nb.ask_many([ex], "What is this?", cache="off", progress=False)[0],
        grok_nb.Conversation(options={"cache": "off"}).ask("What is this?", ex),
    ]
    for answer in answers:
        assert answer.error is None
        assert answer.images[0].tokens == ex.plan.tokens
        assert answer.images[0].label == "photo (framed)"
    assert sent_details(sim) == ["low"]


def test_an_explicit_rule_still_beats_the_explorers(sim: Any) -> None:
    ex = framed()
    call = plan_call("?", [ex], tile_rule="xai-guide", detail="high", cache="off")
    assert (call.plans[0].rule, call.plans[0].detail) == ("xai-guide", "high")
    assert call.plans[0].rule_source == "given"
