"""Async connection pools: one ``httpx.AsyncClient`` per event loop per ``Client``.

A pool belongs to the loop it was made on (httpx clients cannot move between loops),
counts the requests using it, and is closed when idle at the end of a batch
(``close_idle_pools``), so no socket, loop or thread outlives the work that needed it.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["LIVE", "Pool", "close_idle_pools"]

LIVE: weakref.WeakSet[Any] = weakref.WeakSet()  # for close_idle_pools


class Pool:
    """One loop's ``httpx.AsyncClient`` and how many requests are using it now."""

    __slots__ = ("http", "loop", "users")

    def __init__(self, http: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.http = http
        self.loop = weakref.ref(loop)
        self.users = 0

    def dead(self) -> bool:
        loop = self.loop()
        return loop is None or loop.is_closed() or self.http.is_closed


async def close_idle_pools() -> int:
    """Close every client's async pool on the running loop that no request is using;
    returns how many were closed. The next request on this loop opens a new one."""
    closed = 0
    for client in list(LIVE):
        closed += await client._aclose_pool(only_idle=True)
    return closed
