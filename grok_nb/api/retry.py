"""The one retry policy: what is retried, how long to wait, and the loop that waits.

Used by the client's sync and async paths (``Client.chat``/``achat`` and the model
listings drive the same ``run``/``arun`` loop, so the decision logic exists once) and
by ``ask_many``, whose shared rate-limit gate asks the same policy how long to pause.

Rules:

- Retried: connection errors and timeouts before any answer text was shown, and HTTP
  408, 409, 429 and 5xx. Never: other 4xx, spent credits (``CreditsExhausted``),
  structured-output failures, or a stream that already delivered text (a retry would
  repeat or contradict it).
- Wait: the server's ``Retry-After`` / ``retry-after-ms`` when it sent a readable,
  finite one; otherwise exponential backoff from ``BASE_DELAY_S`` doubling up to
  ``MAX_DELAY_S``, minus up to ``JITTER`` of it at random (so clients that failed
  together do not come back together). ``nan``, ``inf`` and unreadable values count
  as "no Retry-After" and get the backoff: never no wait, never an endless one.
- A ``Retry-After`` longer than ``max_retry_after_s`` (setting
  ``GrokVision.max_retry_after_s``, default 60 s) is **not** waited out, and not
  shortened either: the call fails at once with the server's error, whose message
  says how long the server asked for and names the setting. A notebook cell that
  silently hangs for minutes is worse than an error saying when to try again, and
  retrying sooner than asked would only meet another 429.

Sleeps are injected (``sleep``/``async_sleep``), so tests take no real time.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from grok_nb.errors import (
    APIConnectionError,
    APIError,
    CreditsExhausted,
    GrokError,
    StructuredOutputError,
)

__all__ = [
    "BASE_DELAY_S",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_AFTER_S",
    "JITTER",
    "MAX_DELAY_S",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "Retrying",
    "arun",
    "parse_retry_after",
    "run",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})  # and every 5xx
BASE_DELAY_S = 0.5  # first backoff; doubles with each retry
MAX_DELAY_S = 8.0  # backoff cap: no wait of our own is longer
JITTER = 0.25  # up to this fraction of a backoff is taken off at random
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_AFTER_S = 60.0  # the longest server-requested wait honoured

logger = logging.getLogger("grok_nb.api.client")

T = TypeVar("T")


def _seconds(value: str, scale: float = 1.0) -> float | None:
    try:
        seconds = float(value) * scale
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None  # "nan", "inf": unreadable, so our own (capped) backoff applies
    return max(seconds, 0.0)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP
    date); ``None`` when absent or unreadable (including ``nan`` and ``inf``)."""
    ms = headers.get("retry-after-ms")
    if ms:
        seconds = _seconds(ms, 0.001)
        if seconds is not None:
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    import email.utils  # rare path: keep `import grok_nb.api.client` light

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(parsed.timestamp() - time.time(), 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, how long to wait for each, and when to give up."""

    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S
    rng: Callable[[], float] = field(default=random.random, compare=False)
    base_delay_s: float = BASE_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    jitter: float = JITTER

    def backoff(self, retries_done: int) -> float:
        """Our own wait before retry ``retries_done + 1``: doubling, capped, jittered."""
        exponent = min(max(retries_done, 0), 64)  # 2.0**64 is plenty above any cap
        base = min(self.base_delay_s * 2.0**exponent, self.max_delay_s)
        return base * (1.0 - self.jitter * self.rng())

    @staticmethod
    def retryable(error: BaseException) -> bool:
        """Whether ``error`` is worth sending the request again for (retries aside)."""
        if isinstance(error, APIConnectionError):
            return not getattr(error, "after_first_token", False)
        if not isinstance(error, APIError) or isinstance(error, CreditsExhausted):
            return False
        return error.status_code in RETRYABLE_STATUSES or error.status_code >= 500

    def wait(self, error: BaseException, retries_done: int) -> float | None:
        """Seconds to wait before retrying after a retryable ``error``: the server's
        ``Retry-After`` when it gave one, else the backoff. ``None`` when the server
        asked for longer than ``max_retry_after_s`` (the error's message is amended)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is None:
            return self.backoff(retries_done)
        if retry_after <= self.max_retry_after_s:
            return float(retry_after)
        if isinstance(error, APIError) and not getattr(error, "_wait_noted", False):
            error._wait_noted = True  # type: ignore[attr-defined]
            # re-initialised so str(error), not only a note, says it
            APIError.__init__(
                error,
                f"{error.message} (the server asked to wait {retry_after:.0f} s before "
                f"retrying, longer than max_retry_after_s={self.max_retry_after_s:g} s, so "
                "grok_nb did not wait: try again later, or raise "
                "GrokVision.max_retry_after_s)",
                status_code=error.status_code,
                request_id=error.request_id,
                body=error.body,
            )
        return None

    def delay(self, error: BaseException, retries_done: int) -> float | None:
        """Seconds to wait before retry ``retries_done + 1``, or ``None`` to give up."""
        if retries_done >= self.max_retries or not self.retryable(error):
            return None
        return self.wait(error, retries_done)


class Retrying:
    """The state of one call's retries: ``after(error)`` is the delay or raises."""

    def __init__(self, policy: RetryPolicy, where: str) -> None:
        self.policy = policy
        self.where = where
        self.retries = 0

    def after(self, error: GrokError) -> float:
        """The wait before the next attempt; raises ``error`` when it is the last."""
        if isinstance(error, StructuredOutputError):
            raise error  # the answer itself was wrong: asking again is the caller's call
        delay = self.policy.delay(error, self.retries)
        if delay is None:
            if self.retries and hasattr(error, "add_note"):  # Python 3.11+
                n = self.retries
                error.add_note(f"grok_nb gave up after {n} retr{'y' if n == 1 else 'ies'}")
            error.retries = self.retries  # type: ignore[attr-defined]
            raise error
        what = f"HTTP {error.status_code}" if isinstance(error, APIError) else str(error)
        logger.info(
            "%s from %s; retry %d of %d in %.2f s",
            what, self.where, self.retries + 1, self.policy.max_retries, delay,
        )  # fmt: skip
        self.retries += 1
        return delay


# The two loops below are the only retry loops of the client. The error is raised by
# ``Retrying.after`` once its ``except`` block is entered, and the loop keeps no other
# reference to it, so a verbose traceback shows no unredacted low-level exception.


def run(once: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], Any], where: str) -> T:
    """Call ``once`` until it returns, retrying as ``policy`` says (sync)."""
    retrying = Retrying(policy, where)
    while True:
        try:
            return once()
        except GrokError as error:
            delay = retrying.after(error)
        sleep(delay)


async def arun(
    once: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[Any]],
    where: str,
) -> T:
    """``run`` for coroutines: the same decisions, awaited sleeps."""
    retrying = Retrying(policy, where)
    while True:
        try:
            return await once()
        except GrokError as error:
            delay = retrying.after(error)
        await sleep(delay)
