"""From what a notebook user types to what is sent: the magic's line and its cell.

- The line is split with POSIX shell quoting: ``--system "You are terse."`` sends the
  words without the quotes, ``-f "img/my photo.jpg"`` names one file, ``~`` works in
  paths, and an unbalanced quote is one ``UsageError`` line.
- The cell is a ``str.format`` template over the user namespace: ``{name}``,
  ``{name.attr}``, ``{name[key]}``, ``{n:03d}``, ``{x!r}``, ``{{``/``}}`` for braces,
  and (like an f-string) ``{cfg['k']}``. A placeholder whose value is an image
  (``{fig}``, ``{photo}``) puts that image at that point of the prompt:
  ``Compare {before} with {after}.`` interleaves exactly as written. A name that does
  not exist is a ``UsageError`` naming it. Text put in by a placeholder is redacted,
  so ``{os.environ}`` cannot put the API key into a prompt.
"""

from __future__ import annotations

import shlex
import string
from typing import Any

from IPython.core.error import UsageError

from grok_nb.images import looks_like_image
from grok_nb.preparing import Labelled, Text
from grok_nb.redact import configured_secrets, redact

__all__ = ["prompt_parts_from_cell", "split_line"]

_FORMATTER = string.Formatter()


def split_line(line: str, magic: str) -> list[str]:
    """The magic's line as shell words (quotes removed, as in a terminal)."""
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise UsageError(f"{magic}: {exc} in the options: {line.strip()!r}") from None


def _lookup(field: str, namespace: dict[str, Any]) -> Any:
    """The value of one placeholder: ``str.format`` field semantics first (``{d[k]}``
    indexes with the string "k"), else the field as a Python expression (``{d['k']}``)."""
    missing: Exception
    try:
        value, _first = _FORMATTER.get_field(field, (), namespace)
        return value
    except KeyError as exc:
        name = field.split(".")[0].split("[")[0]
        if name not in namespace:
            raise UsageError(
                f"prompt placeholder {{{field}}}: there is no variable {name!r} in this "
                "notebook (write {{ and }} for literal braces)"
            ) from None
        missing = exc
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        missing = exc
    try:
        return eval(field, namespace)  # the user's own expression, as an f-string would
    except Exception:
        raise UsageError(
            f"prompt placeholder {{{field}}}: {type(missing).__name__}: {missing}"
        ) from None


def _formatted(field: str, value: Any, conversion: str | None, spec: str) -> str:
    try:
        return _FORMATTER.format_field(_FORMATTER.convert_field(value, conversion), spec)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"prompt placeholder {{{field}}}: {exc}") from None


def prompt_parts_from_cell(cell: str, namespace: dict[str, Any]) -> list[Any]:
    """The cell as prompt parts: ``Text`` pieces and, where a placeholder names an image,
    that image (``Labelled`` with the placeholder as its name)."""
    try:
        pieces = list(_FORMATTER.parse(cell))
    except ValueError as exc:  # "Single '}' encountered in format string"
        raise UsageError(
            f"the prompt has a stray brace ({exc}); write {{{{ and }}}} for literal braces"
        ) from None
    parts: list[Any] = []
    secrets = configured_secrets()
    for literal, field, spec, conversion in pieces:
        if literal:
            parts.append(Text(literal))
        if field is None:
            continue
        if not field.strip():
            raise UsageError(
                "the prompt has an empty placeholder {}: name a variable, or write {{ and }} "
                "for literal braces"
            )
        value = _lookup(field, namespace)
        if not spec and conversion is None and looks_like_image(value):
            parts.append(Labelled(value, field))
            continue
        parts.append(Text(redact(_formatted(field, value, conversion, spec or ""), secrets)))
    return _merged(parts)


def _merged(parts: list[Any]) -> list[Any]:
    """Adjacent text pieces joined: one text part between two images."""
    out: list[Any] = []
    for part in parts:
        if isinstance(part, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1] + part)
        else:
            out.append(part)
    return out
