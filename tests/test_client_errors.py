"""Error bodies, status mapping, Retry-After and the retry rules; Usage/Answer values."""

from __future__ import annotations

import email.utils
import time

import pytest
from client_fixtures import KEY, isolated_env_fixture  # noqa: F401  (fixture)

from grok_nb.answer import Answer, Usage
from grok_nb.api.error_map import error_for_status, server_message
from grok_nb.api.retry import RetryPolicy, parse_retry_after
from grok_nb.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CreditsExhausted,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StructuredOutputError,
    UnprocessableEntityError,
)

URL = "https://api.x.ai/v1/chat/completions"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"code": "Client specified an invalid argument", "error": "bad detail"}', "bad detail"),
        ('{"error": {"message": "openai style", "type": "x"}}', "openai style"),
        ('"a bare JSON string"', "a bare JSON string"),
        ("plain text\n  over lines", "plain text over lines"),
        ('{"message": "just message"}', "just message"),
        ('{"detail": "fastapi style"}', "fastapi style"),
        ("", "(empty response body)"),
        ("x" * 2000, "x" * 500 + "…"),
    ],
)
def test_server_message_in_every_shape(body, message):
    assert server_message(body)[0] == message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
        (404, NotFoundError), (409, ConflictError), (415, UnprocessableEntityError),
        (422, UnprocessableEntityError), (429, RateLimitError), (500, InternalServerError),
        (503, InternalServerError), (418, APIError),
    ],
)  # fmt: skip
def test_status_classes(status, cls):
    error = error_for_status(status, '{"error": "e"}', {"x-request-id": "r1"}, url=URL)
    assert type(error) is cls and error.status_code == status and error.request_id == "r1"
    assert str(error).startswith(f"HTTP {status}: ") and str(error).endswith("(request id r1)")


def test_wrong_key_and_spent_credits_get_plain_language():
    bad = error_for_status(
        400,
        '{"code": "Client specified an invalid argument", '
        f'"error": "Incorrect API key provided: {KEY}."}}',
        {},
        url=URL,
        secrets=[KEY],
    )
    assert isinstance(bad, AuthenticationError)
    assert "the API key was rejected by api.x.ai" in str(bad) and KEY not in str(bad)
    assert KEY not in repr(bad.body)
    credits = error_for_status(
        429, '{"error": "You have used all available credits"}', {"retry-after": "1"}, url=URL
    )
    assert isinstance(credits, CreditsExhausted) and "not retried" in str(credits)
    assert RetryPolicy(max_retries=5).delay(credits, 0) is None
    missing_model = error_for_status(404, '{"error": "The model x does not exist"}', {}, url=URL)
    assert "Client().models()" in str(missing_model)


def test_retry_after_forms():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < parse_retry_after({"retry-after": future}) <= 30
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_retry_rules():
    def err(status, headers=None):
        return error_for_status(status, "{}", headers or {}, url=URL)

    def retry_delay(error, retries_done, max_retries, rng=None):
        policy = RetryPolicy(max_retries=max_retries, rng=rng or (lambda: 0.5))
        return policy.delay(error, retries_done)

    no_jitter = lambda: 0.0  # noqa: E731
    assert retry_delay(err(429), 0, 2, no_jitter) == 0.5
    assert retry_delay(err(429), 3, 5, no_jitter) == 4.0
    assert retry_delay(err(503), 9, 20, no_jitter) == 8.0  # capped
    assert retry_delay(err(429), 2, 2) is None  # out of retries
    assert retry_delay(err(429, {"retry-after": "7"}), 0, 2) == 7.0
    assert retry_delay(err(429, {"retry-after": "3600"}), 0, 2) is None
    for status in (408, 409, 500, 502, 504):
        assert retry_delay(err(status), 0, 1) is not None
    for status in (400, 401, 403, 404, 415, 422):
        assert retry_delay(err(status), 0, 1) is None
    broken = APIConnectionError("x")
    assert retry_delay(broken, 0, 1) is not None
    broken.after_first_token = True
    assert retry_delay(broken, 0, 1) is None
    assert retry_delay(StructuredOutputError("x"), 0, 1) is None


def test_usage_from_every_shape():
    full = Usage.from_api(
        {
            "prompt_tokens": 900,
            "completion_tokens": 9,
            "total_tokens": 1003,
            "prompt_tokens_details": {
                "text_tokens": 132, "audio_tokens": 0, "image_tokens": 768, "cached_tokens": 6,
            },
            "completion_tokens_details": {"reasoning_tokens": 94},
            "num_sources_used": 0,
            "cost_in_usd_ticks": 1234567,
        }
    )  # fmt: skip
    assert full == Usage(900, 9, 94, 768, 6, 132, 1003, 1234567)
    assert full.cost_usd == 1234567 / 1e10
    assert Usage.from_api(None) == Usage()
    assert Usage.from_api({"prompt_tokens": None, "prompt_tokens_details": None}) == Usage()
    assert Usage.from_api({"completion_tokens": "12"}).completion_tokens == 12
    assert Usage().cost_usd is None and full.to_dict()["image_tokens"] == 768


def test_answer_reprs_and_footer():
    u = Usage(prompt_tokens=1000, image_tokens=768, text_tokens=232, completion_tokens=20)
    a = Answer("**bold** " + "x" * 100, usage=u, cost_usd=0.00123, model="grok-4.3",
               estimated_image_tokens=1024, latency_s=1.5, finish_reason="stop")  # fmt: skip
    md = a._repr_markdown_()
    assert md.startswith("**bold**")
    assert "image tokens 768 billed ≠ 1,024 est." in md  # a mismatch is flagged
    assert "$0.00123" in md and "1.50 s" in md and "grok-4.3" in md and "finish" not in md
    assert len(repr(a)) < 400 and "…" in repr(a)
    a.cached, a.finish_reason = True, "length"
    assert "from cache" in a.footer() and "finish: length" in a.footer()
    partial = Answer("half", finish_reason="interrupted")
    assert not partial.complete and "no usage reported" in partial.footer()
    assert "cost unknown" in partial.footer()
    assert str(partial) == "half" and partial.to_dict()["finish_reason"] == "interrupted"
