"""The cache's SQLite file: shared by several kernels, set aside when it is broken.

Several kernels may use one file at once: WAL mode (readers never wait for a writer),
a busy timeout, autocommit statements (each its own short transaction) and a few
retries with a doubling pause when SQLite still says "database is locked". A file that
is not a readable database of the expected schema is renamed
``<name>.corrupt-<timestamp>`` with a ``GrokCacheWarning`` and a fresh one is started.
Any other failure degrades the operation to its default with a warning: the cache never
decides the fate of a call.

A file (or folder) this process may not write is opened read-only (SQLite's
``mode=ro``, else ``immutable=1`` when not even the WAL index can be made), so a
recorded cache on a read-only mount or shared folder still replays; writes to it are
refused with a warning, and it is never set aside.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = ["GrokCacheWarning", "Schema", "SharedDB"]

BUSY_TIMEOUT_S = 5.0  # how long SQLite itself waits for another kernel's write lock
LOCK_RETRIES = 4  # further attempts after the busy timeout, with a doubling pause
LOCK_RETRY_PAUSE_S = 0.05
# A page scan on open catches a truncated file before it is used; above this size it is
# skipped (a corrupt page is then still caught on first use and the file set aside).
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024

T = TypeVar("T")


class GrokCacheWarning(UserWarning):
    """The cache file was set aside or could not be used; the call went on without it."""


class _Unusable(Exception):
    """The file is readable SQLite but not a database of our schema."""


@dataclass(frozen=True)
class Schema:
    """One table; ``version`` is stored in ``PRAGMA user_version``."""

    table: str
    ddl: str
    version: int
    columns: frozenset[str]


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return code & 0xFF if isinstance(code, int) else None


def _is_locked(exc: BaseException) -> bool:
    code = _sqlite_code(exc)
    if code is not None:
        return code in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def _is_corrupt(exc: BaseException) -> bool:
    if isinstance(exc, _Unusable):
        return True
    code = _sqlite_code(exc)
    if code is not None:
        return code in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    return "malformed" in str(exc).lower() or "not a database" in str(exc).lower()


def _writable(path: Path) -> bool:
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK)  # the WAL and its index live beside the file


def _is_read_only(exc: BaseException) -> bool:
    code = _sqlite_code(exc)
    if code is not None and code == 8:  # SQLITE_READONLY
        return True
    return "readonly" in str(exc).lower() or "read-only" in str(exc).lower()


class SharedDB:
    """A lazily opened connection to ``path``, safe across threads, forks and kernels."""

    def __init__(self, path: Path, schema: Schema, *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path = path
        self.schema = schema
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._inode: int | None = None
        self._lock = threading.RLock()
        self.read_only = False  # how the open connection was opened

    def bytes_on_disk(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                with contextlib.suppress(sqlite3.Error):
                    conn.close()

    def run(self, op: Callable[[sqlite3.Connection], T], what: str, default: T) -> T:
        """``op(connection)``, retrying locks and setting a broken file aside once; any
        other failure returns ``default`` with a ``GrokCacheWarning``."""
        with self._lock:
            pause = LOCK_RETRY_PAUSE_S
            locked_tries = 0
            set_aside = False
            while True:
                try:
                    return op(self._connection())
                except (sqlite3.Error, _Unusable, OSError) as exc:
                    failure: BaseException = exc
                    if isinstance(exc, sqlite3.Error) and _is_locked(exc):
                        if locked_tries < LOCK_RETRIES:
                            locked_tries += 1
                            time.sleep(pause)
                            pause *= 2
                            continue
                    elif _is_corrupt(exc) and not set_aside and not self.read_only:
                        set_aside = True
                        try:
                            self._set_aside(str(exc))
                            continue
                        except OSError as rename_failed:  # e.g. held open elsewhere (Windows)
                            failure = rename_failed
                    self.close()
                    warnings.warn(
                        f"grok_nb cache {what} failed for {self.path} ({failure}); "
                        "continuing without the cache for this call",
                        GrokCacheWarning,
                        stacklevel=3,
                    )
                    return default

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited through fork must not be used (or closed) by the child.
        self._conn = None
        with contextlib.suppress(OSError):  # a read-only place: the file may still be there
            self.path.parent.mkdir(parents=True, exist_ok=True)
        read_only = not _writable(self.path)
        try:
            conn = self._open(read_only)
        except sqlite3.Error as exc:
            if read_only or not _is_read_only(exc):
                raise
            # The OS said writable but SQLite cannot write (a read-only mount, root
            # squash, another owner): read what is there.
            read_only = True
            conn = self._open(read_only)
        self._conn, self._pid, self.read_only = conn, os.getpid(), read_only
        return conn

    def _open(self, read_only: bool) -> sqlite3.Connection:
        options = ("mode=ro", "immutable=1") if read_only else (None,)
        for n, option in enumerate(options):
            target = str(self.path)
            if option is not None:
                target = f"{self.path.resolve().as_uri()}?{option}"
            conn = sqlite3.connect(
                target,
                uri=option is not None,
                timeout=self.busy_timeout_s,
                isolation_level=None,  # autocommit: every statement is its own short transaction
                check_same_thread=False,  # guarded by self._lock
            )
            try:
                with contextlib.suppress(OSError):
                    self._inode = os.stat(self.path).st_ino
                self._prepare(conn, read_only)
                return conn
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
                # mode=ro still needs the WAL index; where it cannot be made, immutable
                if n + 1 == len(options) or not isinstance(exc, sqlite3.OperationalError):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _prepare(self, conn: sqlite3.Connection, read_only: bool = False) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        if not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL never corrupts; at worst a power cut loses the last answers.
            conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and read_only:
            raise sqlite3.OperationalError("read-only and empty: nothing recorded here")
        if version == 0:
            self._create(conn)
        elif version != self.schema.version:
            raise _Unusable(f"schema version {version}, this grok_nb reads {self.schema.version}")
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({self.schema.table})")}
        if not columns >= self.schema.columns:
            raise _Unusable("malformed schema")
        if self.bytes_on_disk() <= QUICK_CHECK_MAX_BYTES:
            result = conn.execute("PRAGMA quick_check(1)").fetchone()
            if not result or result[0] != "ok":
                raise _Unusable(f"quick_check: {result[0] if result else 'no result'}")

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another kernel may have just created it.
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                sql = "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                if {r[0] for r in conn.execute(sql)} - {self.schema.table}:
                    raise _Unusable("not a grok_nb cache (unknown tables)")
                conn.execute(self.schema.ddl)
                conn.execute(f"PRAGMA user_version = {self.schema.version}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _set_aside(self, reason: str) -> None:
        """Rename the unreadable file (and its WAL) aside so a fresh one can start."""
        opened_inode, self._inode = self._inode, None
        self.close()
        try:
            current = os.stat(self.path).st_ino
        except OSError:
            return  # already gone: the next open starts fresh
        if opened_inode is not None and current != opened_inode:
            return  # another kernel already replaced it; just reopen
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, target)
        # A stale WAL beside a fresh database would be replayed into it.
        with contextlib.suppress(OSError):
            os.replace(f"{self.path}-wal", f"{target}-wal")
        with contextlib.suppress(OSError):
            os.remove(f"{self.path}-shm")
        warnings.warn(
            f"grok_nb cache {self.path} was unreadable ({reason}); moved it to {target.name} "
            "and started a fresh cache",
            GrokCacheWarning,
            stacklevel=4,
        )
