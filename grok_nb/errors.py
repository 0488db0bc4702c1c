"""The exception tree. Every error grok_nb raises on purpose is a ``GrokError``.

Messages are written for the notebook user: one line naming the input and the
reason. They never contain the API key (``redact`` is applied to every server
message before it is stored).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceeded",
    "CacheMiss",
    "ConfigError",
    "ConflictError",
    "CreditsExhausted",
    "GrokError",
    "ImageError",
    "InternalServerError",
    "MissingKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StructuredOutputError",
    "UnprocessableEntityError",
]


class GrokError(Exception):
    """Root of every error grok_nb raises on purpose."""


class ImageError(GrokError, ValueError):
    """An image could not be read, normalised or encoded.

    ``source`` is a short, printable description of the input (never the bytes).
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class ConfigError(GrokError, ValueError):
    """An option has a value grok_nb cannot use (unknown rule, detail, mode...)."""


class MissingKeyError(GrokError):
    """No API key was found where one is needed."""


class BudgetExceeded(GrokError):
    """The estimated cost of a call or batch is above ``max_cost_usd``."""

    def __init__(self, message: str, *, estimate_usd: float = 0.0, limit_usd: float = 0.0) -> None:
        self.estimate_usd = estimate_usd
        self.limit_usd = limit_usd
        super().__init__(message)


class CacheMiss(GrokError):
    """``cache="replay"`` was asked for a request that is not in the cache."""


class StructuredOutputError(GrokError, ValueError):
    """A structured-output answer does not parse or validate against the schema.

    ``text`` is the answer text; ``answer`` the full ``Answer`` when there is one.
    """

    def __init__(self, message: str, *, text: str = "", answer: Any = None) -> None:
        self.text = text
        self.answer = answer
        super().__init__(message)


class APIConnectionError(GrokError):
    """The server could not be reached, or the connection broke mid-answer.

    When the stream broke after some text arrived, ``answer`` holds that partial
    ``Answer`` (``finish_reason == "incomplete"``).
    """

    def __init__(self, message: str, *, answer: Any = None) -> None:
        self.answer = answer
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


class APIResponseError(GrokError):
    """The server answered, but the reply is not what xAI's API sends.

    A field of the wrong type (``json_path`` names it, ``expected`` what the API
    documents), JSON nested too deeply to read, or a body its ``Content-Encoding``
    does not decode. Not retried: the request was served. ``answer`` holds what
    arrived before (``finish_reason == "incomplete"``); ``request_id`` is the
    server's, for a report.
    """

    def __init__(
        self,
        message: str,
        *,
        json_path: str | None = None,
        expected: str | None = None,
        request_id: str | None = None,
        answer: Any = None,
    ) -> None:
        self.json_path = json_path
        self.expected = expected
        self.request_id = request_id
        self.answer = answer
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{message}{suffix}")


class APIError(GrokError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(f"HTTP {status_code}: {message}{suffix}")


class BadRequestError(APIError):
    """400: the request was invalid."""


class AuthenticationError(APIError):
    """401, or xAI's 400 for a wrong key (in any wording, percent-encoded included): the
    API key was rejected. The message names ``XAI_API_KEY``, never the key."""


class PermissionDeniedError(APIError):
    """403: the key or team may not do this (a 403 about credits is ``CreditsExhausted``)."""


class NotFoundError(APIError):
    """404: unknown model or endpoint."""


class ConflictError(APIError):
    """409: a conflicting request; retried."""


class UnprocessableEntityError(APIError):
    """415/422: the body or a field has the wrong format."""


class RateLimitError(APIError):
    """429: too many requests; retried with backoff."""


class CreditsExhausted(RateLimitError):
    """403 or 429 because the team has no credits (a new team has none yet) or reached its
    monthly spending limit; not retried. The message says where to add credits or raise
    the limit. A subclass of ``RateLimitError`` whatever the status, so ``except
    RateLimitError`` still catches it."""


class InternalServerError(APIError):
    """5xx: the service had a problem; retried."""
