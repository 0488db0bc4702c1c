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
