"""The one secret scrubber: what counts as a secret, how it is masked, redact-then-cut.

Every text grok_nb shows, raises, logs or stores that may hold the API key goes
through here: server error messages and bodies (object keys included, not only
values), stream error events, the redacted request shown on an ``Answer``, and
cache records. Two rules make it safe:

- **Redact first, truncate after.** A message cut to 80/200/500 characters before
  redaction can end in the first characters of a key, which neither exact matching
  nor the key-shape pattern then recognises. ``redact_truncate`` does the order right.
- **Exact values and key shapes.** The given secrets (and the configured key: the
  ``XAI_API_KEY`` environment variable or ``.env`` line) are replaced wherever they
  appear; anything shaped like an xAI key is replaced too, even if it is not the key
  in use (a key pasted into a prompt, a proxy echoing another key).

It is a leaf module (standard library only; python-dotenv only when a ``.env`` file
exists) so that both the wire layer (``grok_nb.api``) and the cache layer
(``grok_nb.cache``, which must not import ``grok_nb.api``) can use it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "API_KEY_ENV",
    "KEY_SHAPE",
    "MASK",
    "MIN_SECRET_LEN",
    "configured_secrets",
    "redact",
    "redact_obj",
    "redact_truncate",
    "secret_values",
    "truncate",
]

API_KEY_ENV = "XAI_API_KEY"
MASK = "[redacted]"
# Shorter strings cannot be real API keys (a test's "sim"); masking them would mangle text.
MIN_SECRET_LEN = 8
# xAI keys look like "xai-" followed by a long token.
KEY_SHAPE = re.compile(r"xai-[A-Za-z0-9_\-]{16,}")
ELLIPSIS = "…"


def _value(secret: Any) -> str | None:
    # plain strings, and wrappers with a .get() (grok_nb.api.credentials.Secret)
    getter = getattr(secret, "get", None)
    value = secret if isinstance(secret, str) or not callable(getter) else getter()
    return value.strip() if isinstance(value, str) else None


def secret_values(secrets: Iterable[Any]) -> tuple[str, ...]:
    """The usable secret strings among ``secrets``, longest first (so a key that
    contains another key is masked whole); short and empty values are dropped."""
    found = {v for v in map(_value, secrets) if v and len(v) >= MIN_SECRET_LEN}
    return tuple(sorted(found, key=len, reverse=True))


def _dotenv_key(cwd: Path | None = None) -> str | None:
    path = (cwd or Path.cwd()) / ".env"
    if not path.is_file():
        return None
    from dotenv import dotenv_values  # only when a .env file exists

    with contextlib.suppress(Exception):  # an unreadable .env holds no key we could leak
        return dotenv_values(path).get(API_KEY_ENV)
    return None


def configured_secrets(extra: Iterable[Any] = ()) -> tuple[str, ...]:
    """``extra`` plus the key configured now (environment, then ``.env``)."""
    return secret_values([os.environ.get(API_KEY_ENV), _dotenv_key(), *extra])


def _mask(text: str, values: tuple[str, ...]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return KEY_SHAPE.sub(MASK, text) if "xai-" in text else text


def redact(text: str, secrets: Iterable[Any] = ()) -> str:
    """``text`` with every given secret, and anything shaped like an xAI key, masked."""
    return _mask(text, secret_values(secrets))


def redact_obj(obj: Any, secrets: Iterable[Any] = ()) -> Any:
    """A copy of a JSON-like value with every string masked: values and object keys."""
    values = secret_values(secrets)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _mask(node, values)
        if isinstance(node, dict):
            return {_mask(str(k), values): walk(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v) for v in node]
        return node

    return walk(obj)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut. Only ever call
    this on text that is already redacted (``redact_truncate`` does both)."""
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def redact_truncate(text: str, limit: int, secrets: Iterable[Any] = ()) -> str:
    """Redact, then truncate: no key prefix survives the cut."""
    return truncate(redact(text, secrets), limit)
