"""xAI's error replies as they really arrive: credits at 403 and 429, wrong keys at 400 and
401 in any wording, percent-encoded messages. Each body below is our own fixture written
after the shapes xAI is recorded sending (docs/xai-api notes, "Errors seen in recorded
real traffic"); the loopback cases run through ``chat`` and ``achat`` alike."""

from __future__ import annotations

import asyncio

import pytest
from client_fixtures import KEY, MODEL, FakeImage, Sleeps, isolated_env_fixture, sim_fixture  # noqa: F401

from grok_nb.api.client import Client
from grok_nb.api.error_map import MAX_MESSAGE_CHARS, decode_if_encoded, error_for_status
from grok_nb.api.request import build_chat_request
from grok_nb.api.retry import RetryPolicy
from grok_nb.errors import (
    AuthenticationError,
    BadRequestError,
    CreditsExhausted,
    PermissionDeniedError,
    RateLimitError,
)
from grok_nb.redact import MASK

URL = "https://api.x.ai/v1/chat/completions"
BODY = build_chat_request(["Describe", FakeImage((96, 64))], model=MODEL)
TEAM = "https://console.x.ai/team/11111111-2222-4333-8444-555555555555"
SPENT = (
    "Your team 11111111-2222-4333-8444-555555555555 has either used all available credits or "
    "reached its monthly spending limit. To continue making API requests, please purchase "
    "more credits or raise your spending limit."
)
NEW_TEAM = (
    f"Your newly created team doesn't have any credits yet. You can purchase credits on {TEAM}."
)
PERMISSION_2025 = "The caller does not have permission to execute the specified operation"


def _xai(code: str, message: str) -> str:
    import json

    return json.dumps({"code": code, "error": message})


# --- the mapping, body by body --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, _xai(PERMISSION_2025, SPENT)),
        (403, _xai("permission-denied", SPENT)),
        (429, _xai("Some resource has been exhausted", SPENT)),
        (403, _xai(PERMISSION_2025, NEW_TEAM)),
        (
            403,
            _xai("permission-denied", NEW_TEAM.replace("credits yet", "credits or licenses yet")),
        ),
        (403, '{"error": {"message": "You have run out of credits"}}'),
        (429, "Monthly spending limit reached"),
    ],
)
def test_credits_at_403_and_429_are_credits_exhausted_and_never_retried(status, body):
    error = error_for_status(status, body, {"retry-after": "1"}, url=URL)
    assert isinstance(error, CreditsExhausted) and error.status_code == status
    msg = str(error)
    assert "not retried" in msg and "Add credits" in msg and "console.x.ai" in msg
    assert "run the cell again" in msg
    assert RetryPolicy(max_retries=5).delay(error, 0) is None


def test_credit_advice_fits_the_case_and_points_at_the_servers_own_page():
    spent = str(error_for_status(403, _xai(PERMISSION_2025, SPENT), {}, url=URL))
    assert "no credits left or has reached its monthly spending limit" in spent
    assert "raise the monthly spending limit" in spent
    assert "server said: Your team" in spent  # the server's own words are kept
    new = str(error_for_status(403, _xai(PERMISSION_2025, NEW_TEAM), {}, url=URL))
    assert "has no credits yet" in new and "raise the monthly" not in new
    assert f"billing page at {TEAM}," in new  # the team's link, without the trailing dot


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (403, _xai(PERMISSION_2025, "Model grok-x is not available to this team"),
         PermissionDeniedError),
        (429, _xai("Some resource has been exhausted", "Too many tokens for team t1"),
         RateLimitError),
        (400, _xai("invalid-argument", "Invalid PNG image."), BadRequestError),
        (400, _xai("invalid-argument", "tool call credit_card is not valid"), BadRequestError),
    ],
)  # fmt: skip
def test_other_403_429_and_400_keep_their_class(status, body, cls):
    error = error_for_status(status, body, {}, url=URL)
    assert type(error) is cls


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, _xai("Client specified an invalid argument", "Incorrect API key provided: xa***00.")),
        (400, _xai("invalid-argument", "Incorrect%20API%20key%20provided:%20xa***00.%20You%20can"
                                       "%20obtain%20an%20API%20key%20from%20https://console.x.ai.")),
        (400, '{"error": {"message": "Invalid api_key", "type": "invalid_request_error"}}'),
        (400, '"No API-key was given"'),
        (400, _xai("unauthenticated", "bad credentials")),
        (401, "Unauthorized"),
        (401, _xai("The request does not have valid authentication credentials", "nope")),
        (401, ""),
    ],
)  # fmt: skip
def test_a_wrong_key_is_an_authentication_error_naming_the_variable(status, body):
    error = error_for_status(status, body, {}, url=URL, secrets=[KEY])
    assert type(error) is AuthenticationError and error.status_code == status
    msg = str(error)
    assert "the API key was rejected by api.x.ai" in msg and "XAI_API_KEY" in msg
    assert "%20" not in msg and KEY not in msg


