"""The SSE decoder on raw bytes, split at awkward places."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from grok_nb.api.sse import SSEDecoder, SSEEvent, iter_events
from grok_nb.api.stream import StreamState

STREAM = (
    "\ufeff: keep-alive comment\r\n"
    'data: {"choices":[{"index":0,"delta":{"content":"héllo 🌍"}}]}\r\n'
    "\r\n"
    "event: note\n"
    "id: 7\n"
    "retry: 1500\n"
    "data: line one\n"
    "data:line two\n"
    "\n"
    "data: carriage\r"
    "\r"
    "data: [DONE]\n"
    "\n"
).encode()

EXPECTED = [
    SSEEvent('{"choices":[{"index":0,"delta":{"content":"héllo 🌍"}}]}'),
    SSEEvent("line one\nline two", event="note", id="7", retry=1500),
    SSEEvent("carriage", id="7", retry=1500),
    SSEEvent("[DONE]", id="7", retry=1500),
]


def test_whole_stream_decodes_every_field_and_line_ending():
    assert list(iter_events([STREAM])) == EXPECTED


def test_one_byte_at_a_time():
    assert list(iter_events([STREAM[i : i + 1] for i in range(len(STREAM))])) == EXPECTED


def test_every_two_way_split():
    # every cut point: inside the BOM, inside CRLF, inside a multi-byte character
    for cut in range(len(STREAM) + 1):
        assert list(iter_events([STREAM[:cut], STREAM[cut:]])) == EXPECTED, cut


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_random_splits(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert list(iter_events(chunks)) == EXPECTED


def test_cr_at_chunk_end_then_lf_is_one_line_ending():
    dec = SSEDecoder()
    assert dec.feed(b"data: a\r") == []
    assert dec.feed(b"\n") == []  # the LF belongs to the CR: not a blank line
    assert dec.feed(b"\r\n") == [SSEEvent("a")]


def test_unterminated_event_is_dropped_at_end_of_stream():
    dec = SSEDecoder()
    assert dec.feed(b"data: complete\n\ndata: cut") == [SSEEvent("complete")]
    assert dec.flush() == []


def test_empty_data_lines_and_blank_lines_without_data():
    events = list(iter_events([b"\n\n\ndata\n\ndata:\ndata:\n\n"]))
    assert events == [SSEEvent(""), SSEEvent("\n")]


def test_stream_state_collects_text_usage_and_finish_from_decoded_events():
    chunks = [
        {"id": "c1", "model": "m-resolved", "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": " there"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
    ]
    raw = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
    state = StreamState()
    deltas = [state.add_data(e.data) for e in iter_events([raw[:17], raw[17:]])]
    assert [d for d in deltas if d] == ["Hi", " there"]
    assert (state.text, state.finish_reason, state.model, state.id) == (
        "Hi there",
        "stop",
        "m-resolved",
        "c1",
    )
    assert state.done and state.usage is not None and state.usage.prompt_tokens == 5
