"""``grok_nb.Chat``, driven through its message handler as the browser drives it, against
the simulator: images as bytes, streamed deltas, Stop, caps, cells and saved state."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.widget import _remove_buffers
from PIL import Image

from grok_nb import Chat, Conversation
from grok_nb.calls import plan_call
from grok_nb.images import MAX_FILE_MB
from grok_nb.notebook.chat import ChatAssets
from grok_nb.render import answer_footer
from grok_nb.tiling import plan as plan_tiles

REPO = Path(__file__).resolve().parents[1]
JS = REPO / "grok_nb" / "notebook" / "js"


class Recorder:
    """Stands in for the front end: keeps every custom message the chat sends."""

    def __init__(self, chat: Chat) -> None:
        self.messages: list[dict[str, Any]] = []
        self.buffers: list[list[Any]] = []
        chat.send = self._send  # type: ignore[method-assign]

    def _send(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        self.messages.append(content)
        self.buffers.append(list(buffers or []))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]


def png(w: int = 640, h: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((w, h)).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def make_chat(**options: Any) -> tuple[Chat, Recorder]:
    chat = Chat(cache="off", **options)
    return chat, Recorder(chat)


def drop(chat: Chat, data: bytes, name: str = "photo.png", image_id: str = "b1") -> None:
    """What chat.js sends for a dropped file: JSON without the bytes, plus one buffer."""
    content = {"type": "attach", "id": image_id, "name": name, "mime": "image/png"}
    chat._on_panel_msg(chat, content, [memoryview(data)])


def send(chat: Chat, text: str) -> None:
    chat._on_panel_msg(chat, {"type": "send", "text": text}, [])


def test_a_dropped_image_is_prepared_and_the_answer_streams_in_deltas_with_its_footer(
    sim: Any,
) -> None:
    chat, front = make_chat()
    drop(chat, png())
    assert [(p["name"], p["width"], p["height"], p["tokens"]) for p in chat.pending] == [
        ("photo.png", 640, 480, plan_tiles(640, 480, chat.rule).tokens)
    ]
    send(chat, "What is in this picture?")
    chat.wait(30)
    deltas = front.of("delta")
    answer = chat.conversation.answers[-1]
    assert len(deltas) > 3 and "".join(d["text"] for d in deltas) == answer.text
    assert max(len(d["text"]) for d in deltas) < len(answer.text) / 2  # pieces, not the text
    assert front.messages[0]["type"] == "start"
    assert front.of("end") == [
        {"type": "end", "turn": 1, "status": "done", "text": "What is in this picture?"}
    ]
    entry = chat.transcript[-1]
    assert entry["answer"] == answer.text and entry["status"] == "done"
    assert entry["footer"] == answer_footer(answer) and "tokens" in entry["footer"]
    assert chat.pending == [] and chat.streaming is False
    assert chat.total_usd == pytest.approx(chat.conversation.cost_usd) and chat.total_usd > 0
    image_parts = [
        p for p in sim.requests[-1]["messages"][-1]["content"] if p["type"] == "image_url"
    ]
    assert len(image_parts) == 1


def test_a_second_message_continues_the_conversation(sim: Any) -> None:
    chat, _front = make_chat()
    drop(chat, png())
    send(chat, "First?")
    chat.wait(30)
    send(chat, "And then?")
    chat.wait(30)
    assert isinstance(chat.conversation, Conversation) and len(chat.conversation) == 2
    assert [m["role"] for m in sim.requests[-1]["messages"]] == ["user", "assistant", "user"]
    assert chat.context["history_image_tokens"] == plan_tiles(640, 480, chat.rule).tokens


def test_stop_mid_stream_keeps_the_partial_text(sim: Any) -> None:
    sim.tokens_per_s = 25  # slow enough to press Stop in the middle
    chat, front = make_chat()
    send(chat, "Describe everything at length.")
    deadline = time.monotonic() + 10
    while len(front.of("delta")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    chat._on_panel_msg(chat, {"type": "stop"}, [])
    chat.wait(30)
    entry = chat.transcript[-1]
    streamed = "".join(d["text"] for d in front.of("delta"))
    assert entry["status"] == "stopped" and entry["answer"] == streamed
    assert len(entry["answer"]) > 0
    partial = chat.conversation.answers[-1]
    assert partial.finish_reason == "interrupted" and "finish: interrupted" in entry["footer"]
    assert front.of("end")[-1]["status"] == "stopped" and chat.streaming is False
    # the stopped answer is in the conversation: the next message resends it
    sim.tokens_per_s = None
    send(chat, "Go on.")
    chat.wait(30)
    assert sim.requests[-1]["messages"][1] == {"role": "assistant", "content": streamed}


def test_a_message_over_the_cap_is_refused_in_the_panel_and_nothing_is_sent(sim: Any) -> None:
    chat, front = make_chat(max_cost_usd=0.000001)
    drop(chat, png())
    send(chat, "Too dear?")
    chat.wait(30)
    assert sim.requests == []
    assert chat.error_kind == "refused" and "max_cost_usd" in chat.error
    assert "nothing was sent" in chat.error
    assert front.of("end")[-1] == {
        "type": "end",
        "turn": 1,
        "status": "refused",
        "text": "Too dear?",
    }
    assert len(chat.pending) == 1 and chat.transcript == []  # the images wait for another try


def test_an_undecodable_drop_shows_the_image_error_in_the_panel(sim: Any) -> None:
    chat, front = make_chat()
    drop(chat, b"this is not an image at all", name="notes.png", image_id="b9")
    assert chat.pending == []
    assert chat.error_kind == "image" and chat.error.startswith("notes.png: ")
    assert front.of("attach_error") == [{"type": "attach_error", "id": "b9", "message": chat.error}]


def test_an_oversized_drop_is_refused_with_the_file_size_message() -> None:
    chat, front = make_chat()
    size = int((MAX_FILE_MB + 1) * 1024 * 1024)
    chat._on_panel_msg(chat, {"type": "too_big", "id": "b2", "name": "huge.tif", "size": size}, [])
    assert chat.error == (
        f"huge.tif: huge.tif is {size / 1024 / 1024:,.1f} MB, over the max_file_mb="
        f"{MAX_FILE_MB:g} MB limit; pass max_file_mb=... to allow it"
    )
    small, _ = make_chat(max_file_mb=0.001)
    drop(small, png())  # the kernel checks the bytes it got too
    assert "over the max_file_mb=0.001 MB limit" in small.error and small.pending == []
    assert front.of("attach_error")[0]["id"] == "b2"


def test_images_travel_as_bytes_never_base64_in_json(sim: Any) -> None:
    chat, _ = make_chat()
    chat.add(Image.new("RGB", (900, 300), "teal"), name="banner")
    drop(chat, png())
    state = chat.get_state()
    stripped, paths, buffers = _remove_buffers(state)
    assert [p for p in paths if p[0] == "pending"] == [["pending", 0, "preview"]]
    assert bytes(buffers[0]).startswith(b"\x89PNG")
    text = json.dumps(stripped)
    assert "base64" not in text and "iVBOR" not in text  # no encoded PNG anywhere in JSON
    kernel, browser = chat.pending
    assert (kernel["origin"], kernel["width"], kernel["height"]) == ("kernel", 900, 300)
    assert browser["preview"] is None  # the browser keeps its own pixels


def test_saved_state_is_small_and_the_js_lives_once_per_kernel() -> None:
    one, _ = make_chat()
    two, _ = make_chat()
    assert isinstance(one._assets, ChatAssets) and one._assets is two._assets
    state = json.dumps(_remove_buffers(one.get_state())[0])
    assert len(state) < 8_000, len(state)
    assert "export function plan" not in state and ".grok-chat" not in state
    assets = one._assets.get_state()
    assert assets["tiles_js"] == (JS / "tiles.js").read_text(encoding="utf-8")
    assert assets["css"] == (JS / "chat.css").read_text(encoding="utf-8")


def test_the_mimebundle_carries_the_transcript_with_footers(sim: Any) -> None:
    chat, _ = make_chat()
    send(chat, "Hello <b>there</b>?")
    chat.wait(30)
    data, _meta = chat._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    footer = chat.transcript[0]["footer"]
    assert "Hello &lt;b&gt;there&lt;/b&gt;?" in data["text/html"]
    assert footer.split(" · ")[0] in data["text/html"] and footer in data["text/plain"]
    assert "chat total" in data["text/plain"]


def test_to_cells_replays_the_first_turn_through_the_magic(sim: Any) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    chat, _ = make_chat()
    drop(chat, png())
    send(chat, "What {colour} is it?")
    chat.wait(30)
    send(chat, "Sure?")
    chat.wait(30)
    first, second = chat.to_cells()
    assert first["source"].startswith("%%grokvision chat.images[0] --model ")
    assert first["source"].endswith("\nWhat {{colour}} is it?")
    assert "--continue" in second["source"] and "--continue" not in first["source"]
    assert chat.cells_text == first["source"] + "\n\n" + second["source"]
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "grok_nb")
    shell.user_ns["chat"] = chat
    asked = sim.requests[0]
    with capture_output():
        shell.run_cell(first["source"].replace("%%grokvision ", "%%grokvision --no-cache ", 1))
    assert sim.requests[-1]["messages"] == asked["messages"]
    md = chat.to_cells(markdown=True)
    assert [c["cell_type"] for c in md] == ["markdown"] * 4 and "**Grok:**" in md[1]["source"]


def test_the_line_magic_opens_a_chat_in_a_variable() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "grok_nb")
    chat = shell.run_line_magic("grokvision_chat", "--name panel --detail low --rule ceil")
    assert isinstance(chat, Chat) and shell.user_ns["panel"] is chat
    assert (chat.detail, chat.rule, chat.name) == ("low", "ceil", "panel")


# --- the browser's estimate (js/chat_estimate.js) is Python's (grok_nb.estimate) ------


def _js_estimate(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    script = (
        f"import * as T from {json.dumps((JS / 'tiles.js').as_uri())};"
        f"import {{ estimateNext }} from {json.dumps((JS / 'chat_estimate.js').as_uri())};"
        "import { readFileSync } from 'node:fs';"
        "const cases = JSON.parse(readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(cases.map((c) => estimateNext(T, c))));"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"system": "Be brief. ☃", "max_tokens": 300},
        {"detail": "low"},
        {"tile_rule": "ceil", "model": "grok-4"},
    ],
)
def test_the_browser_estimate_equals_plan_call_estimate(sim: Any, options: dict[str, Any]) -> None:
    chat, _ = make_chat(**options)
    drop(chat, png(1200, 700))
    send(chat, "A first question with an emoji 🙂 so code points count.")
    chat.wait(30)
    chat.add(Image.new("RGB", (333, 2000)), name="tall")
    prompt = "Next: 🙂🙂 compare them ✓"
    sizes = [(p["width"], p["height"]) for p in chat.pending]
    call = chat.conversation.plan(prompt, [p.source for p in chat._pending], **chat.turn_options())
    price = next(m["price"] for m in chat.models if m["name"] == chat.model)
    (js,) = _js_estimate(
        [
            {
                "text": prompt,
                "images": [{"width": w, "height": h} for w, h in sizes],
                "ctx": chat.context,
                "price": price,
                "rule": chat.rule,
                "detail": chat.detail,
            }
        ]
    )
    est = call.estimate
    assert (js["textTokens"], js["imageTokens"]) == (est.text_tokens, est.image_tokens)
    # the panel shows the cold price: what the next message costs if xAI's prompt cache
    # does not hit (Python also shows the lower "expected cached" figure; the cap uses cold)
    cold = est.cold_prompt_usd if est.cold_prompt_usd is not None else est.prompt_usd
    assert js["promptUsd"] == cold
    assert js["worstUsd"] == cold + (est.max_completion_usd or 0.0)


def test_the_browser_estimate_doubles_at_the_long_context_tier() -> None:
    call = plan_call("x" * 900_000, model="grok-4", max_tokens=50)
    chat, _ = make_chat(model="grok-4", max_tokens=50)
    price = next(m["price"] for m in chat.models if m["name"] == "grok-4")
    case = {"text": "x" * 900_000, "images": [], "ctx": chat.context, "price": price}
    (js,) = _js_estimate([{**case, "rule": chat.rule, "detail": "high"}])
    assert js["textTokens"] == call.estimate.text_tokens == 225_000
    assert js["worstUsd"] == call.estimate.worst_usd
