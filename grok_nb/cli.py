"""``grok-nb``: tile plans, questions and the offline simulator from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from grok_nb.asking import ask, tiles
from grok_nb.calibration import calibrate
from grok_nb.errors import GrokError
from grok_nb.images.expand import expand_path_source
from grok_nb.images.fetch import is_data_url, is_http_url
from grok_nb.pricing import format_usd
from grok_nb.render import answer_footer, rule_label
from grok_nb.settings import current
from grok_nb.simulator import main as simulate
from grok_nb.tiling import DETAILS, RULES

__all__ = ["main"]

EXIT_USAGE = 2


def expand_image_args(images: Sequence[str]) -> list[str]:
    """Image arguments -> files: a quoted glob ('shots/**/*.png') or ~ expands here as
    in ask() and %%grokvision (one function for all three); URLs pass through."""
    out: list[str] = []
    for item in images:
        out += [item] if is_http_url(item) or is_data_url(item) else expand_path_source(item)
    return out


def _cmd_tiles(args: argparse.Namespace) -> int:
    model = args.model or current().model
    args.images = expand_image_args(args.images)
    plans = [tiles(src, rule=args.rule, detail=args.detail, model=model) for src in args.images]
    if args.json:
        records = [
            {
                "file": src,
                **p.to_dict(),
                "rule_source": p.rule_source,
                "model": model,
                "cost_usd": p.cost_usd(model),
            }
            for src, p in zip(args.images, plans, strict=True)
        ]
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    header = ("file", "size", "grid", "tiles", "tokens", "est. cost")
    table = [header]
    for src, p in zip(args.images, plans, strict=True):
        extra = f"+{p.extra_tiles}" if p.extra_tiles else ""
        table.append(
            (
                src,
                f"{p.width}x{p.height}",
                f"{p.grid[0]}x{p.grid[1]}",
                f"{p.tiles}{extra}",
                f"{p.tokens:,}",
                format_usd(p.cost_usd(model)),
            )
        )
    if len(plans) > 1:
        total = sum(p.tokens for p in plans)
        costs = [p.cost_usd(model) for p in plans]
        cost = None if None in costs else sum(c or 0.0 for c in costs)
        table.append(("total", "", "", "", f"{total:,}", format_usd(cost)))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{rule_label(plans[0])}, detail {plans[0].detail}, model {model}")
    for p in plans:
        if p.assumption:
            print(f"note: {p.assumption}")
            break
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    args.images = expand_image_args(args.images)
    answer = ask(
        args.prompt,
        *args.images,
        model=args.model,
        detail=args.detail,
        tile_rule=args.rule,
        system=args.system,
        cache="off" if args.no_cache else None,
        api=args.api,
        on_delta=None if args.json else lambda d: print(d, end="", flush=True),
    )
    if args.json:
        json.dump(answer.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"\n---\n{answer_footer(answer)}", file=sys.stderr)
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    report = calibrate(args.model)
    print(report)
    return 0 if report.verdict else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grok-nb", description="Grok vision from the shell: tile plans, questions, simulator."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tiles", help="show how images are cut into 448 px tiles and their cost")
    t.add_argument("images", nargs="+", metavar="IMG", help="image files")
    t.add_argument("--rule", choices=sorted(RULES), help="default: the rule in force")
    t.add_argument("--detail", choices=DETAILS, default=None)
    t.add_argument("--model", default=None, help="model whose prices to use")
    t.add_argument("--json", action="store_true", help="print JSON instead of a table")
    t.set_defaults(func=_cmd_tiles)
    a = sub.add_parser("ask", help="ask a Grok vision model about images")
    a.add_argument("images", nargs="+", metavar="IMG", help="image files or URLs")
    a.add_argument("-p", "--prompt", required=True, help="the question")
    a.add_argument("-m", "--model", default=None)
    a.add_argument("--detail", choices=DETAILS, default=None)
    a.add_argument("--rule", choices=sorted(RULES), help="default: the rule in force")
    a.add_argument("--system", default=None)
    a.add_argument("--no-cache", action="store_true")
    a.add_argument("--api", choices=("chat", "responses"), default=None,
                   help="POST /chat/completions (default) or /responses")  # fmt: skip
    a.add_argument("--json", action="store_true", help="print the answer as JSON")
    a.set_defaults(func=_cmd_ask)
    c = sub.add_parser("calibrate", help="find which tile rule the API bills (costs a little)")
    c.add_argument("-m", "--model", default=None)
    c.set_defaults(func=_cmd_calibrate)
    s = sub.add_parser("simulate", help="run the offline xAI-compatible simulator", add_help=False)
    s.add_argument("rest", nargs=argparse.REMAINDER, help="see grok-nb simulate --help")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:  # the simulator parses its own options
        return int(simulate(argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except GrokError as exc:
        print(f"grok-nb: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grok-nb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
