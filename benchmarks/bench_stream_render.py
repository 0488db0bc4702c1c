"""Kernel CPU spent showing a streamed 2,000-token answer: throttled (20 Hz) vs per token.

Runs in a real IPython kernel (jupyter_client), so every display update is a real
message serialised and sent over ZMQ. Tokens arrive at ~400 tokens/s, like a fast
model. Reported: median kernel CPU seconds (time.process_time in the kernel) and the
number of display updates, over several runs, both variants side by side.

Run: python benchmarks/bench_stream_render.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

from jupyter_client.manager import start_new_kernel

CELL = """
import time, json
from grok_nb.notebook.live import LiveMarkdown
live = LiveMarkdown(max_updates_per_s={rate})
tokens = 2000
start = time.process_time()
for i in range(tokens):
    live(f"word{{i}} ")
    if i % 8 == 0:
        time.sleep(0.02)  # ~400 tokens/s arriving from the network
live.finish({{"text/markdown": live.text, "text/plain": live.text}})
print(json.dumps({{"cpu_s": time.process_time() - start, "updates": live.updates}}))
"""


def run_once(kc, rate: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    msg_id = kc.execute(CELL.format(rate=rate))
    result = None
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["text"].startswith("{"):
            result = json.loads(msg["content"]["text"])
        if msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert result is not None
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.pop("MPLBACKEND", None)
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        results: dict[str, list[dict[str, float]]] = {"throttled 20 Hz": [], "per token": []}
        for _ in range(args.runs):  # interleaved so drift hits both equally
            results["throttled 20 Hz"].append(run_once(kc, 20))
            results["per token"].append(run_once(kc, 0))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(f"2,000-token streamed answer, median of {args.runs} runs, real kernel")
    print(f"{'variant':<18}{'kernel CPU s':>14}{'updates':>10}")
    med = {}
    for name, rows in results.items():
        med[name] = statistics.median(r["cpu_s"] for r in rows)
        updates = statistics.median(r["updates"] for r in rows)
        print(f"{name:<18}{med[name]:>14.3f}{updates:>10.0f}")
    print(f"throttling saves {med['per token'] / med['throttled 20 Hz']:.1f}x kernel CPU")


if __name__ == "__main__":
    main()
