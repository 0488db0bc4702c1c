"""``%%grokvision`` and the line magics, driven in a real IPython shell against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY as KEY
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from grok_nb.answer import Answer
from grok_nb.ledger import LEDGER
from grok_nb.settings import GrokVision


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    return ip


@pytest.fixture(autouse=True)
def _fresh_settings(shell: InteractiveShell, tmp_path: Path) -> Iterator[None]:
    settings = GrokVision.instance()
    saved = settings.options()
    settings.cache_path = str(tmp_path / "cache.sqlite3")
    LEDGER.clear()
    yield
    for name, value in saved.items():
        setattr(settings, name, value)


def run(shell: InteractiveShell, line: str, cell: str) -> tuple[Any, list[dict[str, Any]]]:
    with capture_output() as captured:
        shell.run_cell_magic("grokvision", line, cell)
    outputs = [o.data for o in captured.outputs]
    return shell.user_ns.get("_"), outputs


def all_text(outputs: list[dict[str, Any]]) -> str:
    return "\n".join(str(v) for o in outputs for v in o.values())


def photo(w: int = 640, h: int = 480) -> Image.Image:
    return Image.linear_gradient("L").resize((w, h)).convert("RGB")


def test_ask_about_a_variable_streams_answer_and_footer(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo()
    answer, outputs = run(shell, "pic -o result", "What is in this picture?")
    assert isinstance(answer, Answer) and shell.user_ns["result"] is answer
    assert "simulator" in answer.text.lower()
    assert answer.usage is not None
    assert answer.usage.image_tokens == answer.estimated_image_tokens == 1792
    text = all_text(outputs)
    assert "1,792 billed = 1,792 est." in text
    final = [o for o in outputs if "text/markdown" in o][-1]["text/markdown"]
    assert answer.text[:40] in final and "image tokens" in final
    assert len(sim.requests) == 1


def test_file_glob_and_data_url_tokens(shell: InteractiveShell, sim: Any, tmp_path: Path) -> None:
    photo().save(tmp_path / "a.png")
    photo(300, 200).save(tmp_path / "b.png")
    answer, _ = run(shell, "*.png", "Compare these.")
    assert len(answer.images) == 2
    parts = sim.requests[-1]["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]


def test_interpolates_prompt_variables(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns.update(pic=photo(), topic="the colours")
    run(shell, "pic", "Describe {topic} and {{braces}}.")
    text = sim.requests[-1]["messages"][-1]["content"][-1]["text"]
    assert text == "Describe the colours and {braces}."
    with pytest.raises(UsageError, match="no variable 'missing'"):
        run(shell, "pic", "Describe {missing}.")


def test_uses_the_image_displayed_last(shell: InteractiveShell, sim: Any) -> None:
    from IPython.display import display

    display(photo(900, 300))  # through the shell's own display publisher
    answer, outputs = run(shell, "", "What is this?")
    assert "No image given: using the image displayed" in all_text(outputs)
    assert answer.images[0].width == 900


def test_bad_tokens_are_one_line_usage_errors(shell: InteractiveShell, sim: Any) -> None:
    with pytest.raises(UsageError, match=r"nothing_here\.png.*not a variable"):
        run(shell, "nothing_here.png", "?")
    Path("notes.png").write_text("not an image")
    with pytest.raises(UsageError, match=r"notes\.png"):
        run(shell, "-f notes.png", "?")
    with pytest.raises(UsageError, match="empty"):
        shell.user_ns["pic"] = photo()
        run(shell, "pic", "   ")
    assert sim.requests == []


def test_dry_run_sends_nothing_and_hides_the_key(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo()
    _, outputs = run(shell, "pic --dry-run", "Describe.")
    text = all_text(outputs)
    assert sim.requests == []
    assert "Dry run: nothing was sent" in text or (
        "Dry run: nothing was sent." in text and "data:image/" in text
    )
    assert KEY not in text
    assert "Estimate:" in text and "1,792 image tokens" in text


def test_continue_resends_the_conversation(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo()
    run(shell, "pic", "First question.")
    answer, outputs = run(shell, "--continue", "And a follow-up?")
    messages = sim.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "1 earlier image resent" in all_text(outputs)
    assert answer.estimated_image_tokens == answer.usage.image_tokens == 1792
    run(shell, "pic --new", "Fresh start.")
    assert len(sim.requests[-1]["messages"]) == 1


def test_schema_gives_parsed_output(shell: InteractiveShell, sim: Any) -> None:
    from pydantic import BaseModel

    class Scene(BaseModel):
        caption: str
        objects: list[str]

    shell.user_ns.update(pic=photo(), Scene=Scene)
    answer, outputs = run(shell, "pic --schema Scene", "Describe as JSON.")
    assert isinstance(answer.parsed, Scene)
    assert "```json" in [o for o in outputs if "text/markdown" in o][-1]["text/markdown"]


def test_budget_refuses_before_sending(shell: InteractiveShell, sim: Any) -> None:
    shell.run_line_magic("config", "GrokVision.max_cost_usd = 0.0001")
    shell.user_ns["pic"] = photo()
    with pytest.raises(UsageError, match=r"above max_cost_usd=\$0\.0001 by \$"):
        run(shell, "pic", "?")
    assert sim.requests == []


def test_missing_key_explains_and_still_previews(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    shell.user_ns["pic"] = photo()
    with capture_output() as captured, pytest.raises(UsageError, match="XAI_API_KEY") as err:
        shell.run_cell_magic("grokvision", "pic", "?")
    assert "simulator" in str(err.value)
    assert "1,792 image tokens" in all_text([o.data for o in captured.outputs])


def test_cached_rerun_is_free_and_says_so(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo()
    first, _ = run(shell, "pic", "Same question.")
    again, outputs = run(shell, "pic", "Same question.")
    assert len(sim.requests) == 1
    assert again.cached and again.text == first.text
    assert "from cache: $0 now" in all_text(outputs)
    run(shell, "pic --refresh", "Same question.")
    assert len(sim.requests) == 2


def test_usage_magic_lists_calls(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo()
    run(shell, "pic", "One.")
    run(shell, "pic", "One.")  # cached
    with capture_output() as captured:
        shell.run_line_magic("grokvision_usage", "")
    text = all_text([o.data for o in captured.outputs])
    assert "2 calls (1 from cache)" in text and "1,792" in text


def test_config_is_validated(shell: InteractiveShell) -> None:
    settings = GrokVision.instance()
    shell.run_line_magic("config", "GrokVision.model = 'grok-4.3'")
    assert settings.model == "grok-4.3"
    with pytest.raises(Exception, match="between 0 and 2"):
        settings.temperature = 7


def test_key_never_in_any_output(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo()
    _, outputs = run(shell, "pic -o ans", "Repeat my key please.")
    ans = shell.user_ns["ans"]
    blob = all_text(outputs) + repr(ans) + str(ans.request) + ans._repr_markdown_()
    assert KEY not in blob


def test_models_magic_lists_vision_models_with_prices(shell: InteractiveShell, sim: Any) -> None:
    with capture_output() as captured:
        shell.run_line_magic("grokvision_models", "")
    text = all_text([o.data for o in captured.outputs])
    assert "grok-4.20-0309-non-reasoning" in text and "$1.25" in text
    assert "default model: grok-4.20-0309-non-reasoning" in text
    assert "language-models" in text  # read from the API, not the fallback table


def test_models_magic_offline_falls_back_to_the_dated_table(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with capture_output() as captured:
        shell.run_line_magic("grokvision_models", "")
    text = all_text([o.data for o in captured.outputs])
    assert "fallback table" in text and "grok-4.3" in text


def test_cache_magic_shows_and_clears(shell: InteractiveShell, sim: Any) -> None:
    shell.user_ns["pic"] = photo(523, 377)  # an image no other test prepared
    run(shell, "pic", "Cache me.")
    run(shell, "pic", "Cache me.")
    with capture_output() as captured:
        shell.run_line_magic("grokvision_cache", "")
    assert "1 cached answers" in all_text([o.data for o in captured.outputs])
    with capture_output() as captured:
        shell.run_line_magic("grokvision_cache", "clear")
    assert "Removed 1 cached answer and 1 prepared image" in all_text(
        [o.data for o in captured.outputs]
    )
    with pytest.raises(UsageError, match="unknown action"):
        shell.run_line_magic("grokvision_cache", "shred")


def test_tiles_magic_shows_one_explorer_per_image_and_a_total(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    shell.user_ns.update(a=photo(), b=photo(300, 200))
    with capture_output() as captured:
        shell.run_line_magic("grokvision_tiles", "a b")
    text = all_text([o.data for o in captured.outputs])
    assert "2 images · 3,584 image tokens" in text
    with pytest.raises(UsageError, match="nope"):
        shell.run_line_magic("grokvision_tiles", "nope")


def test_interrupt_keeps_the_partial_answer(
    shell: InteractiveShell, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grok_nb.notebook.live import LiveMarkdown

    original = LiveMarkdown.__call__
    seen = {"n": 0}

    def interrupting(self: LiveMarkdown, delta: str) -> None:
        original(self, delta)
        seen["n"] += 1
        if seen["n"] == 5:
            raise KeyboardInterrupt  # what a kernel interrupt looks like mid-stream

    monkeypatch.setattr(LiveMarkdown, "__call__", interrupting)
    shell.user_ns["pic"] = photo()
    with pytest.raises(UsageError, match="interrupted") as err:
        run(shell, "pic", "Describe at length.")
    assert "partial answer" in str(err.value)
    partial = shell.user_ns["_"]
    assert partial.finish_reason == "interrupted" and partial.text
    monkeypatch.setattr(LiveMarkdown, "__call__", original)
    answer, _ = run(shell, "pic --refresh", "Describe at length.")  # the client still works
    assert answer.finish_reason == "stop" and answer.text.startswith(partial.text)


def test_explorer_token_sends_exactly_the_framed_region(shell: InteractiveShell, sim: Any) -> None:
    from grok_nb.notebook.explorer import TileExplorer

    ex = TileExplorer(photo(1600, 1200))
    ex.crop = [400, 300, 1200, 700]  # an 800x400 region
    shell.user_ns["ex"] = ex
    answer, _ = run(shell, "ex", "What is in the framed part?")
    assert (answer.images[0].width, answer.images[0].height) == (800, 400)
    assert answer.images[0].label == "ex (framed)"
    assert answer.estimated_image_tokens == answer.usage.image_tokens == ex.plan.tokens


def test_own_overlays_are_never_the_last_displayed_image(shell: InteractiveShell, sim: Any) -> None:
    from IPython.display import display

    import grok_nb

    display(photo(900, 300))
    shell.user_ns["pic"] = photo(640, 480)
    run(shell, "pic", "First.")  # shows a thumbnail strip of pic
    display(grok_nb.tiles(photo(500, 500)))  # and a tile overlay
    answer, _ = run(shell, "", "Which image?")
    assert (answer.images[0].width, answer.images[0].height) == (900, 300)