def test_the_encoded_wrong_key_reply_reads_as_plain_words():
    body = _xai(
        "Client specified an invalid argument", "Incorrect%20API%20key%20provided:%20ba***na."
    )
    error = error_for_status(400, body, {}, url=URL)
    assert isinstance(error, AuthenticationError)
    assert "(Incorrect API key provided: ba***na.)" in str(error)


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("Incorrect%20API%20key", "Incorrect API key"),
        ("a%2Fb%2Fc", "a/b/c"),  # two escapes, no spaces
        ("cannot fetch https://example.com/a%20b.png", None),  # has spaces: quoted URL
        ("100%25", None),  # one escape that is not %20
        ("50% off", None),
        ("plain", None),
        ("", None),
    ],
)
def test_only_text_that_looks_encoded_is_decoded(text, decoded):
    assert decode_if_encoded(text) == (text if decoded is None else decoded)


def test_a_key_hidden_by_percent_encoding_is_redacted_after_decoding():
    hidden = "".join(f"%{ord(c):02X}" for c in KEY)  # every character escaped
    body = _xai("invalid-argument", f"Incorrect%20API%20key%20provided:%20{hidden}")
    error = error_for_status(400, body, {}, url=URL, secrets=[KEY])
    assert KEY not in str(error) and KEY not in error.message and MASK in str(error)


def test_a_long_encoded_message_is_redacted_before_it_is_cut():
    # the escaped key sits across the cut: cutting first would leave a key prefix behind
    hidden = "".join(f"%{ord(c):02X}" for c in KEY)
    body = _xai("invalid-argument", f"{'x' * (MAX_MESSAGE_CHARS - 10)}%20{hidden}%20more")
    error = error_for_status(400, body, {}, url=URL, secrets=[KEY])
    assert KEY[:8] not in error.message and error.message.endswith("…")


# --- over loopback HTTP, sync and async -----------------------------------------------


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def is_async(request) -> bool:
    return request.param


def _chat(sim, is_async: bool, sleeps: Sleeps):
    client = Client(
        api_key=KEY, base_url=sim.base_url, sleep=sleeps, async_sleep=sleeps.async_sleep
    )
    if not is_async:
        with client:
            return client.chat(BODY)

    async def go():
        try:
            return await client.achat(BODY)
        finally:
            await client.aclose()

    try:
        return asyncio.run(go())
    finally:
        client.close()


@pytest.mark.parametrize(
    ("kind", "status", "wording"),
    [
        ("credits403", 403, "no credits left or has reached its monthly spending limit"),
        ("credits", 429, "no credits left or has reached its monthly spending limit"),
        ("no_credits_yet", 403, "has no credits yet"),
    ],
)
def test_simulated_credit_replies_are_not_retried(sim, is_async, kind, status, wording):
    sim.inject(kind)
    sleeps = Sleeps()
    with pytest.raises(CreditsExhausted) as info:
        _chat(sim, is_async, sleeps)
    assert info.value.status_code == status and wording in str(info.value)
    assert "Add credits" in str(info.value) and "console.x.ai" in str(info.value)
    assert sleeps.calls == [] and len(sim.log) == 1


@pytest.mark.parametrize(
    ("kind", "options", "status"),
    [
        ("badkey_encoded", {}, 400),
        ("bad_key", {"shape": "openai"}, 400),
        ("401", {"shape": "text", "message": "Unauthorized"}, 401),
    ],
)
def test_simulated_wrong_keys_are_authentication_errors(sim, is_async, kind, options, status):
    sim.inject(kind, **options)
    sleeps = Sleeps()
    with pytest.raises(AuthenticationError) as info:
        _chat(sim, is_async, sleeps)
    msg = str(info.value)
    assert info.value.status_code == status and "XAI_API_KEY" in msg
    assert "%20" not in msg and KEY not in msg
    assert sleeps.calls == [] and len(sim.log) == 1


def test_the_encoded_fault_really_sends_encoded_words(sim):
    import httpx

    sim.inject("badkey_encoded")
    reply = httpx.post(
        f"{sim.base_url}/chat/completions", json=BODY, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert reply.status_code == 400 and "Incorrect%20API%20key%20provided" in reply.text
