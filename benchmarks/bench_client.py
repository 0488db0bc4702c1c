"""Client overhead: time to first token vs bare httpx, and CPU time to parse a stream.

    python benchmarks/bench_client.py [--runs 200]

1. Time to first token (TTFT) against the simulator running in a separate process
   (so the server does not share this process's GIL): grok_nb's ``Client.chat``
   (first ``on_delta`` call) vs a bare ``httpx`` streaming request on a persistent
   connection (first network chunk holding a content delta). Runs alternate
   between the two so drift affects both alike. Target: <= 2 ms median added.
2. CPU time to parse a 2,000-token stream (2,000 content chunks, a finish chunk,
   a usage chunk, [DONE]): grok_nb's SSE decoder + chunk folding, httpx-sse's
   decoder + json.loads for comparison, and the whole ``Client.chat`` over an
   in-memory httpx transport (no network).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grok_nb.api.client import Client
from grok_nb.api.request import build_chat_request
from grok_nb.api.sse import SSEDecoder
from grok_nb.api.stream import StreamState

KEY = "bench-key"
MODEL = "grok-4-1-fast-non-reasoning"


class _Image:
    def __init__(self) -> None:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (320, 240), (90, 140, 200)).save(buf, "PNG")
        self.data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        self.detail = "high"


def _start_simulator() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grok_nb.simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.split("listening on ")[1].strip()


def _ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    median = statistics.median(values)
    return f"median {median * 1e3:7.3f} ms   p10 {q[0] * 1e3:7.3f}   p90 {q[-1] * 1e3:7.3f}"


def bench_ttft(runs: int) -> None:
    proc, base = _start_simulator()
    try:
        body = build_chat_request(["What is in this image?", _Image()], model=MODEL)
        url = base + "/chat/completions"
        headers = {"Authorization": f"Bearer {KEY}"}
        bare = httpx.Client(timeout=30)
        ours = Client(api_key=KEY, base_url=base)

        def run_bare() -> float:
            start = time.perf_counter()
            first = None
            with bare.stream("POST", url, json=body, headers=headers) as response:
                for chunk in response.iter_bytes():
                    if first is None and b'"content"' in chunk:
                        first = time.perf_counter() - start
            assert first is not None
            return first

        def run_ours() -> float:
            start = time.perf_counter()
            first: list[float] = []

            def on_delta(_: str) -> None:
                if not first:
                    first.append(time.perf_counter() - start)

            ours.chat(body, on_delta=on_delta)
            return first[0]

        for _ in range(10):  # warm up both connection pools and the server
            run_bare(), run_ours()
        bare_t, ours_t = [], []
        for i in range(runs):
            if i % 2:
                bare_t.append(run_bare())
                ours_t.append(run_ours())
            else:
                ours_t.append(run_ours())
                bare_t.append(run_bare())
        bare.close()
        ours.close()
    finally:
        proc.terminate()
        proc.wait()
    print(f"Time to first token, {runs} runs each (simulator in another process):")
    print(f"  bare httpx stream     {_ms(bare_t)}")
    print(f"  grok_nb Client.chat   {_ms(ours_t)}")
    added = statistics.median(ours_t) - statistics.median(bare_t)
    print(f"  added by grok_nb: {added * 1e3:+.3f} ms median (target <= 2 ms)")


def _stream_bytes(tokens: int) -> bytes:
    base = {"id": "bench", "object": "chat.completion.chunk", "created": 0, "model": MODEL}
    events = []
    for n in range(tokens):
        delta = {"content": f"tok{n} "}
        events.append({**base, "choices": [{"index": 0, "delta": delta}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append(
        {**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": tokens}}
    )
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return text.encode()


def _chunks(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _cpu(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return out


def bench_parse(repeats: int, tokens: int = 2000) -> None:
    data = _stream_bytes(tokens)
    chunks = _chunks(data)

    def ours() -> None:
        decoder, state = SSEDecoder(), StreamState()
        for chunk in chunks:
            for event in decoder.feed(chunk):
                state.add_data(event.data)
        assert len(state.text) > tokens and state.usage is not None

    def httpx_sse() -> None:
        from httpx_sse._decoders import SSEDecoder as LineDecoder
        from httpx_sse._decoders import SSELineDecoder

        lines, decoder, text = SSELineDecoder(), LineDecoder(), []
        for chunk in chunks:
            for line in lines.decode(chunk.decode("utf-8")):
                event = decoder.decode(line)
                if event is not None and event.data != "[DONE]":
                    obj = json.loads(event.data)
                    for choice in obj["choices"]:
                        text.append(choice["delta"].get("content") or "")
        assert len("".join(text)) > tokens

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=httpx.ByteStream(data)
        )

    client = Client(api_key=KEY, base_url="http://bench.invalid/v1",
                    transport=httpx.MockTransport(handler))  # fmt: skip
    body = build_chat_request("x", model=MODEL)
    deltas: list[str] = []

    def whole_client() -> None:
        deltas.clear()
        answer = client.chat(body, on_delta=deltas.append)
        assert len(deltas) == tokens and answer.usage is not None

    for fn in (ours, httpx_sse, whole_client):
        fn()  # warm up
    print(f"CPU time to parse a {tokens:,}-token stream ({len(data):,} bytes, 4 KiB chunks), "
          f"{repeats} runs:")  # fmt: skip
    print(f"  grok_nb SSE decoder + chunk folding     {_ms(_cpu(ours, repeats))}")
    print(f"  httpx-sse decoder + json.loads          {_ms(_cpu(httpx_sse, repeats))}")
    print(f"  grok_nb Client.chat, in-memory httpx    {_ms(_cpu(whole_client, repeats))}")
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--parse-repeats", type=int, default=30)
    args = parser.parse_args()
    bench_ttft(args.runs)
    print()
    bench_parse(args.parse_repeats)


if __name__ == "__main__":
    main()
