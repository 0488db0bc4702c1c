"""ask_many's progress bar leaves a readable final state in a saved notebook."""

from __future__ import annotations

from typing import Any

import pytest

from grok_nb.batch import _progress


def test_notebook_bar_prints_its_final_state_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ipywidgets")
    import tqdm.auto
    import tqdm.notebook

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    bar: Any = _progress(60, 0.0123)
    capsys.readouterr()  # the widget's first text, as a saved notebook keeps it
    bar.update(60)
    bar.close()
    bar.close()
    out = capsys.readouterr().out
    assert out.count("60/60") == 1
    assert "100%" in out and "ask_many (est. $0.0123)" in out


def test_text_bar_is_left_as_tqdm_draws_it(capsys: pytest.CaptureFixture[str]) -> None:
    bar: Any = _progress(2, None)
    bar.update(2)
    bar.close()
    assert "2/2" in capsys.readouterr().err
