"""``grok_nb.ask``: options, estimates, budget, cache modes and the prepare memo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY as KEY
from PIL import Image, ImageDraw

import grok_nb
from grok_nb import BudgetExceeded, CacheMiss, ConfigError, MissingKeyError
from grok_nb.asking import plan_call


def picture(w: int = 800, h: int = 600) -> Image.Image:
    img = Image.new("RGB", (w, h), "white")
    ImageDraw.Draw(img).ellipse((50, 50, w - 50, h - 50), fill="teal")
    return img


def test_stream_and_non_stream_agree(sim: Any) -> None:
    deltas: list[str] = []
    a = grok_nb.ask("Describe.", picture(), cache="off", on_delta=deltas.append)
    b = grok_nb.ask("Describe.", picture(), cache="off", stream=False)
    assert a.text == b.text == "".join(deltas)
    assert a.usage == b.usage and a.finish_reason == b.finish_reason == "stop"
    assert sim.requests[0]["stream"] is True and sim.requests[1]["stream"] is False
    assert a.cost_usd is not None and a.latency_s is not None


def test_estimate_matches_billing_and_request_is_redacted(sim: Any) -> None:
    answer = grok_nb.ask("Describe.", picture(), picture(300, 300), cache="off")
    assert answer.estimated_image_tokens == answer.usage.image_tokens == 1792 + 512
    dump = str(answer.request)
    assert KEY not in dump and "base64," in dump and len(dump) < 2000


def test_unknown_and_invalid_options_name_themselves() -> None:
    with pytest.raises(ConfigError, match="unknown option colour"):
        plan_call("?", [picture()], colour="red")
    with pytest.raises(ConfigError, match="temperature=5"):
        plan_call("?", [picture()], temperature=5)
    with pytest.raises(ConfigError, match="cache='sometimes'"):
        plan_call("?", [picture()], cache="sometimes")


def test_budget_is_checked_before_sending(sim: Any) -> None:
    with pytest.raises(BudgetExceeded, match="above max_cost_usd") as err:
        grok_nb.ask("Describe.", picture(), max_cost_usd=1e-6, cache="off")
    assert err.value.estimate_usd > err.value.limit_usd
    assert sim.requests == []


def test_replay_needs_no_key_and_no_network(
    sim: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    recorded = grok_nb.ask("Describe.", picture())
    monkeypatch.delenv("XAI_API_KEY")
    sim.stop()  # nothing listens any more
    replayed = grok_nb.ask("Describe.", picture(), cache="replay")
    assert replayed.cached and replayed.text == recorded.text
    with pytest.raises(CacheMiss, match="not in the cache"):
        grok_nb.ask("Something never asked.", picture(), cache="replay")


def test_simulator_answers_are_never_served_for_another_endpoint(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    grok_nb.ask("Describe.", picture())
    monkeypatch.setenv("XAI_BASE_URL", "https://api.x.ai/v1")
    with pytest.raises(CacheMiss):
        grok_nb.ask("Describe.", picture(), cache="replay")


def test_missing_key_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingKeyError, match="XAI_API_KEY"):
        grok_nb.ask("Describe.", picture(), cache="off")


def test_prepared_images_are_reused_until_the_image_changes(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grok_nb.images as images

    calls: list[Any] = []
    original = images.prepare_many

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(images, "prepare_many", counting)
    img = picture(640, 480)
    grok_nb.ask("One.", img)
    grok_nb.ask("One.", img)
    assert len(calls) == 1 and len(sim.usages) == 1
    ImageDraw.Draw(img).rectangle((0, 0, 20, 20), fill="red")  # edited in place
    grok_nb.ask("One.", img)
    assert len(calls) == 2 and len(sim.usages) == 2


def test_ask_async(sim: Any) -> None:
    import asyncio

    answer = asyncio.run(grok_nb.ask_async("Describe.", picture(), cache="off"))
    assert answer.usage.image_tokens == 1792
