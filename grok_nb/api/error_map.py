"""HTTP error responses -> grok_nb exceptions (the retry rules are in ``retry.py``).

xAI error bodies come in several shapes (``{"code", "error"}``, ``{"error":
{"message"}}``, a bare JSON string, plain text); ``server_message`` finds the
server's words in each so they always reach the user. Two cases get plain
language of their own, whatever status they arrive with:

- a rejected key: any 401, and a 400 about the API key (xAI answers a wrong key with
  400 "Incorrect API key provided") -> ``AuthenticationError`` naming ``XAI_API_KEY``;
- no credits: a 403 or 429 whose words mention credits or the spending limit (a new
  team with no credits gets 403, spent credits 403 or 429) -> ``CreditsExhausted``,
  saying where to add credits or raise the limit; never retried.

A message that arrives percent-encoded (an early-2025 wrong-key reply read
``Incorrect%20API%20key%20provided:...``) is decoded, but only when it looks encoded:
no whitespace at all and ``%20`` or at least two ``%XX`` escapes, so a message that
merely quotes an encoded URL is shown as sent.

Everything the server sent is redacted before it is parsed, cut or kept
(``grok_nb.redact``): the raw text first (so a key used as a JSON object key, or
one JSON escapes would hide after parsing, is caught), then every string and object
key of the parsed body; a decoded message is redacted again (decoding can reveal a
key the escapes hid), and only then is the message cut to ``MAX_MESSAGE_CHARS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from grok_nb.api.credentials import Secret
from grok_nb.api.retry import parse_retry_after
from grok_nb.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CreditsExhausted,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from grok_nb.redact import redact, redact_obj, truncate

__all__ = ["MAX_MESSAGE_CHARS", "decode_if_encoded", "error_for_status", "server_message"]

MAX_MESSAGE_CHARS = 500
CONSOLE_URL = "https://console.x.ai"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_CONSOLE_LINK = re.compile(r"https://console\.x\.ai[^\s]*")
_KEY_WORDS = ("api key", "api-key", "api_key", "apikey")
_UNAUTHENTICATED_CODES = ("unauthenticated", "valid authentication credentials")

_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    415: UnprocessableEntityError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def server_message(text: str, secrets: Iterable[str | Secret | None] = ()) -> tuple[str, Any]:
    """(the server's message, the parsed body) for an error response body of any shape,
    both redacted; the message is cut to ``MAX_MESSAGE_CHARS`` after redaction."""
    secrets = tuple(secrets)
    text = redact(text, secrets).strip()
    try:
        body: Any = redact_obj(json.loads(text), secrets)
    except ValueError:
        body = text
    message: Any = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message") or err.get("error") or err.get("code")
        elif err:
            message = err
        if not message:
            message = body.get("message") or body.get("detail") or body.get("code")
        if not message:
            message = text
    elif isinstance(body, str):
        message = body
    else:
        message = text
    message = str(message)
    decoded = decode_if_encoded(message)
    if decoded != message:
        message = redact(decoded, secrets)
    message = truncate(" ".join(message.split()), MAX_MESSAGE_CHARS)
    return message or "(empty response body)", body


def decode_if_encoded(message: str) -> str:
    """``message`` percent-decoded when it looks percent-encoded (no whitespace, and
    ``%20`` or two or more ``%XX`` escapes); otherwise unchanged."""
    if not message or any(c.isspace() for c in message):
        return message
    escapes = _ESCAPE.findall(message)
    if "%20" not in escapes and len(escapes) < 2:
        return message
    from urllib.parse import unquote  # rare path

    return unquote(message, errors="replace")


def _code(body: Any) -> str:
    code = body.get("code") if isinstance(body, dict) else None
    return code.lower() if isinstance(code, str) else ""


def _is_bad_key(status: int, message: str, code: str) -> bool:
    if status == 401:
        return True
    if status != 400:
        return False
    low = message.lower()
    return any(w in low for w in _KEY_WORDS) or any(c in code for c in _UNAUTHENTICATED_CODES)


def _is_credits(status: int, message: str) -> bool:
    low = message.lower()
    return status in (403, 429) and ("credit" in low or "spending limit" in low)


def _credits_message(message: str) -> str:
    link = _CONSOLE_LINK.search(message)
    where = link.group(0).rstrip(".,;:)") if link else CONSOLE_URL
    low = message.lower()
    if "spending limit" in low or "used all" in low:
        what = "has no credits left or has reached its monthly spending limit"
        fix = "Add credits, or raise the monthly spending limit,"
    else:
        what = "has no credits yet"
        fix = "Add credits"
    return (
        f"your xAI team {what}, so xAI refused the request; it was not retried (retrying "
        f"cannot help). {fix} on the team's billing page at {where}, then run the cell "
        f"again (server said: {message})"
    )


def error_for_status(
    status: int,
    text: str,
    headers: Mapping[str, str],
    *,
    url: str,
    secrets: Iterable[str | Secret | None] = (),
) -> APIError:
    """The exception for an error response; every text in it is redacted."""
    secrets = tuple(secrets)
    message, body = server_message(text, secrets)
    request_id = headers.get("x-request-id") or headers.get("request-id")
    request_id = None if request_id is None else redact(request_id, secrets)
    retry_after = parse_retry_after(headers)
    host = url.split("/")[2] if "://" in url else url
    cls: type[APIError]
    if _is_bad_key(status, message, _code(body)):
        cls = AuthenticationError
        message = (
            f"the API key was rejected by {host} ({message}). Check XAI_API_KEY (environment "
            f"or .env) holds a current key from {CONSOLE_URL}"
        )
    elif _is_credits(status, message):
        cls = CreditsExhausted
        message = _credits_message(message)
    elif status >= 500:
        cls = InternalServerError
    else:
        cls = _STATUS_CLASSES.get(status, APIError)
    if status == 404 and "model" in message.lower():
        message += " — list the models you can use with grok_nb.Client().models()"
    error = cls(message, status_code=status, request_id=request_id, body=body)
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error
