"""Where the API key and base URL come from, and how the key is kept out of sight.

Both are looked up when a call is made, not at import, so ``%env XAI_API_KEY=...``
or editing ``.env`` in a running kernel takes effect at the next call. Order:
an explicit argument, then the environment, then a ``.env`` file in the current
working directory (read with python-dotenv, never copied into ``os.environ``).

The key is wrapped in ``Secret`` wherever it is stored, so a stray ``repr`` or
``vars(client)`` in a notebook cell shows ``Secret('***')``; ``grok_nb.redact``
scrubs it (and anything shaped like an xAI key) from text before it is shown or raised.

A key is checked before it is used: surrounding whitespace (the newline of a key file)
is dropped, and a key with other characters an HTTP header cannot carry (a curly quote
pasted from a document) is refused with ``KeyFormatError``, which names the character
and never the key. A base URL carrying ``user:password@`` is refused (``ConfigError``,
password hidden): grok_nb authenticates with the API key only, never with Basic auth.

``%grokvision_simulate`` points grok_nb (not the environment) at a simulator running in
this kernel with ``use_kernel_simulator(url)``: ``resolve_base_url`` then returns that
URL whenever no base URL is given explicitly, and a call to it needs no key
(``is_kernel_simulator``) — for that one URL only, never for another endpoint.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from grok_nb.errors import ConfigError, MissingKeyError
from grok_nb.redact import API_KEY_ENV, redact, redact_obj

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_BASE_URL",
    "ENV_KEY",
    "KeyFormatError",
    "Secret",
    "base_url_problem",
    "find_api_key",
    "hide_userinfo",
    "is_kernel_simulator",
    "kernel_simulator",
    "key_problem",
    "redact",  # re-exported from grok_nb.redact, the one scrubber
    "redact_obj",
    "require_api_key",
    "resolve_base_url",
    "use_kernel_simulator",
]

ENV_KEY = API_KEY_ENV
ENV_BASE_URL = "XAI_BASE_URL"
DEFAULT_BASE_URL = "https://api.x.ai/v1"
MASK = "***"
# The bearer token sent to the in-kernel simulator (which accepts any): not a secret.
KERNEL_SIMULATOR_KEY = "grok_nb-simulator"

_kernel_simulator: str | None = None  # base URL of the simulator %grokvision_simulate runs


class KeyFormatError(MissingKeyError, ConfigError):
    """The configured API key has characters an HTTP header cannot carry.

    A ``MissingKeyError`` (there is no usable key) and a ``ConfigError``. The message
    names where the key came from and the offending character, never the key.
    """


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


def _find(explicit: str | Secret | None, cwd: Path | None) -> tuple[str | None, str]:
    if isinstance(explicit, Secret):
        explicit = explicit.get()
    if explicit and explicit.strip():
        return explicit.strip(), "the api_key argument"
    return _lookup(ENV_KEY, cwd)


def find_api_key(explicit: str | Secret | None = None, *, cwd: Path | None = None) -> str | None:
    """The key to use now (surrounding whitespace dropped), or ``None`` when none is set."""
    return _find(explicit, cwd)[0]


def key_problem(key: str, where: str) -> str | None:
    """Why an HTTP header cannot carry ``key`` (never quoting it), or ``None``."""
    for position, char in enumerate(key, 1):
        if "!" <= char <= "~":
            continue
        name = unicodedata.name(char, "")
        what = f"U+{ord(char):04X}" + (f" {name}" if name else "")
        if not char.isascii():
            why = "a non-ASCII character"
            hint = " (a curly quote or dash pasted from a document or chat?)"
        else:
            why, hint = "whitespace or a control character", ""
        return (
            f"the API key from {where} holds {why} at position {position} of {len(key)}: "
            f"{what}{hint}. An API key is plain ASCII letters, digits and dashes; copy it "
            f"again from https://console.x.ai into {ENV_KEY}"
        )
    return None


def require_api_key(explicit: str | Secret | None = None, *, cwd: Path | None = None) -> str:
    """The key to use now, checked; ``MissingKeyError`` saying how to set one otherwise."""
    key, where = _find(explicit, cwd)
    if key:
        problem = key_problem(key, where)
        if problem is None:
            return key
        # raised from a frame that no longer holds the key (verbose tracebacks show locals)
        key = explicit = None
        raise KeyFormatError(problem)
    raise MissingKeyError(
        "no xAI API key found. Set one with `export XAI_API_KEY=xai-...` before starting "
        "Jupyter, `%env XAI_API_KEY=xai-...` in the notebook, or a line "
        "`XAI_API_KEY=xai-...` in a .env file in the working directory "
        "(keys: https://console.x.ai). To try grok_nb without a key, run "
        "`%grokvision_simulate` in the notebook: grok_nb's offline simulator answers "
        "instead of a model, with no key (in Python `grok_nb.simulator.serve()`, from a "
        "shell `grok-nb simulate`)."
    )


# scheme://userinfo@ : everything between the scheme and the last "@" before any
# query or fragment is treated as credentials (and hidden), even when malformed.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^?#]*)@")


def hide_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` part shown as ``***@``."""
    return _USERINFO.sub(lambda m: m.group(1) + "***@", url, count=1)


def base_url_problem(url: str, where: str = "base_url") -> str | None:
    """Why ``url`` cannot be the API base URL (never showing a password), or ``None``."""
    if _USERINFO.match(url):
        return (
            f"{where} is {hide_userinfo(url)!r}: it holds a user name or password before "
            "'@'. grok_nb authenticates with XAI_API_KEY only and never sends credentials "
            "in the URL; remove the 'user:password@' part"
        )
    if not re.match(r"^https?://[^/\s]+", url):
        return f"{where} is {redact(url)!r}; it must be an http(s) URL such as {DEFAULT_BASE_URL!r}"
    return None


def use_kernel_simulator(url: str | None) -> None:
    """Point grok_nb at the simulator at ``url`` for this process (``None``: stop)."""
    global _kernel_simulator
    _kernel_simulator = url.rstrip("/") if url else None


def kernel_simulator() -> str | None:
    """The base URL of the simulator ``%grokvision_simulate`` runs, or ``None``."""
    return _kernel_simulator


def is_kernel_simulator(url: str | None) -> bool:
    """``url`` is the in-kernel simulator's base URL: the one endpoint needing no key."""
    return (
        _kernel_simulator is not None and url is not None and url.rstrip("/") == _kernel_simulator
    )


def resolve_base_url(explicit: str | None = None, *, cwd: Path | None = None) -> str:
    """The API base URL to use now (no trailing slash).

    Order: ``explicit`` (an argument, ``GrokVision.base_url``), then the simulator
    ``%grokvision_simulate`` runs in this kernel, then ``$XAI_BASE_URL`` (or ``.env``),
    then the default. A URL with ``user:password@`` is refused: the password would be
    sent as HTTP Basic auth to a host that wants the API key, and would show in errors
    and logs.
    """
    if explicit:
        url, where = explicit.strip(), "base_url"
    elif _kernel_simulator is not None:
        return _kernel_simulator
    else:
        found, where = _lookup(ENV_BASE_URL, cwd)
        url = found or DEFAULT_BASE_URL
    problem = base_url_problem(url, where or "base URL")
    if problem is not None:
        url = explicit = found = ""  # not left in this frame's locals for tracebacks
        raise ConfigError(problem)
    return url.rstrip("/")
