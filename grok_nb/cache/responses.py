"""The response cache: finished answers stored under the hash of their request.

Re-running a notebook cell must never pay twice, and a notebook recorded once must
re-execute in CI with no key and no network (``cache="replay"``). Each finished answer
is stored under ``request_key(body, base_url)`` (``cache_key.py``, re-exported here);
the base URL is part of the key so simulator answers are never served as real ones.
The file itself (sharing between kernels, setting a broken file aside) is
``cache_db.py``: no cache failure ever fails the call, it only warns.

The API key is never stored: every string of a record (object keys included), and the
model and base URL, is scrubbed of the key (from ``XAI_API_KEY`` in the environment or a
``.env`` file), of anything shaped like an xAI key, and of any ``secrets`` passed in,
before it is written (``grok_nb.redact``, the one scrubber). Where the file lives by
default is ``paths.py``.

A stored record of another shape (written by a newer or older grok_nb) never breaks a
lookup: fields this version does not know are ignored (unknown ``usage`` counters are
dropped), and a record it cannot use (no text, a ``usage`` that is not an object of
numbers) is a miss, with one ``GrokCacheWarning`` per
cache; the row is left for the version that wrote it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from grok_nb.answer import Usage
from grok_nb.cache.db import BUSY_TIMEOUT_S, GrokCacheWarning, Schema, SharedDB
from grok_nb.cache.keys import canonical_request, normalise_base_url, request_key
from grok_nb.cache.paths import CACHE_DIR_ENV, default_cache_path
from grok_nb.errors import ConfigError
from grok_nb.pricing import format_usd
from grok_nb.redact import MASK, MIN_SECRET_LEN, configured_secrets, redact, redact_obj

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_MODES",
    "MIN_SECRET_LEN",
    "REDACTED",
    "CacheEntry",
    "CacheStats",
    "GrokCacheWarning",
    "ResponseCache",
    "cacheable",
    "canonical_request",
    "check_mode",
    "default_cache_path",
    "request_key",
]

CACHE_MODES = ("use", "refresh", "off", "replay")

# Answers that stopped early are not the answer to the request; never serve them again.
UNCACHEABLE_FINISH = frozenset({"incomplete", "interrupted", "error", "cancelled"})

REDACTED = MASK  # what a scrubbed secret reads as in a stored record

# Bump the version whenever the table changes; a file with another version is set aside.
SCHEMA = Schema(
    table="responses",
    version=1,
    columns=frozenset(
        {"key", "record", "base_url", "model", "created_at", "cost_usd", "hits", "saved_usd"}
    ),
    ddl="""CREATE TABLE IF NOT EXISTS responses (
        key TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        base_url TEXT NOT NULL,
        model TEXT NOT NULL,
        created_at REAL NOT NULL,
        cost_usd REAL NOT NULL DEFAULT 0,
        hits INTEGER NOT NULL DEFAULT 0,
        saved_usd REAL NOT NULL DEFAULT 0,
        last_hit_at REAL
    )""",
)


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is one of ``CACHE_MODES``, else raise ``ConfigError``."""
    if mode not in CACHE_MODES:
        raise ConfigError(f"cache={mode!r}: expected one of {', '.join(CACHE_MODES)}")
    return mode


def cacheable(record: Any) -> bool:
    """True for a finished answer; False for errors and answers cut short."""
    if not isinstance(record, Mapping) or record.get("error"):
        return False
    return record.get("finish_reason") not in UNCACHEABLE_FINISH


# --------------------------------------------------------------------------- secrets


def _dump_record(record: Mapping[str, Any], secrets: tuple[str, ...]) -> str:
    text = json.dumps(redact_obj(record, secrets), ensure_ascii=False, sort_keys=True)
    # A secret with characters JSON escapes would survive the walk above in escaped form.
    for secret in secrets:
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
        text = text.replace(secret, REDACTED).replace(escaped, REDACTED)
    return text


# --------------------------------------------------------------------------- values

_USAGE_FIELDS = {f.name: f for f in fields(Usage)}
# The fields of a record (``Answer.to_dict``) and what each must be when present.
_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,), "cost_usd": (int, float), "original_cost_usd": (int, float),
    "estimated_image_tokens": (int,), "model": (str,), "model_asked": (str,),
    "cached": (bool,), "latency_s": (int, float), "first_token_s": (int, float),
    "finish_reason": (str,), "request": (dict,), "request_id": (str,), "id": (str,),
    "usage": (dict,), "error": (str, dict),
}  # fmt: skip


def _usable_record(record: Any) -> dict[str, Any] | None:
    """``record`` as this version reads it, or None when it cannot be used.

    Fields this version does not know are kept for whoever reads them (the answer
    reader ignores them), except unknown ``usage`` counters, which are dropped; a known
    field of the wrong type reads as absent; a record with no text is unusable.
    """
    if not isinstance(record, dict):
        return None
    kept = {
        k: v
        for k, v in record.items()
        if k not in _RECORD_TYPES or v is None or isinstance(v, _RECORD_TYPES[k])
    }
    if not isinstance(kept.get("text"), str) or ("usage" in record and "usage" not in kept):
        return None
    usage = kept.get("usage")
    if isinstance(usage, dict):
        counts: dict[str, Any] = {}
        for name, value in usage.items():
            if name not in _USAGE_FIELDS:
                continue  # a counter added later
            if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
                return None
            if value is None and name != "cost_in_usd_ticks":
                continue  # read as the default, 0
            counts[name] = value if value is None else int(value)
        kept["usage"] = counts
    return kept


