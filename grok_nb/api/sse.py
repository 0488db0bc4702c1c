"""A small incremental Server-Sent Events decoder (bytes in, events out).

It follows the WHATWG event-stream rules that matter for chat streams: lines end
with CRLF, LF or CR (a CR at the end of one network chunk may be followed by the
LF of the next); ``data:`` lines accumulate, joined by newlines; a blank line
dispatches; lines starting with ``:`` are comments (keep-alives); a UTF-8 BOM at
the start is dropped. Lines are split on bytes before decoding, so a multi-byte
character cut between two chunks decodes intact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["SSEDecoder", "SSEEvent", "iter_events"]


class SSEEvent:
    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, data: str, event: str = "message", id: str | None = None, retry: int | None = None
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return f"SSEEvent(event={self.event!r}, data={self.data[:40]!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SSEEvent) and (
            (self.data, self.event, self.id, self.retry)
            == (other.data, other.event, other.id, other.retry)
        )


class SSEDecoder:
    """Feed raw bytes with ``feed``; it returns the events completed so far."""

    def __init__(self) -> None:
        self._pending = b""
        self._skip_lf = False
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        data = self._pending + chunk if self._pending else chunk
        if not self._started:
            if len(data) < 3 and b"\xef\xbb\xbf".startswith(data):
                self._pending = data  # could still be the start of a BOM
                return []
            self._started = True
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        lines = data.splitlines(keepends=True)  # bytes: splits on \r\n, \n and \r only
        self._pending = b""
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            self._pending = lines.pop()
        elif lines and lines[-1].endswith(b"\r"):
            self._skip_lf = True  # the chunk ends with CR: its LF, if any, starts the next one
        events: list[SSEEvent] = []
        for raw in lines:
            event = self._line(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: an unterminated last line is processed; an event without its
        blank line is dropped, as the standard says."""
        events: list[SSEEvent] = []
        if self._pending:
            line, self._pending = self._pending, b""
            event = self._line(line.decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        self._data, self._event = [], ""
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent("\n".join(self._data), self._event or "message", self._id, self._retry)
            self._data, self._event = [], ""
            return event
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """All events of a byte stream (for tests and simple uses)."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()
