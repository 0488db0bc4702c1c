"""The one place that decides which tile rule applies, and the calibration store.

Every entry point (``%%grokvision``, ``ask``, ``ask_many``, ``tiles``, the
``TileExplorer``, ``%grokvision_tiles``, the CLI, ``calibrate``) asks
``rule_in_force`` and shows the answer with where it came from. Precedence:

    explicit argument > the explorer's own choice > ``%config GrokVision.tile_rule``
    > what ``calibrate()`` learned for this endpoint and model > the default

A calibration is stored per (endpoint, model): a simulator's verdict never applies
to another server. ``GrokVision.tile_rule = "auto"`` (the default) means "not set".
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grok_nb.cache.paths import cache_dir
from grok_nb.settings import AUTO_RULE, current
from grok_nb.tiling import DEFAULT_RULE, RULES, get_rule

__all__ = [
    "CalibrationEntry",
    "RuleChoice",
    "calibration_path",
    "calibrations",
    "forget_calibration",
    "lookup_calibration",
    "rule_in_force",
    "save_calibration",
]

STORE_VERSION = 2  # version 1 keyed by model alone: unusable, since it named no endpoint


@dataclass(frozen=True)
class RuleChoice:
    """A rule and where it came from (shown beside every estimate)."""

    name: str
    source: str  # "given", "explorer", "%config", "calibrated", "default"
    detail: str = ""  # e.g. the endpoint and model a calibration was made against

    @property
    def where(self) -> str:
        """Where the rule came from, as shown: e.g. "calibrated for grok-4.3 at URL"."""
        return self.source if not self.detail else f"{self.source} {self.detail}"

    def describe(self) -> str:
        return f"{self.name} ({self.where})"


@dataclass(frozen=True)
class CalibrationEntry:
    endpoint: str
    model: str
    rule: str | None  # None: no rule matched every probe
    when: float
    probes: list[list[Any]]


def calibration_path() -> Path:
    return cache_dir() / "calibration.json"


def _key(endpoint: str, model: str) -> str:
    return f"{endpoint.rstrip('/')} {model}"


def _load() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(calibration_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write(entries: dict[str, dict[str, Any]]) -> None:
    path = calibration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": STORE_VERSION, "entries": entries}, indent=2))
    tmp.replace(path)


def _entry(raw: dict[str, Any]) -> CalibrationEntry | None:
    try:
        return CalibrationEntry(
            endpoint=str(raw["endpoint"]),
            model=str(raw["model"]),
            rule=raw["rule"] if raw.get("rule") in RULES else None,
            when=float(raw.get("when", 0.0)),
            probes=list(raw.get("probes", [])),
        )
    except (KeyError, TypeError, ValueError):
        return None  # a row of another shape: ignored, never fatal


def save_calibration(
    endpoint: str, model: str, rule: str | None, probes: list[list[Any]]
) -> CalibrationEntry:
    entry = CalibrationEntry(endpoint.rstrip("/"), model, rule, time.time(), probes)
    entries = _load()
    entries[_key(endpoint, model)] = asdict(entry)
    _write(entries)
    return entry


def lookup_calibration(endpoint: str, model: str) -> CalibrationEntry | None:
    raw = _load().get(_key(endpoint, model))
    return _entry(raw) if isinstance(raw, dict) else None


def calibrations() -> list[CalibrationEntry]:
    """Every stored calibration, oldest first."""
    found = [_entry(raw) for raw in _load().values() if isinstance(raw, dict)]
    return sorted((e for e in found if e is not None), key=lambda e: e.when)


def forget_calibration(endpoint: str | None = None, model: str | None = None) -> int:
    """Remove calibrations (all, or those of one endpoint and/or model); how many went."""
    entries = _load()
    keep = {
        k: v
        for k, v in entries.items()
        if not (
            (endpoint is None or v.get("endpoint") == endpoint.rstrip("/"))
            and (model is None or v.get("model") == model)
        )
    }
    if len(keep) != len(entries):
        _write(keep)
    return len(entries) - len(keep)


def rule_in_force(
    *,
    model: str,
    endpoint: str,
    explicit: str | None = None,
    explorer: str | None = None,
    configured: str | None = None,
) -> RuleChoice:
    """The rule for one image; ``configured`` defaults to ``GrokVision.tile_rule``."""
    if explicit and explicit != AUTO_RULE:
        return RuleChoice(get_rule(explicit).name, "given")
    if explorer:
        return RuleChoice(get_rule(explorer).name, "explorer")
    if configured is None:
        configured = current().tile_rule
    if configured and configured != AUTO_RULE:
        return RuleChoice(get_rule(configured).name, "%config")
    entry = lookup_calibration(endpoint, model)
    if entry is not None and entry.rule is not None:
        return RuleChoice(entry.rule, "calibrated", f"for {model} at {entry.endpoint}")
    return RuleChoice(DEFAULT_RULE, "default")