def _cost(record: Mapping[str, Any]) -> float:
    cost = record.get("cost_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost == cost:
        return float(cost)
    return 0.0


@dataclass(frozen=True)
class CacheEntry:
    """One stored answer. ``record`` is the JSON-able answer record the caller stored."""

    key: str
    record: dict[str, Any]
    created_at: float
    base_url: str
    model: str
    hits: int

    @property
    def cost_usd(self) -> float:
        """What the original call cost (0.0 when the record did not say)."""
        return _cost(self.record)


@dataclass(frozen=True)
class CacheStats:
    """Size and usefulness of a cache file."""

    path: str
    entries: int
    bytes: int
    hits: int
    saved_usd: float
    stored_cost_usd: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.entries} cached answers, {self.bytes / 1e6:.2f} MB, {self.hits} hits, "
            f"{format_usd(self.saved_usd)} saved ({self.path})"
        )


# --------------------------------------------------------------------------- the cache


class ResponseCache:
    """A SQLite file of finished answers, shared safely between kernels.

    Opens lazily on first use. Every method is safe to call from several threads; a
    process forked after opening reopens its own connection. No method raises because
    of the file: a failure warns (``GrokCacheWarning``) and acts as a miss / no-op.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        secrets: Iterable[Any] = (),
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        self._secrets = tuple(secrets)
        self._db = SharedDB(self.path, SCHEMA, busy_timeout_s=busy_timeout_s)
        self._warned_shape = False

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: str, *, count_hit: bool = True) -> CacheEntry | None:
        """The stored answer for ``key``, or None. A hit is counted (and its cost tallied
        as money saved) unless ``count_hit`` is False."""

        def op(conn: sqlite3.Connection) -> CacheEntry | None:
            row = conn.execute(
                "SELECT record, created_at, base_url, model, hits FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            try:
                stored = json.loads(row[0])
            except ValueError:  # a damaged row is a miss, and is dropped
                with contextlib.suppress(sqlite3.OperationalError):  # a read-only file
                    conn.execute("DELETE FROM responses WHERE key = ?", (key,))
                return None
            record = _usable_record(stored)
            if record is None:  # another version's shape: a miss, the row left for it
                self._warn_shape(stored)
                return None
            hits = int(row[4])
            if count_hit:
                # Bookkeeping must not cost the caller the hit (read-only file, long lock).
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute(
                        "UPDATE responses SET hits = hits + 1, saved_usd = saved_usd + cost_usd,"
                        " last_hit_at = ? WHERE key = ?",
                        (time.time(), key),
                    )
                    hits += 1
            return CacheEntry(key, record, float(row[1]), str(row[2]), str(row[3]), hits)

        return self._db.run(op, "lookup", None)

    def _warn_shape(self, stored: Any) -> None:
        if self._warned_shape:
            return
        self._warned_shape = True
        what = sorted(stored) if isinstance(stored, dict) else type(stored).__name__
        warnings.warn(
            f"grok_nb cache {self.path}: a stored answer of a shape this version cannot "
            f"read (fields {what}) was treated as a miss; further ones are not reported",
            GrokCacheWarning,
            stacklevel=4,
        )

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is stored (not counted as a hit): for estimating a batch."""
        sql = "SELECT 1 FROM responses WHERE key = ?"
        return isinstance(key, str) and self._db.run(
            lambda c: c.execute(sql, (key,)).fetchone() is not None, "lookup", False
        )

    def put(
        self,
        key: str,
        record: Mapping[str, Any],
        *,
        base_url: str,
        model: str,
        secrets: Iterable[Any] = (),
    ) -> bool:
        """Store (or replace) the answer for ``key``; True if stored.

        Not stored (False) when ``cacheable(record)`` is False, or with a warning when
        the record is not JSON or the file is unusable. The record, model and base URL
        are scrubbed of every secret first (see the module docstring). Replacing an
        entry keeps its hit count.
        """
        if not cacheable(record):
            return False
        found = configured_secrets((*self._secrets, *secrets))
        try:
            text = _dump_record(record, found)
        except (TypeError, ValueError) as exc:
            warnings.warn(
                f"grok_nb cache: answer not stored, its record is not JSON ({exc})",
                GrokCacheWarning,
                stacklevel=2,
            )
            return False
        base = redact(normalise_base_url(base_url), found)
        row = (key, text, base, redact(str(model), found), time.time(), _cost(record))

        def op(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "INSERT INTO responses (key, record, base_url, model, created_at, cost_usd)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                " record = excluded.record, base_url = excluded.base_url,"
                " model = excluded.model, created_at = excluded.created_at,"
                " cost_usd = excluded.cost_usd",
                row,
            )
            return True

        return self._db.run(op, "store", False)

    def delete(self, key: str) -> bool:
        """Remove one entry; True if it was there."""
        sql = "DELETE FROM responses WHERE key = ?"
        return self._db.run(lambda c: c.execute(sql, (key,)).rowcount > 0, "delete", False)

    def stats(self) -> CacheStats:
        """Entries, bytes on disk (database + WAL), hits and money saved."""

        def op(conn: sqlite3.Connection) -> CacheStats:
            n, hits, saved, stored = conn.execute(
                "SELECT count(*), coalesce(sum(hits), 0), coalesce(sum(saved_usd), 0),"
                " coalesce(sum(cost_usd), 0) FROM responses"
            ).fetchone()
            size = self._db.bytes_on_disk()
            return CacheStats(str(self.path), n, size, hits, float(saved), float(stored))

        empty = CacheStats(str(self.path), 0, self._db.bytes_on_disk(), 0, 0.0, 0.0)
        return self._db.run(op, "stats", empty)

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""

        def op(conn: sqlite3.Connection) -> int:
            removed = conn.execute("DELETE FROM responses").rowcount
            # Give the space back when no other kernel is reading; skip it otherwise.
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("VACUUM")
            return int(removed)

        return self._db.run(op, "clear", 0)

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        self._db.close()
