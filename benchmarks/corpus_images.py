"""Run a folder of real-world image files through grok_nb and count the outcomes.

Not a test (a clone elsewhere has no corpus): a by-hand check of how the image
pipeline meets files nobody on this project wrote. Every file goes through
``grok_nb.tiles(path)`` and ``grok_nb.images.prepare`` of the path, of the bytes and
of an opened PIL image. Each run is classed as

- ``ok``: prepared; the bytes' MIME type matches their magic number, the picture is
  not blank where Pillow's is not, and it is upright (no transposition of Pillow's
  own upright decode matches it better);
- ``image_error``: one clean ``ImageError`` (expected for files Pillow refuses);
- ``refused_decodable``: an ``ImageError`` for a file plain Pillow decodes;
- ``raw``: any other exception escaped;
- ``warning``: a warning reached the caller;
- ``wrong``: prepared, but blank, mislabelled or not upright, or accepted although
  plain Pillow cannot decode the file (what was sent is then half a picture).

    python benchmarks/corpus_images.py DIR [--verbose]
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from grok_nb.errors import ImageError

TRANSPOSES = [None, *Image.Transpose]


def _reference(path: Path) -> Image.Image | None:
    """Pillow's own upright decode, or None when Pillow cannot decode the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            im = Image.open(path)
            im.load()
            return ImageOps.exif_transpose(im)
        except Exception:
            return None


def _signature(im: Image.Image) -> list[float]:
    """A 16x16 grey thumbnail, z-scored, so tone mapping does not matter."""
    import numpy as np

    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(im).astype(np.float64)
    else:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        arr = np.asarray(Image.alpha_composite(white, rgba).convert("L")).astype(np.float64)
    grey = Image.fromarray(arr.astype(np.float32), "F").resize((16, 16), Image.Resampling.BOX)
    flat = np.asarray(grey, dtype=np.float64).ravel()
    std = flat.std()
    return list((flat - flat.mean()) / std) if std > 0 else [0.0] * flat.size


def _distance(a: list[float], b: list[float]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / len(a)


def _check_sent(prepared: Any, ref: Image.Image | None) -> str | None:
    """Why the prepared image is wrong, or None."""
    from grok_nb.images import mime_of

    if prepared.data is None:
        return "nothing encoded"
    if mime_of(prepared.data) != prepared.mime:
        return f"MIME {prepared.mime} does not match the bytes"
    sent = Image.open(io.BytesIO(prepared.data))
    sent.load()
    lo, hi = zip(*(sent.getextrema() if sent.mode != "L" else [sent.getextrema()]), strict=True)
    ref_sig = _signature(ref) if ref is not None else None
    if min(lo) == max(hi) and ref_sig is not None and any(ref_sig):
        return "blank"
    if ref is None or ref_sig is None or not any(ref_sig):
        return None
    w, h = ref.size
    if (w != h) and ((sent.width > sent.height) != (w > h)) and sent.width != sent.height:
        return f"not upright: sent {sent.width}x{sent.height}, Pillow {w}x{h}"
    if sent.size[0] > 4 and sent.size[1] > 4:
        mine = _signature(sent)
        here = _distance(mine, ref_sig)
        for method in TRANSPOSES[1:]:
            assert method is not None
            other = ref.transpose(method)
            if other.size != ref.size:
                continue
            if here > 0.5 and _distance(mine, _signature(other)) < here / 4:
                return f"not upright: matches Pillow's decode {method.name}"
    return None


def _run(fn: Callable[[], Any], ref: Image.Image | None, check: bool) -> tuple[str, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except ImageError as exc:
            kind = "image_error" if ref is None else "refused_decodable"
            return kind, str(exc)[:160]
        except Exception as exc:
            return "raw", f"{type(exc).__name__}: {str(exc)[:120]}"
    if caught:
        return "warning", f"{caught[0].category.__name__}: {str(caught[0].message)[:120]}"
    if ref is None:
        return "wrong", "Pillow cannot decode this file, yet grok_nb accepted it"
    if check:
        why = _check_sent(result, ref)
        if why:
            return "wrong", why
    return "ok", ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)

    from grok_nb import tiles
    from grok_nb.images import prepare

    files = sorted(p for p in args.folder.iterdir() if p.is_file() and p.name != "README.md")
    counts: Counter[str] = Counter()
    per_way: dict[str, Counter[str]] = {}
    problems: list[str] = []
    for path in files:
        ref = _reference(path)

        def opened(p: Path = path) -> Any:
            with warnings.catch_warnings():  # the caller's own open: not grok_nb's to hide
                warnings.simplefilter("ignore")
                im = Image.open(p)
            with im:
                return prepare(im)

        ways: dict[str, tuple[Callable[[], Any], bool]] = {
            "tiles(path)": (lambda p=path: tiles(str(p)), False),
            "prepare(path)": (lambda p=path: prepare(str(p)), True),
            "prepare(bytes)": (lambda p=path: prepare(p.read_bytes()), True),
        }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Image.open(path)
            ways["prepare(PIL)"] = (opened, True)
        except Exception:
            pass  # Pillow cannot even open it: there is no PIL image to pass
        for way, (fn, check) in ways.items():
            kind, detail = _run(fn, ref, check)
            counts[kind] += 1
            per_way.setdefault(way, Counter())[kind] += 1
            if kind not in ("ok", "image_error") or args.verbose:
                problems.append(f"{kind:18} {way:15} {path.name}: {detail}")
    for line in problems:
        print(line)
    print(f"\n{len(files)} files, {sum(counts.values())} runs")
    for way, c in per_way.items():
        print(f"  {way:15} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    print("total: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if counts["raw"] or counts["warning"] or counts["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
