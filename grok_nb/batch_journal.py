"""The local journal of Batch API jobs: what was submitted, added and collected.

A SQLite file beside the response cache (``cache_dir()/batch_jobs.sqlite3``), in WAL
mode with every step committed before the next one starts, so a kernel that dies at
any point leaves a journal a new kernel can resume from:

- ``jobs``: one row per batch (id, name, base URL, model, the estimate, state);
- ``rows``: one row per item: its ``batch_request_id``, the cache key of the same
  request asked interactively, a small redacted copy of the request, and a state:
  ``new`` (not sent), ``sending`` (in an add call whose outcome is not yet known),
  ``added``, ``done`` (result collected, ``record`` holds the answer), ``failed``
  (``error`` holds the message), ``cancelled``, ``cached`` (served from the response
  cache, never sent) or ``refused`` (failed before sending: a bad image, a cap).

A row is marked ``sending`` before its add call goes out, so after a crash the rows
whose add may have happened are known, and are checked against the batch's request
list before anything is sent again. ``collections`` counts how often a result was
collected (it must end at exactly 1).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grok_nb.cache.paths import cache_dir

__all__ = ["JOURNAL_FILENAME", "JobRecord", "Journal", "RowRecord", "journal"]

JOURNAL_FILENAME = "batch_jobs.sqlite3"

_DDL = """
CREATE TABLE IF NOT EXISTS jobs (
    batch_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at REAL NOT NULL,
    n_items INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    estimate_usd REAL,
    price_note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS rows (
    batch_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    row_id TEXT NOT NULL,
    cache_key TEXT,
    label TEXT NOT NULL DEFAULT '',
    request TEXT,
    state TEXT NOT NULL,
    record TEXT,
    error TEXT,
    cost_usd REAL,
    collections INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, idx)
);
CREATE INDEX IF NOT EXISTS rows_by_id ON rows (batch_id, row_id);
"""


@dataclass(frozen=True)
class JobRecord:
    batch_id: str
    name: str
    base_url: str
    model: str
    created_at: float
    n_items: int
    fingerprint: str
    estimate_usd: float | None
    price_note: str
    state: str  # adding, submitted, done, cancelled
    options: dict[str, Any]


@dataclass(frozen=True)
class RowRecord:
    idx: int
    row_id: str
    cache_key: str | None
    label: str
    request: dict[str, Any] | None
    state: str
    record: dict[str, Any] | None
    error: str | None
    cost_usd: float | None
    collections: int


class Journal:
    """One journal file; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a step journalled is a step on disk
        self._db.executescript(_DDL)
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        with self._lock, self._db:  # one transaction, committed on leaving
            self._db.execute(sql, args)

    def _write_many(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        with self._lock, self._db:
            self._db.executemany(sql, args)

    # -- jobs ----------------------------------------------------------------------

    def add_job(self, job: JobRecord, rows: Sequence[RowRecord]) -> None:
        """The job and all its rows, in one transaction: never a job without its rows."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job.batch_id, job.name, job.base_url, job.model, job.created_at,
                    job.n_items, job.fingerprint, job.estimate_usd, job.price_note, job.state,
                    json.dumps(job.options),
                ),
            )  # fmt: skip
            self._db.executemany(
                "INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        job.batch_id, r.idx, r.row_id, r.cache_key, r.label,
                        None if r.request is None else json.dumps(r.request), r.state,
                        None if r.record is None else json.dumps(r.record), r.error,
                        r.cost_usd, r.collections,
                    )
                    for r in rows
                ],
            )  # fmt: skip

    def jobs(self) -> list[JobRecord]:
        with self._lock:
            found = self._db.execute("SELECT * FROM jobs ORDER BY created_at").fetchall()
        return [_job(r) for r in found]

    def job(self, batch_id: str) -> JobRecord | None:
        with self._lock:
            found = self._db.execute("SELECT * FROM jobs WHERE batch_id=?", (batch_id,)).fetchone()
        return None if found is None else _job(found)

    def find(self, fingerprint: str, base_url: str) -> JobRecord | None:
        """The newest job of these very requests at this endpoint, unless cancelled."""
        with self._lock:
            found = self._db.execute(
                "SELECT * FROM jobs WHERE fingerprint=? AND base_url=? AND state!='cancelled' "
                "ORDER BY created_at DESC LIMIT 1",
                (fingerprint, base_url),
            ).fetchone()
        return None if found is None else _job(found)

    def set_job_state(self, batch_id: str, state: str) -> None:
        self._write("UPDATE jobs SET state=? WHERE batch_id=?", (state, batch_id))

    def last_created_at(self) -> float:
        with self._lock:
            (value,) = self._db.execute("SELECT MAX(created_at) FROM jobs").fetchone()
        return float(value or 0.0)

    # -- rows ----------------------------------------------------------------------

    def rows(self, batch_id: str, state: str | None = None) -> list[RowRecord]:
        sql = "SELECT * FROM rows WHERE batch_id=?"
        args: tuple[Any, ...] = (batch_id,)
        if state is not None:
            sql += " AND state=?"
            args += (state,)
        with self._lock:
            found = self._db.execute(sql + " ORDER BY idx", args).fetchall()
        return [_row(r) for r in found]

    def counts(self, batch_id: str) -> dict[str, int]:
        with self._lock:
            found = self._db.execute(
                "SELECT state, COUNT(*) FROM rows WHERE batch_id=? GROUP BY state", (batch_id,)
            ).fetchall()
        return {state: n for state, n in found}

    def cost(self, batch_id: str) -> float:
        with self._lock:
            (value,) = self._db.execute(
                "SELECT SUM(cost_usd) FROM rows WHERE batch_id=? AND state='done'", (batch_id,)
            ).fetchone()
        return float(value or 0.0)

    def set_rows(self, batch_id: str, row_ids: Iterable[str], state: str) -> None:
        self._write_many(
            "UPDATE rows SET state=? WHERE batch_id=? AND row_id=?",
            [(state, batch_id, r) for r in row_ids],
        )

    def refuse_row(self, batch_id: str, row_id: str, error: str) -> None:
        """A row that failed before it was sent (cannot be built, too big)."""
        self._write(
            "UPDATE rows SET state='refused', error=? WHERE batch_id=? AND row_id=?",
            (error, batch_id, row_id),
        )

    def cancel_unfinished(self, batch_id: str) -> None:
        self._write(
            "UPDATE rows SET state='cancelled' WHERE batch_id=? AND state IN "
            "('new','sending','added')",
            (batch_id,),
        )

    def finish_row(
        self,
        batch_id: str,
        row_id: str,
        *,
        record: dict[str, Any] | None,
        error: str | None,
        cost_usd: float | None,
    ) -> bool:
        """Record a collected result; ``False`` when it was already collected."""
        state = "done" if error is None else "failed"
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE rows SET state=?, record=?, error=?, cost_usd=?, "
                "collections=collections+1 WHERE batch_id=? AND row_id=? "
                "AND state IN ('new','sending','added','cancelled')",
                (
                    state, None if record is None else json.dumps(record), error, cost_usd,
                    batch_id, row_id,
                ),
            )  # fmt: skip
            return cursor.rowcount > 0


def _job(r: Sequence[Any]) -> JobRecord:
    return JobRecord(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], json.loads(r[10] or "{}")
    )


def _row(r: Sequence[Any]) -> RowRecord:
    return RowRecord(
        idx=r[1], row_id=r[2], cache_key=r[3], label=r[4],
        request=None if r[5] is None else json.loads(r[5]), state=r[6],
        record=None if r[7] is None else json.loads(r[7]), error=r[8], cost_usd=r[9],
        collections=r[10],
    )  # fmt: skip


_journals: dict[str, Journal] = {}
_journals_lock = threading.Lock()


def journal(path: str | Path | None = None) -> Journal:
    """The journal in use (``cache_dir()/batch_jobs.sqlite3`` unless given); one handle per
    file and process, opened afresh when ``$GROK_NB_CACHE_DIR`` moves."""
    where = str(Path(path) if path is not None else cache_dir() / JOURNAL_FILENAME)
    with _journals_lock:
        if where not in _journals:
            _journals[where] = Journal(where)
        return _journals[where]
