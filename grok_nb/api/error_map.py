"""HTTP error responses -> grok_nb exceptions (the retry rules are in ``retry.py``).

xAI error bodies come in several shapes (``{"code", "error"}``, ``{"error":
{"message"}}``, a bare JSON string, plain text); ``server_message`` finds the
server's words in each so they always reach the user. Two cases get plain
language of their own: a rejected key (xAI answers 400 "Incorrect API key") and
spent credits (xAI answers 429 mentioning credits or the spending limit).

Everything the server sent is redacted before it is parsed, cut or kept
(``grok_nb.redact``): the raw text first (so a key used as a JSON object key, or
one JSON escapes would hide after parsing, is caught), then every string and object
key of the parsed body, and only then is the message cut to ``MAX_MESSAGE_CHARS``.
"""

from __future__ import annotations

import json
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

__all__ = ["MAX_MESSAGE_CHARS", "error_for_status", "server_message"]

MAX_MESSAGE_CHARS = 500

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
    message = truncate(" ".join(str(message).split()), MAX_MESSAGE_CHARS)
    return message or "(empty response body)", body


def _is_bad_key(status: int, message: str) -> bool:
    low = message.lower()
    return status == 401 or (
        status == 400 and ("api key" in low or "api-key" in low or "apikey" in low)
    )


def _is_credits(message: str) -> bool:
    low = message.lower()
    return "credit" in low or "spending limit" in low


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
    if _is_bad_key(status, message):
        cls = AuthenticationError
        message = (
            f"the API key was rejected by {host} ({message}). Check XAI_API_KEY (environment "
            "or .env) holds a current key from https://console.x.ai"
        )
    elif status == 429 and _is_credits(message):
        cls = CreditsExhausted
        message = (
            "your xAI team has no credits left or has reached its monthly spending limit, so "
            "this was not retried; add credits or raise the limit at https://console.x.ai "
            f"(server said: {message})"
        )
    elif status >= 500:
        cls = InternalServerError
    else:
        cls = _STATUS_CLASSES.get(status, APIError)
    if status == 404 and "model" in message.lower():
        message += " — list the models you can use with grok_nb.Client().models()"
    error = cls(message, status_code=status, request_id=request_id, body=body)
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error
