"""The magic and the API as people type them: quoting, placeholders, images inside the
prompt, conversations in Python. Driven in a real IPython shell against the simulator;
every check reads the request body the simulator received."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

import grok_nb
from grok_nb.settings import current


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    return ip


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path) -> Any:
    settings = current()
    saved = settings.cache_path
    settings.cache_path = str(tmp_path / "cache.sqlite3")
    yield
    settings.cache_path = saved


def run(shell: InteractiveShell, line: str, cell: str) -> Any:
    with capture_output():
        shell.run_cell_magic("grokvision", line, cell)
    return shell.user_ns.get("_")


def picture(colour: str, size: tuple[int, int] = (320, 240)) -> Image.Image:
    return Image.new("RGB", size, colour)


def content(sim: Any) -> list[dict[str, Any]]:
    parts = sim.requests[-1]["messages"][-1]["content"]
    return [{"type": "text", "text": parts}] if isinstance(parts, str) else parts


def kinds(sim: Any) -> list[str]:
    return [p["text"] if p["type"] == "text" else "<image>" for p in content(sim)]


# --- quoting ------------------------------------------------------------------------------


def test_quoted_option_values_lose_their_quotes(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = picture("red")
    run(shell, 'pic --system "You are terse." --no-cache', "Colour?")
    assert sim.requests[-1]["messages"][0] == {"role": "system", "content": "You are terse."}
    run(shell, "pic --system 'Single quotes too.' --no-cache", "Colour?")
    assert sim.requests[-1]["messages"][0]["content"] == "Single quotes too."


def test_a_path_with_spaces_and_a_tilde(
    shell: InteractiveShell, sim: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "img").mkdir()
    picture("blue").save(tmp_path / "img" / "my photo.jpg")
    answer = run(shell, '-f "~/img/my photo.jpg" --no-cache', "Colour?")
    assert answer.images[0].label.endswith("my photo.jpg")
    answer = run(shell, '"img/my photo.jpg" --no-cache', "Colour?")  # relative, quoted
    assert answer.images[0].label.endswith("my photo.jpg")


@pytest.mark.parametrize("line", ['pic --system "unclosed', "pic --rule nonsense", "pic -t hot"])
def test_mistakes_in_the_line_are_one_usage_error(
    shell: InteractiveShell, sim: Any, line: str
) -> None:
    shell.user_ns["pic"] = picture("red")
    with pytest.raises(UsageError) as info:
        run(shell, line, "Colour?")
    assert "\n" not in str(info.value) and str(info.value)
    assert sim.requests == []


# --- placeholders ---------------------------------------------------------------------------


class Config:
    name = "widget"


def test_placeholders_follow_str_format(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns.update(pic=picture("red"), cfg={"k": "key value"}, n=7, obj=Config())
    cell = "A {obj.name}, {cfg[k]} and {cfg['k']}, number {n:03d}, {n!r}, {{literal}}."
    run(shell, "pic --no-cache", cell)
    assert kinds(sim)[-1] == "A widget, key value and key value, number 007, 7, {literal}."


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("Describe {missing}.", "no variable 'missing'"),
        ("A stray } brace", "stray brace"),
        ("Empty {} here", "empty placeholder"),
        ("{n:zz}", "placeholder {n}"),
    ],
)
def test_bad_placeholders_are_one_usage_error(
    shell: InteractiveShell, sim: Any, cell: str, reason: str
) -> None:
    shell.user_ns.update(pic=picture("red"), n=7)
    with pytest.raises(UsageError, match=reason) as info:
        run(shell, "pic", cell)
    assert "\n" not in str(info.value)
    assert sim.requests == []


def test_image_placeholders_interleave_as_written(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns.update(before=picture("red"), after=picture("blue", (640, 480)))
    answer = run(shell, "--no-cache", "Compare {before} with {after}.")
    assert kinds(sim) == ["Compare ", "<image>", " with ", "<image>", "."]
    assert [p.label for p in answer.images] == ["before", "after"]
    assert [(p.width, p.height) for p in answer.images] == [(320, 240), (640, 480)]


def test_a_placeholder_never_puts_the_key_into_the_prompt(
    shell: InteractiveShell, sim: Any
) -> None:
    import os

    shell.user_ns.update(os=os, pic=picture("red"))
    run(shell, "pic --dry-run", "Environment: {os.environ}")
    run(shell, "pic --no-cache", "Environment: {os.environ}")
    assert TEST_KEY not in str(sim.requests[-1])


# --- the Python API ----------------------------------------------------------------------------


def test_ask_with_a_list_interleaves(sim: Any, tmp_path: Path) -> None:
    path = tmp_path / "b.png"
    picture("blue").save(path)
    grok_nb.ask(["First:", picture("red"), "then second:", str(path)], cache="off")
    assert kinds(sim) == ["First:", "<image>", "then second:", "<image>"]
    grok_nb.ask_many([["Only:", picture("green")]], cache="off", progress=False)
    assert kinds(sim) == ["Only:", "<image>"]


def test_a_three_turn_conversation_in_python(sim: Any) -> None:
    conv = grok_nb.Conversation(options={"cache": "off"})
    first = conv.ask("What colour?", picture("red"))
    second = conv.ask("And this one?", picture("blue"))
    third = second.follow_up("Which was first?")
    assert len(conv) == 3 and conv.answers == [first, second, third]
    assert len(conv.images) == 2 and conv.cost_usd > 0
    roles = [m["role"] for m in sim.requests[-1]["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    images_sent = [
        p
        for m in sim.requests[-1]["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "image_url"
    ]
    assert len(images_sent) == 2  # the earlier images are resent
    branch = conv.fork()
    branch.ask("Another way?")
    assert len(conv) == 3 and len(branch) == 4
    conv.clear()
    assert len(conv) == 0 and conv.images == []


def test_an_answer_from_ask_can_be_followed_up(sim: Any) -> None:
    answer = grok_nb.ask("What colour?", picture("red"), cache="off", system="Be brief.")
    follow = answer.follow_up("Are you sure?")
    messages = sim.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == answer.text
    assert follow.conversation is answer.conversation


def test_a_lone_surrogate_is_one_usage_error_and_nothing_is_sent(
    shell: InteractiveShell, sim: Any
) -> None:
    shell.user_ns["pic"] = picture("red")
    with pytest.raises(UsageError, match="lone surrogate character \\(U\\+D800\\)"):
        run(shell, "pic --no-cache", "bad \ud800 text")
    with pytest.raises(grok_nb.ConfigError, match="the system prompt holds a lone surrogate"):
        grok_nb.ask("fine", picture("red"), system="x\udc80", cache="off")
    assert sim.requests == []


def test_a_malformed_base_url_is_one_usage_error(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = picture("red")
    settings = current()
    settings.base_url = "not a url"
    try:
        with pytest.raises(UsageError, match="base_url") as info:
            run(shell, "pic --no-cache", "Colour?")
        assert "\n" not in str(info.value)
    finally:
        settings.base_url = None
    assert sim.requests == []
