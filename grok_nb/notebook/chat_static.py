"""The chat panel's transcript without a widget: cells to paste, and a static view.

``to_cells`` turns the exchange into ``%%grokvision`` cells (the first turn asks, the
rest ``--continue`` the same conversation; images are named ``chat.images[i]``, an
expression the magic evaluates in the namespace) or into Markdown cells.
``transcript_bundle`` is what a saved notebook shows where no widget front end runs:
every turn with its footer, as escaped HTML and as plain text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from grok_nb.pricing import format_usd

__all__ = ["cells_text", "to_cells", "transcript_bundle"]


def _escape_format(text: str) -> str:
    """Prompt text as literal ``str.format`` text (the magic formats cell bodies)."""
    return text.replace("{", "{{").replace("}", "}}")


def _code_cell(entry: dict[str, Any], first_image: int, name: str, follow: bool) -> str:
    flags = [f"--model {entry['model']}", f"--detail {entry['detail']}", f"--rule {entry['rule']}"]
    if follow:
        flags.append("--continue")
    refs = [f"{name}.images[{first_image + i}]" for i in range(len(entry["images"]))]
    return "%%grokvision " + " ".join([*refs, *flags]) + "\n" + _escape_format(entry["prompt"])


def _image_note(images: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{i['name']} ({i['width']}×{i['height']})" for i in images)


def _markdown_cells(entry: dict[str, Any]) -> list[dict[str, str]]:
    you = f"**You:** {entry['prompt']}"
    if entry["images"]:
        you += f"\n\n*images: {_image_note(entry['images'])}*"
    stopped = " *(stopped)*" if entry["status"] == "stopped" else ""
    grok = (
        f"**Grok:**{stopped}\n\n{entry['answer']}\n\n<small>{html.escape(entry['footer'])}</small>"
    )
    return [{"cell_type": "markdown", "source": you}, {"cell_type": "markdown", "source": grok}]


def to_cells(
    transcript: Sequence[dict[str, Any]], name: str = "chat", *, markdown: bool = False
) -> list[dict[str, str]]:
    """``[{"cell_type": "code" | "markdown", "source": ...}, ...]`` for every turn."""
    cells: list[dict[str, str]] = []
    first_image = 0
    for n, entry in enumerate(transcript):
        if markdown:
            cells += _markdown_cells(entry)
        else:
            source = _code_cell(entry, first_image, name, follow=n > 0)
            cells.append({"cell_type": "code", "source": source})
        first_image += len(entry["images"])
    return cells


def cells_text(cells: Sequence[dict[str, str]]) -> str:
    """The cells one after another, a blank line apart (paste, then split each cell at
    its ``%%grokvision`` line: Ctrl+Shift+- in JupyterLab)."""
    return "\n\n".join(c["source"] for c in cells)


def _html_text(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def transcript_bundle(transcript: Sequence[dict[str, Any]], total_usd: float) -> dict[str, str]:
    """text/html + text/plain of every turn with its footer, and the running total."""
    rows: list[str] = []
    plain: list[str] = []
    for entry in transcript:
        images = f" <i>[{html.escape(_image_note(entry['images']))}]</i>" if entry["images"] else ""
        stopped = " <i>(stopped)</i>" if entry["status"] == "stopped" else ""
        rows.append(
            f"<div><b>You:</b> {_html_text(entry['prompt'])}{images}</div>"
            f"<div><b>Grok:</b>{stopped} {_html_text(entry['answer'])}</div>"
            f"<div><small>{html.escape(entry['footer'])}</small></div><hr>"
        )
        note = f" [{_image_note(entry['images'])}]" if entry["images"] else ""
        plain += [f"You: {entry['prompt']}{note}", f"Grok: {entry['answer']}", entry["footer"], ""]
    total = f"chat total {format_usd(total_usd)}"
    if not transcript:
        rows.append("<div><i>empty chat</i></div>")
        plain.append("(empty chat)")
    return {
        "text/html": '<div class="grok-chat-static">' + "".join(rows) + f"<p>{total}</p></div>",
        "text/plain": "\n".join([*plain, total]),
    }
