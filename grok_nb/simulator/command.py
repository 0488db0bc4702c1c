"""``grok-nb simulate`` / ``python -m grok_nb.simulator``: run the simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from grok_nb.simulator.faults import Fault
from grok_nb.simulator.respond import USAGE_MODES
from grok_nb.simulator.server import Simulator
from grok_nb.tiling import DEFAULT_RULE, RULES

__all__ = ["DEFAULT_PORT", "build_parser", "main"]

DEFAULT_PORT = 8321


def build_parser(prog: str = "grok-nb simulate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Run grok_nb's offline xAI-compatible simulator on 127.0.0.1. It answers with "
            "measured facts about your images (size, tile plan, colours), never a model's words."
        ),
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--rule", choices=sorted(RULES), default=DEFAULT_RULE)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before answering")
    parser.add_argument("--tokens-per-s", type=float, default=None, help="streaming speed")
    parser.add_argument("--usage", choices=USAGE_MODES, default="final", help="usage placement")
    parser.add_argument("--api-key", default=None, help="require this key (default: any)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help='queue a fault, e.g. "429:retry_after=2", "reset:after_chunks=3", "credits"',
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        faults: list[Fault | str] = [Fault.parse(spec) for spec in args.fault]
    except ValueError as exc:
        print(f"grok-nb simulate: {exc}", file=sys.stderr)
        return 2
    try:
        sim = Simulator(
            port=args.port, rule=args.rule, latency_s=args.latency_ms / 1000.0, faults=faults,
            api_key=args.api_key, usage_mode=args.usage, tokens_per_s=args.tokens_per_s,
        )  # fmt: skip
    except OSError as exc:
        print(f"grok-nb simulate: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    sim.start()
    print(f"grok_nb simulator (offline, not a model) listening on {sim.base_url}", flush=True)
    print(f"  export XAI_BASE_URL={sim.base_url} XAI_API_KEY=simulator", flush=True)
    print(f"  rule {sim.rule}, usage {sim.usage_mode}. Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
