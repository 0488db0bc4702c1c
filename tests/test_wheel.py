"""The built wheel carries the JS assets and imports without the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

JS_SRC = REPO / "grok_nb" / "notebook" / "js"


def test_wheel_ships_js_and_imports_from_itself(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wheel = next(out.glob("grok_nb-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    js_sources = sorted(p.name for p in JS_SRC.glob("*.js")) + sorted(
        p.name for p in JS_SRC.glob("*.css")
    )
    assert js_sources, "grok_nb/notebook/js/ has no assets"
    for name in js_sources:
        assert f"grok_nb/notebook/js/{name}" in names, f"{name} missing from the wheel"
    assert not any(n.startswith("tests/") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import pathlib, grok_nb, grok_nb.tiling as t; "
        "root = pathlib.Path(grok_nb.__file__).parent; "
        f"assert str(root).startswith({str(target)!r}), root; "
        "assert (root / 'notebook' / 'js' / 'tiles.js').is_file(); "
        "print(t.plan(1920, 1080).tokens)"
    )
    # run from an empty folder so the source tree cannot be imported by accident
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "768"
