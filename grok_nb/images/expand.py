"""One expansion of a path argument into files, shared by every entry point.

``ask(..., "shots/**/*.png")``, ``%%grokvision shots/**/*.png``, ``%%grokvision -f
~/x.png`` and ``grok-nb tiles 'shots/**/*.png'`` must mean the same files. Each used
to expand paths its own way (one recursive, one not, one without ``~``), so the
same pattern sent different images depending on where it was typed. They all call
``expand_path_source`` now:

- ``~`` and ``~user`` are expanded;
- an existing file is itself, even when its name contains ``*``, ``?`` or ``[``;
- otherwise a pattern is a glob, ``**`` recursive; only files match (not folders),
  hidden files only when the pattern names them (``.*``), as in a shell;
- matches are sorted, so a cell sends the same images in the same order on every
  machine;
- nothing matching, a folder, or more than ``max_files`` files is an ``ImageError``
  (the last a ``TooManyImagesError``) naming the pattern.
"""

from __future__ import annotations

import glob
import os

from grok_nb.errors import ImageError

__all__ = [
    "MAX_IMAGES_PER_REQUEST",
    "TooManyImagesError",
    "expand_path_source",
    "is_pattern",
]

MAX_IMAGES_PER_REQUEST = 100  # one request with thousands of images is a mistake, not a plan
_GLOB_CHARS = "*?["


class TooManyImagesError(ImageError):
    """More images than ``max_images_per_request`` from one pattern or one call."""


def is_pattern(text: str) -> bool:
    return any(c in text for c in _GLOB_CHARS)


def short_label(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 21]}…{text[-20:]}"


def check_count(count: int, label: str, limit: int | None) -> None:
    """Raise ``TooManyImagesError`` when ``count`` images exceed ``limit`` (None: no limit)."""
    if limit is not None and count > limit:
        raise TooManyImagesError(
            label,
            f"gives {count:,} images, more than max_images_per_request={limit}; "
            "narrow the pattern or raise the limit",
        )


def expand_path_source(
    text: str | os.PathLike[str], *, max_files: int | None = MAX_IMAGES_PER_REQUEST
) -> list[str]:
    """The files a path or glob names, sorted, with ``~`` expanded (see the module doc)."""
    raw = os.fsdecode(text)
    label = short_label(raw)
    path = os.path.expanduser(raw)
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        raise ImageError(label, "is a folder; use a glob such as 'folder/*.png'")
    if not is_pattern(path):
        raise ImageError(label, "no such file")
    matches = sorted(m for m in glob.glob(path, recursive=True) if os.path.isfile(m))
    if not matches:
        raise ImageError(label, "no files match this pattern")
    check_count(len(matches), label, max_files)
    return matches
