"""``%grokvision_simulate``: grok_nb's offline simulator for this kernel, in one line.

``%grokvision_simulate [--rule R] [--latency-ms N] [--port N]`` starts the simulator in
a background thread of this kernel and points grok_nb at it — grok_nb only: the
environment (``XAI_BASE_URL``, ``XAI_API_KEY``) is left as it was, so other code in the
kernel still reaches what it reached before. Calls to it need no key (and are never
sent the real one), and every answer's footer says it came from the simulator, not a
model. ``%grokvision_simulate stop`` stops it; so does the kernel's exit (``atexit``).
Run again with other options, it restarts with them.

Its answers are cached under the simulator's one identity, whatever the port
(``cache.keys.normalise_base_url``), so a notebook recorded with it replays in a fresh
kernel with ``GROK_NB_CACHE=replay`` and no server.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from grok_nb.api.credentials import kernel_simulator, use_kernel_simulator
from grok_nb.errors import ConfigError
from grok_nb.settings import current
from grok_nb.simulator import Simulator, serve
from grok_nb.tiling import RULES

__all__ = ["SimulateMagics", "register", "running", "start", "stop"]

_lock = threading.Lock()
_running: Simulator | None = None


def running() -> Simulator | None:
    """The simulator ``%grokvision_simulate`` runs in this kernel, or ``None``."""
    return _running if _running is not None and _running.running else None


def start(rule: str | None = None, latency_ms: float = 0.0, port: int = 0) -> Simulator:
    """Start (or restart) this kernel's simulator and point grok_nb at it."""
    global _running
    with _lock:
        _stop_locked()
        options: dict[str, Any] = {"port": port, "latency_s": latency_ms / 1000.0}
        if rule is not None:
            options["rule"] = rule
        sim = serve(**options)
        _running = sim
        use_kernel_simulator(sim.base_url)
        atexit.register(stop)
        return sim


def stop() -> bool:
    """Stop this kernel's simulator; ``False`` when none was running."""
    with _lock:
        return _stop_locked()


def _stop_locked() -> bool:
    global _running
    sim, _running = _running, None
    if sim is None:
        return False
    atexit.unregister(stop)
    if kernel_simulator() == sim.base_url:
        use_kernel_simulator(None)
    sim.stop()
    return True


def _show(text: str, markdown: str | None = None) -> None:
    display({"text/markdown": markdown or text, "text/plain": text}, raw=True)


@magics_class
class SimulateMagics(Magics):
    @magic_arguments()
    @argument("action", nargs="?", choices=("stop",), help="stop the simulator")
    @argument("--rule", choices=sorted(RULES), help="tile rule the simulator bills with")
    @argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    @argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    @line_magic
    def grokvision_simulate(self, line: str = "") -> None:
        """Run grok_nb's offline simulator for this kernel (no key); ``stop`` stops it."""
        args = parse_argstring(self.grokvision_simulate, line)
        if args.action == "stop":
            was = running()
            if not stop() or was is None:
                _show("No grok_nb simulator is running in this kernel.")
                return
            _show(
                f"Stopped grok_nb's offline simulator ({was.base_url}); grok_nb calls "
                "$XAI_BASE_URL (or xAI) again, with your key."
            )
            return
        if args.latency_ms < 0:
            raise UsageError("--latency-ms must be 0 or more")
        try:
            sim = start(rule=args.rule, latency_ms=args.latency_ms, port=args.port)
        except (OSError, ConfigError) as exc:
            raise UsageError(f"cannot start grok_nb's simulator: {exc}") from None
        latency = f", {args.latency_ms:g} ms latency" if args.latency_ms else ""
        text = (
            f"grok_nb's offline simulator is running for this kernel at {sim.base_url} "
            f"(rule {sim.rule}{latency}). grok_nb's calls go to it and need no key; its "
            "answers describe the image and are not a model's. "
            "`%grokvision_simulate stop` stops it."
        )
        explicit = current(self.shell).base_url
        if explicit:
            text += (
                f" Note: GrokVision.base_url is set to {explicit!r}, which comes first — "
                "calls still go there until `%config GrokVision.base_url = None`."
            )
        _show(text, f"**Offline:** {text}")


def register(ipython: Any) -> None:
    """Add ``%grokvision_simulate`` to ``ipython`` (called by ``%load_ext grok_nb``)."""
    ipython.register_magics(SimulateMagics(ipython))
