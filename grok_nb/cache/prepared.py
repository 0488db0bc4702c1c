"""Prepared images on disk, by source fingerprint, beside the response cache.

Replaying a notebook from the cache in a fresh kernel (CI, a colleague's machine)
would otherwise decode, resize and encode every image again just to compute the
cache key: tens of milliseconds a photo. With this store a replayed ask reads the
encoded bytes it sent last time instead. The store is an optimisation only: any
problem with the file turns it off for the session with one warning, and the image
is prepared as usual. Every blob is checked against the SHA-256 recorded with it
when read; one that does not match is a miss (and is removed), never sent.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from grok_nb.images.prepared_image import PreparedImage
from grok_nb.tiling import TilePlan

__all__ = ["MAX_STORE_BYTES", "PreparedStore"]

MAX_STORE_BYTES = 256 * 1024 * 1024  # least recently used images go beyond this
THUMB_PX = 384  # the plan's display preview is kept at this size (JPEG/PNG bytes)
SCHEMA = """
CREATE TABLE IF NOT EXISTS prepared (
    key TEXT PRIMARY KEY,
    meta TEXT NOT NULL,
    data BLOB NOT NULL,
    thumb BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    used REAL NOT NULL
)
"""


class PreparedStore:
    def __init__(self, path: str | Path, max_bytes: int = MAX_STORE_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(SCHEMA)
                conn.commit()
                self._conn = conn
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
        return self._conn

    def _give_up(self, exc: BaseException) -> None:
        self._broken = True
        warnings.warn(
            f"grok_nb: prepared-image store {self.path} is unusable ({exc}); "
            "images will be prepared every time",
            RuntimeWarning,
            stacklevel=3,
        )

    def get(self, key: str) -> PreparedImage | None:
        with self._lock:
            db = self._db()
            if db is None:
                return None
            try:
                row = db.execute(
                    "SELECT meta, data, thumb FROM prepared WHERE key = ?", (key,)
                ).fetchone()
                if row is None:
                    return None
                db.execute("UPDATE prepared SET used = ? WHERE key = ?", (time.time(), key))
                db.commit()
            except sqlite3.Error as exc:
                self._give_up(exc)
                return None
        try:
            meta, data = json.loads(row[0]), bytes(row[1])
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                self._drop(key)  # damaged or tampered with: never send it
                return None
            return _rebuild(meta, data, bytes(row[2]))
        except (ValueError, KeyError, TypeError, OSError):
            return None  # an entry we cannot read is just a miss

    def _drop(self, key: str) -> None:
        with self._lock:
            db = self._db()
            if db is None:
                return
            try:
                db.execute("DELETE FROM prepared WHERE key = ?", (key,))
                db.commit()
            except sqlite3.Error as exc:
                self._give_up(exc)

    def put(self, key: str, prepared: PreparedImage) -> None:
        if prepared.data is None or prepared.plan is None or prepared.plan.preview is None:
            return
        thumb = _thumb_bytes(prepared.plan.preview)
        meta = json.dumps(_meta(prepared))
        size = len(prepared.data) + len(thumb)
        with self._lock:
            db = self._db()
            if db is None:
                return
            try:
                db.execute(
                    "INSERT OR REPLACE INTO prepared VALUES (?, ?, ?, ?, ?, ?)",
                    (key, meta, prepared.data, thumb, size, time.time()),
                )
                self._evict(db)
                db.commit()
            except sqlite3.Error as exc:
                self._give_up(exc)

    def _evict(self, db: sqlite3.Connection) -> None:
        total = db.execute("SELECT COALESCE(SUM(bytes), 0) FROM prepared").fetchone()[0]
        if total <= self.max_bytes:
            return
        for key, size in db.execute("SELECT key, bytes FROM prepared ORDER BY used").fetchall():
            db.execute("DELETE FROM prepared WHERE key = ?", (key,))
            total -= size
            if total <= self.max_bytes:
                break

    def clear(self) -> int:
        """Forget every stored image; returns how many there were."""
        with self._lock:
            db = self._db()
            if db is None:
                return 0
            try:
                removed = db.execute("DELETE FROM prepared").rowcount
                db.commit()
            except sqlite3.Error as exc:
                self._give_up(exc)
                return 0
            return int(removed)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _thumb_bytes(preview: Any) -> bytes:
    img = preview.copy()
    img.thumbnail((THUMB_PX, THUMB_PX))
    buf = io.BytesIO()
    if img.mode in ("RGBA", "LA", "P"):
        img.save(buf, format="PNG")
    else:
        img.convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _meta(p: PreparedImage) -> dict[str, Any]:
    assert p.plan is not None
    plan = p.plan
    return {
        "label": p.label,
        "mime": p.mime,
        "size": p.size,
        "sent_size": p.sent_size,
        "detail": p.detail,
        "sha256": p.sha256,
        "notes": list(p.notes),
        "plan": {**plan.to_dict(), "label": plan.label},
    }


def _rebuild(meta: dict[str, Any], data: bytes, thumb: bytes) -> PreparedImage:
    from PIL import Image

    d = meta["plan"]
    preview = Image.open(io.BytesIO(thumb))
    preview.load()
    plan = TilePlan(
        width=d["width"],
        height=d["height"],
        rule=d["rule"],
        detail=d["detail"],
        grid=tuple(d["grid"]),
        tiles=d["tiles"],
        extra_tiles=d["extra_tiles"],
        tokens=d["tokens"],
        resized=tuple(d["resized"]),
        boxes=tuple(tuple(b) for b in d["boxes"]),
        assumption=d["assumption"],
        label=d["label"],
        preview=preview,
    )
    return PreparedImage(
        label=meta["label"],
        data=data,
        mime=meta["mime"],
        url=None,
        size=tuple(meta["size"]),
        sent_size=tuple(meta["sent_size"]),
        plan=plan,
        detail=meta["detail"],
        sha256=meta["sha256"],
        notes=tuple(meta["notes"]),
    )
