"""``calibrate``: learn which tile rule the API really bills, from a few probe images.

Each probe is a small synthetic image whose size makes the rules disagree; it is sent
alone with a one-token answer, and the billed ``image_tokens`` is compared with every
rule's prediction. The verdict is stored per (endpoint, model) by ``grok_nb.rules``,
which every later estimate against that endpoint and model consults.

The probes are recorded in the kernel's ledger as calibration calls
(``ledger.purpose("calibration")``), apart from the session's questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grok_nb.api.credentials import resolve_base_url
from grok_nb.asking import ask, resolve_options
from grok_nb.ledger import purpose
from grok_nb.pricing import format_usd
from grok_nb.rules import save_calibration
from grok_nb.tiling import RULES, plan

__all__ = ["PROBE_SIZES", "CalibrationReport", "calibrate"]

# Sizes chosen so the three built-in rules disagree (tokens xai-guide/internvl/ceil):
# 448x448 512/256/512 · 300x200 1792/1792/512 · 449x449 512/256/1280 ·
# 1920x1080 768/768/1792 · 200x1000 1536/1536/1024
PROBE_SIZES: tuple[tuple[int, int], ...] = (
    (448, 448),
    (300, 200),
    (449, 449),
    (1920, 1080),
    (200, 1000),
)
PROBE_PROMPT = "Reply with the single word OK."


def _probe_image(width: int, height: int) -> Any:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    for x in range(0, width, 32):  # a pattern, so nothing treats it as blank
        draw.line((x, 0, x, height), fill=(40, 90, 200))
    return img


@dataclass
class CalibrationReport:
    model: str
    endpoint: str = ""
    rows: list[tuple[int, int, int | None, dict[str, int]]] = field(default_factory=list)
    matches: dict[str, int] = field(default_factory=dict)
    verdict: str | None = None
    cost_usd: float = 0.0

    def _table(self) -> list[list[str]]:
        rules = list(self.matches)
        out = [["probe", "billed", *rules]]
        for w, h, billed, predicted in self.rows:
            cells = [f"{w}×{h}", "—" if billed is None else f"{billed:,}"]
            cells += [f"{predicted[r]:,}{' ✓' if predicted[r] == billed else ''}" for r in rules]
            out.append(cells)
        return out

    def summary(self) -> str:
        n = len(self.rows)
        if self.verdict:
            head = (
                f"{self.model} at {self.endpoint}: billing matches rule '{self.verdict}' "
                f"on all {n} probes"
            )
        else:
            best = max(self.matches.items(), key=lambda kv: kv[1], default=("none", 0))
            head = (
                f"{self.model} at {self.endpoint}: no rule matches every probe "
                f"(best: '{best[0]}' on {best[1]}/{n}); estimates keep the configured rule "
                "and flag mismatches"
            )
        return f"{head}. Calibration cost {format_usd(self.cost_usd)}."

    def __str__(self) -> str:
        rows = self._table()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join([*lines, self.summary()])

    def _repr_markdown_(self) -> str:
        rows = self._table()
        md = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(md) + f"\n\n**{self.summary()}**"


def calibrate(model: str | None = None, *, save: bool = True, **options: Any) -> CalibrationReport:
    """Send the probes to ``model`` (one request each, one-token answers) and report."""
    opts = resolve_options(model=model, base_url=options.get("base_url"))
    name = opts["model"]
    endpoint = resolve_base_url(opts["base_url"])
    report = CalibrationReport(model=name, endpoint=endpoint, matches={r: 0 for r in RULES})
    for width, height in PROBE_SIZES:
        with purpose("calibration"):
            answer = ask(
                PROBE_PROMPT,
                _probe_image(width, height),
                model=name,
                detail="high",
                cache="off",
                stream=False,
                max_tokens=1,
                resize="none",  # the probe's own size is the point
                **options,
            )
        billed = None if answer.usage is None else answer.usage.image_tokens
        predicted = {r: plan(width, height, rule=r).tokens for r in RULES}
        for r, tokens in predicted.items():
            report.matches[r] += int(tokens == billed)
        report.rows.append((width, height, billed, predicted))
        report.cost_usd += answer.cost_usd or 0.0
    full = [r for r, n in report.matches.items() if n == len(PROBE_SIZES)]
    report.verdict = full[0] if len(full) == 1 else None
    if save:
        save_calibration(endpoint, name, report.verdict, [list(r) for r in report.rows])
    return report
