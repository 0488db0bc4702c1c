"""Where the API key and base URL come from, and how the key is kept out of sight.

Both are looked up when a call is made, not at import, so ``%env XAI_API_KEY=...``
or editing ``.env`` in a running kernel takes effect at the next call. Order:
an explicit argument, then the environment, then a ``.env`` file in the current
working directory (read with python-dotenv, never copied into ``os.environ``).

The key is wrapped in ``Secret`` wherever it is stored, so a stray ``repr`` or
``vars(client)`` in a notebook cell shows ``Secret('***')``; ``redact`` scrubs
it (and anything shaped like an xAI key) from text before it is shown or raised.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from grok_nb.errors import ConfigError, MissingKeyError

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_BASE_URL",
    "ENV_KEY",
    "Secret",
    "find_api_key",
    "redact",
    "redact_obj",
    "require_api_key",
    "resolve_base_url",
]

ENV_KEY = "XAI_API_KEY"
ENV_BASE_URL = "XAI_BASE_URL"
DEFAULT_BASE_URL = "https://api.x.ai/v1"
MASK = "***"

# xAI keys look like "xai-" followed by a long token; anything of that shape is
# scrubbed even when it is not the key in use (a key pasted into a prompt, an
# echo in a proxy's error message).
_KEY_SHAPE = re.compile(r"xai-[A-Za-z0-9_\-]{16,}")


class Secret:
    """A string that never shows itself in ``repr``/``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:  # never pickled into a file by accident
        raise TypeError("Secret values cannot be pickled")


def _dotenv(cwd: Path | None = None) -> dict[str, str]:
    path = (cwd or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v}


def _lookup(name: str, cwd: Path | None = None) -> tuple[str | None, str]:
    value = os.environ.get(name, "").strip()
    if value:
        return value, f"the {name} environment variable"
    value = _dotenv(cwd).get(name, "").strip()
    if value:
        return value, f"{name} in .env"
    return None, ""


def find_api_key(explicit: str | Secret | None = None, *, cwd: Path | None = None) -> str | None:
    """The key to use now, or ``None`` when none is configured."""
    if isinstance(explicit, Secret):
        return explicit.get()
    if explicit:
        return explicit
    return _lookup(ENV_KEY, cwd)[0]


def require_api_key(explicit: str | Secret | None = None, *, cwd: Path | None = None) -> str:
    """The key to use now; ``MissingKeyError`` saying how to set one otherwise."""
    key = find_api_key(explicit, cwd=cwd)
    if key:
        return key
    raise MissingKeyError(
        "no xAI API key found. Set one with `export XAI_API_KEY=xai-...` before starting "
        "Jupyter, `%env XAI_API_KEY=xai-...` in the notebook, or a line "
        "`XAI_API_KEY=xai-...` in a .env file in the working directory "
        "(keys: https://console.x.ai). To try grok_nb without a key, run the offline "
        "simulator: `with grok_nb.simulator.serve() as sim:` and use "
        "`Client(api_key='sim', base_url=sim.base_url)` (or `grok-nb simulate`)."
    )


def resolve_base_url(explicit: str | None = None, *, cwd: Path | None = None) -> str:
    """The API base URL to use now (no trailing slash)."""
    if explicit:
        url, where = explicit.strip(), "base_url"
    else:
        found, where = _lookup(ENV_BASE_URL, cwd)
        url = found or DEFAULT_BASE_URL
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"{where or 'base URL'} is {url!r}; it must be an http(s) URL such as "
            f"{DEFAULT_BASE_URL!r}"
        )
    return url.rstrip("/")


def redact(text: str, secrets: Iterable[str | Secret | None] = ()) -> str:
    """``text`` with every given secret, and anything shaped like an xAI key, masked."""
    for s in secrets:
        value = s.get() if isinstance(s, Secret) else s
        # short values are not keys (a test's "sim"); masking them would mangle text
        if value and len(value) >= 8:
            text = text.replace(value, MASK)
    return _KEY_SHAPE.sub("xai-" + MASK, text)


def redact_obj(obj: object, secrets: Iterable[str | Secret | None] = ()) -> object:
    """A copy of a JSON-like value with every string passed through ``redact``."""
    secrets = tuple(secrets)
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {k: redact_obj(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v, secrets) for v in obj]
    return obj
