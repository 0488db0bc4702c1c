"""``GrokVision``: every option of grok_nb as a configurable traitlet.

``%config GrokVision.model = "grok-4.3"`` and IPython config files both work, because
the magics register the single instance with the shell. The Python API reads the same
instance, so a notebook's settings apply to ``grok_nb.ask`` too. The API key is never
a config value: it is read from the environment at call time (see ``keys.py``).

``$GROK_NB_CACHE`` (a cache mode) and ``$GROK_NB_CACHE_PATH`` switch a whole run — a CI
job replaying a notebook — without touching it: until ``cache`` / ``cache_path`` is set
(``%config``, a config file, assignment) it reads the variable afresh at each use. A
``cache_path`` is expanded (``~``) and made absolute when it is set or read, relative to
the working directory: in Jupyter, the notebook's folder, so a cache file can live
beside the notebook it records.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import SingletonConfigurable

from grok_nb.errors import ConfigError
from grok_nb.pricing import default_model
from grok_nb.tiling import DEFAULT_RULE, DETAILS, RULES

__all__ = [
    "APIS",
    "AUTO_RULE",
    "CACHE_ENV",
    "CACHE_MODES",
    "CACHE_PATH_ENV",
    "GrokVision",
    "current",
    "resolve_options",
]

CACHE_MODES = ("use", "refresh", "off", "replay")
APIS = ("chat", "responses")
CACHE_ENV = "GROK_NB_CACHE"  # a cache mode for the whole run (CI: replay)
CACHE_PATH_ENV = "GROK_NB_CACHE_PATH"  # the response cache file for the whole run
AUTO_RULE = "auto"  # tile_rule not set: a calibration for the endpoint, else the default


class _ChosenModel(Unicode):
    """The ``model`` setting: until it is set (``%config``, a config file, assignment)
    it reads ``pricing.default_model()`` afresh each time, so a price list read later in
    the session moves the default too. A dynamic default would freeze the first choice."""

    def get(self, obj: Any, cls: Any = None) -> Any:
        if self.name not in obj._trait_values:
            return default_model()
        return super().get(obj, cls)


def _env_cache_mode() -> str:
    raw = os.environ.get(CACHE_ENV, "")
    mode = raw.strip().lower()
    if not mode:
        return "use"
    if mode not in CACHE_MODES:
        raise ConfigError(
            f"{CACHE_ENV}={raw!r} is not a cache mode; use one of {', '.join(CACHE_MODES)} "
            "(or unset it)"
        )
    return mode


def _absolute(path: str | None) -> str | None:
    return None if not path else os.path.abspath(os.path.expanduser(path))


class _CacheMode(Enum):
    """The ``cache`` setting: ``$GROK_NB_CACHE`` (read at each use) until it is set."""

    def get(self, obj: Any, cls: Any = None) -> Any:
        if self.name not in obj._trait_values:
            return _env_cache_mode()
        return super().get(obj, cls)


class _CachePath(Unicode):
    """The ``cache_path`` setting: ``$GROK_NB_CACHE_PATH`` (read at each use) until set."""

    def get(self, obj: Any, cls: Any = None) -> Any:
        if self.name not in obj._trait_values:
            return _absolute(os.environ.get(CACHE_PATH_ENV, "").strip() or None)
        return super().get(obj, cls)


class GrokVision(SingletonConfigurable):
    """Settings for ``%%grokvision`` and ``grok_nb.ask``."""

    model = _ChosenModel(
        help="Model to ask (a vision-capable Grok model); default: the cheapest current "
        "vision model of GET /language-models, offline the dated price table's choice."
    ).tag(config=True)
    base_url = Unicode(
        None,
        allow_none=True,
        help="API base URL; default: $XAI_BASE_URL, else https://api.x.ai/v1.",
    ).tag(config=True)
    detail = Enum(DETAILS, "high", help="Image detail sent with each image.").tag(config=True)
    tile_rule = Unicode(
        AUTO_RULE,
        help=f"Tile rule for estimates; {AUTO_RULE!r}: what calibrate() learned for the "
        f"endpoint and model, else {DEFAULT_RULE!r}.",
    ).tag(config=True)
    temperature = Float(None, allow_none=True, help="Sampling temperature, 0-2.").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Cap on completion tokens.").tag(config=True)
    system = Unicode(None, allow_none=True, help="System prompt for every call.").tag(config=True)
    stream = Bool(True, help="Stream answers as they are written.").tag(config=True)
    api = Enum(
        APIS,
        "chat",
        help="Which API to call: 'chat' (POST /chat/completions, every OpenAI-compatible "
        "endpoint) or 'responses' (POST /responses, xAI's newer API).",
    ).tag(config=True)
    cache = _CacheMode(
        CACHE_MODES,
        "use",
        help=f"Response cache: use, refresh, off or replay; default: ${CACHE_ENV}, else use.",
    ).tag(config=True)
    cache_path = _CachePath(
        None,
        allow_none=True,
        help=f"SQLite cache file (a relative path is from the notebook's folder); default: "
        f"${CACHE_PATH_ENV}, else under the user cache dir.",
    ).tag(config=True)
    max_cost_usd = Float(
        None, allow_none=True, help="Refuse a call whose estimated cost is above this."
    ).tag(config=True)
    max_batch_cost_usd = Float(
        None,
        allow_none=True,
        help="Refuse an ask_many batch whose estimated total is above this (max_cost_usd "
        "still limits each call of it).",
    ).tag(config=True)
    # reasoning models may think for minutes between streamed chunks
    timeout_s = Float(180.0, help="Seconds to wait for the server before giving up.").tag(
        config=True
    )
    max_retries = Int(2, help="Retries on connection errors, 408/409/429/5xx.").tag(config=True)
    max_retry_after_s = Float(
        60.0,
        help="Longest Retry-After (seconds) the server may ask for and be waited out; a "
        "longer one fails the call at once with a RateLimitError saying how long.",
    ).tag(config=True)
    show_tiles = Bool(True, help="Show thumbnails with the tile grid above each answer.").tag(
        config=True
    )
    resize = Enum(
        ("model", "none"), "model", help="Downscale to the model's resolution before upload."
    ).tag(config=True)
    concurrency = Int(8, help="Parallel requests in ask_many.").tag(config=True)
    fetch_urls = Bool(False, help="Download image URLs locally before sending.").tag(config=True)

    @validate("tile_rule")
    def _check_rule(self, proposal: Any) -> str:
        value = proposal["value"]
        if value != AUTO_RULE and value not in RULES:
            known = ", ".join([AUTO_RULE, *sorted(RULES)])
            raise TraitError(f"unknown tile rule {value!r}; known: {known}")
        return str(value)

    @validate("cache_path")
    def _check_cache_path(self, proposal: Any) -> str | None:
        return _absolute(proposal["value"])

    @validate("model")
    def _check_model(self, proposal: Any) -> str:
        value = str(proposal["value"]).strip()
        if not value:
            raise TraitError("model must not be empty")
        return value

    @validate("temperature")
    def _check_temperature(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is not None and not 0.0 <= value <= 2.0:
            raise TraitError(f"temperature must be between 0 and 2, not {value}")
        return value

    @validate("max_tokens", "concurrency")
    def _check_positive_int(self, proposal: Any) -> int | None:
        value = proposal["value"]
        if value is not None and value < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1, not {value}")
        return value

    @validate("max_retries")
    def _check_retries(self, proposal: Any) -> int:
        value = proposal["value"]
        if value < 0:
            raise TraitError(f"max_retries must be 0 or more, not {value}")
        return int(value)

    @validate("timeout_s", "max_cost_usd")
    def _check_positive_float(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"{proposal['trait'].name} must be positive, not {value}")
        return value

    @validate("max_batch_cost_usd")
    def _check_batch_cost(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is not None and not 0 < value < math.inf:
            raise TraitError(f"max_batch_cost_usd must be a positive amount, not {value}")
        return value

    @validate("max_retry_after_s")
    def _check_retry_after(self, proposal: Any) -> float:
        value = proposal["value"]
        if not 0 <= value < math.inf:  # nan fails this too
            raise TraitError(f"max_retry_after_s must be 0 or more seconds, not {value}")
        return float(value)

    def options(self) -> dict[str, Any]:
        """The current values as a plain dict (no key: it is not a setting)."""
        return {name: getattr(self, name) for name in self.trait_names(config=True)}


def current(shell: Any = None) -> GrokVision:
    """The settings in force: one instance, configured from the running IPython shell.

    Whichever comes first — ``grok_nb.ask()``, ``%load_ext grok_nb`` — the instance
    takes the shell's config the first time it meets the shell, so IPython config
    files apply either way, and it is registered so ``%config GrokVision`` finds it.
    """
    shell = shell if shell is not None else _running_shell()
    settings = GrokVision.instance()
    if shell is not None and settings not in shell.configurables:
        settings.config = shell.config
        shell.configurables.append(settings)
    return settings


def _running_shell() -> Any:
    # IPython is imported only if the process already runs it: settings stay cheap
    ipython = sys.modules.get("IPython")
    return None if ipython is None else ipython.get_ipython()


def resolve_options(**overrides: Any) -> dict[str, Any]:
    """Settings in force, with every non-``None`` override applied and validated."""
    settings = current()
    known = settings.options()
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    merged = dict(known)
    if any(v is not None for v in overrides.values()):
        probe = GrokVision(config=settings.config)  # validate without touching the shared one
        for name, value in overrides.items():
            if value is None:
                continue
            try:
                setattr(probe, name, value)
            except TraitError as exc:
                raise ConfigError(f"{name}={value!r}: {exc}") from None
            merged[name] = getattr(probe, name)
    return merged
