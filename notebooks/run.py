"""Execute a notebook in a real kernel and write an HTML copy beside it.

Usage: python notebooks/run.py notebooks/quickstart.ipynb [--out DIR]

With no ``XAI_API_KEY`` in the environment the notebook runs against grok_nb's
offline simulator (started here on 127.0.0.1), and says so in its output.

Everything it writes stays in the repository's ignored paths: the executed copy and the
HTML beside the notebook (``notebooks/*.executed.ipynb``, ``notebooks/*.html``) and every
file grok_nb writes — the response cache, prepared images, model list — under
``.grok_nb_cache/`` (``GROK_NB_CACHE_DIR``). The simulator's answers are cached under its
one identity whatever port it gets, so ``GROK_NB_CACHE=replay python notebooks/run.py
...`` re-executes the demo from those recordings and asks nothing of the simulator.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

OFFLINE_KEY = "offline-simulator"  # not a secret: the simulator accepts any key
REPO = Path(__file__).resolve().parents[1]
DEMO_CACHE_DIR = REPO / ".grok_nb_cache"  # ignored (.gitignore); kept by `make clean`


@contextlib.contextmanager
def backend_env() -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # keep inline figures
    env["GROK_NB_CACHE_DIR"] = str(DEMO_CACHE_DIR)
    if env.get("XAI_API_KEY"):
        yield env
        return
    from grok_nb import simulator

    with simulator.serve() as sim:
        env.update(XAI_BASE_URL=sim.base_url, XAI_API_KEY=OFFLINE_KEY, GROK_NB_OFFLINE="1")
        print(f"XAI_API_KEY is not set: running against the offline simulator at {sim.base_url}")
        yield env
        print(f"the simulator answered {sim.stats['chat_requests']} chat requests")


def run(path: Path, out_dir: Path, timeout: int = 300) -> Path:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    with backend_env() as env:
        saved = os.environ.copy()
        os.environ.clear()
        os.environ.update(env)  # the kernel inherits this process's environment
        try:
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{path.stem}.executed.ipynb"  # ignored: notebooks/*.executed.ipynb
    nbformat.write(nb, executed)
    body, _ = HTMLExporter().from_notebook_node(nb)
    html_path = out_dir / f"{path.stem}.html"
    html_path.write_text(body, encoding="utf-8")
    return html_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: beside it)")
    args = parser.parse_args(argv)
    html_path = run(args.notebook, args.out or args.notebook.parent)
    print(f"wrote {html_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
