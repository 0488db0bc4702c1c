"""``import grok_nb`` stays cheap: no heavy libraries until they are needed."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("PIL", "numpy", "matplotlib", "httpx", "pandas", "anywidget", "ipywidgets", "IPython")


def test_import_is_cheap() -> None:
    code = f"import sys, grok_nb; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve() -> None:
    import grok_nb

    assert grok_nb.GrokError is grok_nb.errors.GrokError
    assert callable(grok_nb.tiles)
    assert "tiles" in dir(grok_nb)


def test_no_submodule_shadows_a_public_function() -> None:
    import importlib
    import pkgutil

    import grok_nb

    for info in pkgutil.iter_modules(grok_nb.__path__):
        importlib.import_module(f"grok_nb.{info.name}")
    for name in ("tiles", "ask", "ask_async", "ask_many", "calibrate", "answers_to_frame"):
        assert callable(getattr(grok_nb, name)), name
