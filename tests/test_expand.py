"""One path expansion: ask(), %%grokvision (tokens and -f) and grok-nb get the same files."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from grok_nb.cli import expand_image_args
from grok_nb.errors import ImageError
from grok_nb.images import describe_source, expand_sources, prepare_many
from grok_nb.images.expand import TooManyImagesError, expand_path_source


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ~ holding shots/, a sub folder and names with spaces."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for rel in ("shots/b.png", "shots/a one.png", "shots/deep/c d.png", "shots/deep/x/e.png"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), "red").save(path)
    (tmp_path / "shots" / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.fixture(scope="module")
def magics() -> object:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "grok_nb")
    return ip.magics_manager.registry["GrokVisionMagics"]


def _magic_token(magics: object, token: str) -> list[str]:
    return [str(x) for x in magics._resolve_token(token)]  # type: ignore[attr-defined]


def _magic_file(magics: object, path: str) -> list[str]:
    args = SimpleNamespace(images=[], file=[path], url=None, cont=False)
    images, _note = magics._images(args)  # type: ignore[attr-defined]
    return [str(x) for x in images]


@pytest.mark.parametrize("pattern", ["~/shots/**/*.png", "~/shots/a one.png", "~/shots/*.png"])
def test_magic_ask_and_cli_expand_identically(home: Path, magics: object, pattern: str) -> None:
    expected = expand_path_source(pattern)
    assert expected and all(not p.startswith("~") for p in expected)
    assert expected == sorted(expected)
    assert [str(s) for s in expand_sources(pattern)] == expected  # ask() and prepare_many
    # labels are the same paths, shortened the way every label is
    assert [p.label for p in prepare_many(pattern)] == [describe_source(e) for e in expected]
    assert _magic_token(magics, pattern) == expected
    assert _magic_file(magics, pattern) == expected
    assert expand_image_args([pattern]) == expected


def test_double_star_is_recursive(home: Path) -> None:
    names = [Path(p).name for p in expand_path_source("~/shots/**/*.png")]
    assert names == ["a one.png", "b.png", "c d.png", "e.png"]


def test_folder_and_nothing_matching_are_clear_errors(home: Path, magics: object) -> None:
    with pytest.raises(ImageError, match="is a folder"):
        expand_path_source("~/shots")
    with pytest.raises(ImageError, match="no files match"):
        expand_path_source("~/shots/*.jpg")
    with pytest.raises(ImageError, match="no such file"):
        expand_path_source("~/shots/missing.png")
    with pytest.raises(UsageError, match="not a variable or expression"):
        _magic_token(magics, "~/shots/*.jpg")
    with pytest.raises(UsageError, match=r"--file '~/shots/none\.png': no such file"):
        _magic_file(magics, "~/shots/none.png")


def test_too_many_files_is_refused_everywhere(home: Path, magics: object) -> None:
    with pytest.raises(TooManyImagesError, match="max_images_per_request=2"):
        expand_path_source("~/shots/**/*.png", max_files=2)
    with pytest.raises(TooManyImagesError, match="max_images_per_request=3"):
        prepare_many("~/shots/**/*.png", max_images_per_request=3)
    with pytest.raises(TooManyImagesError, match="max_images_per_request=1"):
        prepare_many(["~/shots/b.png", "~/shots/a one.png"], max_images_per_request=1)
    assert len(prepare_many("~/shots/**/*.png", max_images_per_request=None)) == 4


def test_magic_reports_the_limit(
    home: Path, magics: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grok_nb.images.expand as expand

    monkeypatch.setattr(expand.expand_path_source, "__kwdefaults__", {"max_files": 2})
    with pytest.raises(UsageError, match="max_images_per_request=2"):
        _magic_token(magics, "~/shots/**/*.png")
    with pytest.raises(UsageError, match="max_images_per_request=2"):
        _magic_file(magics, "~/shots/**/*.png")


def test_a_file_named_like_a_glob_is_itself(tmp_path: Path) -> None:
    path = tmp_path / "shot[1].png"
    Image.new("RGB", (4, 4)).save(path)
    assert expand_path_source(str(path)) == [str(path)]
