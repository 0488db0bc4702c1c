"""HTTP error responses -> grok_nb exceptions, and the retry rules that go with them.

xAI error bodies come in several shapes (``{"code", "error"}``, ``{"error":
{"message"}}``, a bare JSON string, plain text); ``server_message`` finds the
server's words in each so they always reach the user. Two cases get plain
language of their own: a rejected key (xAI answers 400 "Incorrect API key") and
spent credits (xAI answers 429 mentioning credits or the spending limit).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from grok_nb.api.credentials import Secret, redact, redact_obj
from grok_nb.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CreditsExhausted,
    GrokError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

__all__ = [
    "INITIAL_RETRY_DELAY_S",
    "MAX_RETRY_AFTER_S",
    "MAX_RETRY_DELAY_S",
    "RETRYABLE_STATUSES",
    "backoff_delay",
    "error_for_status",
    "parse_retry_after",
    "retry_delay",
    "server_message",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})  # and every 5xx
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
# A Retry-After longer than this is not waited out silently in a notebook cell:
# the error is raised with the server's wait in the message instead.
MAX_RETRY_AFTER_S = 60.0
_MAX_MESSAGE_CHARS = 500

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


def server_message(text: str) -> tuple[str, Any]:
    """(the server's message, the parsed body) for an error response body of any shape."""
    text = text.strip()
    try:
        body: Any = json.loads(text)
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
    message = " ".join(str(message).split())
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "…"
    return message or "(empty response body)", body


def _is_bad_key(status: int, message: str) -> bool:
    low = message.lower()
    return status == 401 or (
        status == 400 and ("api key" in low or "api-key" in low or "apikey" in low)
    )


def _is_credits(message: str) -> bool:
    low = message.lower()
    return "credit" in low or "spending limit" in low


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    import email.utils  # rare path: keep `import grok_nb.api.client` light

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to our own backoff
    return max(parsed.timestamp() - time.time(), 0.0)


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
    message, body = server_message(text)
    message = redact(message, secrets)
    body = redact_obj(body, secrets)
    request_id = headers.get("x-request-id") or headers.get("request-id")
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
    if retry_after is not None and retry_after > MAX_RETRY_AFTER_S and status in (429, 503):
        message += f" (the server asked to wait {retry_after:.0f} s before retrying)"
    error = cls(message, status_code=status, request_id=request_id, body=body)
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error


def backoff_delay(retries_done: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... capped, minus up to 25 %."""
    base = min(INITIAL_RETRY_DELAY_S * 2.0**retries_done, MAX_RETRY_DELAY_S)
    return base * (1.0 - 0.25 * rng())


def retry_delay(
    error: GrokError,
    retries_done: int,
    max_retries: int,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retrying after ``error``, or ``None`` to give up."""
    if retries_done >= max_retries:
        return None
    if isinstance(error, APIConnectionError):
        if getattr(error, "after_first_token", False):
            return None  # text was already shown: a retry would repeat or contradict it
        return backoff_delay(retries_done, rng)
    if not isinstance(error, APIError) or isinstance(error, CreditsExhausted):
        return None
    if error.status_code not in RETRYABLE_STATUSES and error.status_code < 500:
        return None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return retry_after if retry_after <= MAX_RETRY_AFTER_S else None
    return backoff_delay(retries_done, rng)
