"""``%grokvision_batch``: Batch API jobs of this machine, from a notebook line.

``%grokvision_batch`` or ``list`` shows every job in the journal; ``status ID`` the
API's counts and the cost so far; ``results ID`` the answers as a table (a DataFrame
when pandas is installed, else Markdown); ``cancel ID`` cancels, keeping what finished.
Registered by ``load_ipython_extension`` in ``magics.py``.
"""

from __future__ import annotations

import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from grok_nb.batch_api import BatchJob, batch_jobs
from grok_nb.errors import GrokError
from grok_nb.notebook.prompt import split_line
from grok_nb.pricing import format_usd

__all__ = ["GrokVisionBatchMagics", "register"]

USAGE = "%grokvision_batch [list | status ID | results ID | cancel ID]"


def _show(markdown: str, plain: str) -> None:
    display({"text/markdown": markdown, "text/plain": plain}, raw=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@magics_class
class GrokVisionBatchMagics(Magics):
    @line_magic
    def grokvision_batch(self, line: str = "") -> Any:
        """Batch API jobs: ``list``, ``status ID``, ``results ID``, ``cancel ID``."""
        words = split_line(line, "%grokvision_batch")
        action = words[0] if words else "list"
        if action == "list" and len(words) <= 1:
            return self._list()
        if action not in ("status", "results", "cancel") or len(words) != 2:
            raise UsageError(f"usage: {USAGE}")
        try:
            job = BatchJob.attach(words[1])
            if action == "results":
                return self._results(job)
            status = job.cancel() if action == "cancel" else job.status()
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        verb = "Cancelled; " if action == "cancel" else ""
        _show(f"**{verb}{_cell(str(status))}**", f"{verb}{status}")
        return None

    def _list(self) -> None:
        jobs = batch_jobs()
        if not jobs:
            _show("*No batch jobs in this machine's journal.*", "No batch jobs.")
            return
        rows = ["| batch | name | items | model | state | submitted | estimate |", "|---" * 7 + "|"]
        plain = []
        for job in jobs:
            r = job.journal.job(job.id) or job.record
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
            cells = [r.batch_id, r.name, str(r.n_items), r.model, r.state, when]
            cells.append(format_usd(r.estimate_usd))
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            plain.append("  ".join(cells))
        _show("\n".join(rows), "\n".join(plain))

    def _results(self, job: BatchJob) -> Any:
        try:
            return job.to_frame()
        except GrokError:  # no pandas: a Markdown table instead
            pass
        rows = ["| # | item | answer or error | cost |", "|---|---|---|---|"]
        for n, a in enumerate(job.results()):
            text = a.text if a.error is None else f"error: {a.error}"
            rows.append(
                f"| {n} | {_cell(a.item or '')} | {_cell(text[:200])} | {format_usd(a.cost_usd)} |"
            )
        _show("\n".join(rows), "\n".join(rows))
        return None


def register(ipython: Any) -> None:
    """Register ``%grokvision_batch`` with ``ipython``."""
    ipython.register_magics(GrokVisionBatchMagics(ipython))
