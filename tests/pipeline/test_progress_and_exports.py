"""Progress bars only where someone watches; the public names; a light import."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import mlops_kit as mk
from mlops_kit.pipeline import _state


@mk.step
def first_step(n: float) -> float:
    time.sleep(n)  # longer than tqdm's refresh interval, so the bar is redrawn after it
    return n + 1


@mk.step
def second_step(first_step: float) -> float:
    return first_step * 2


PIPE = mk.Pipeline([first_step, second_step], name="bar")


def test_progress_bar_shows_steps_in_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(_state, "_interactive", lambda: True)
    PIPE.run(inputs={"n": 0.3}, storage=mk.MemoryStorage())
    err = capsys.readouterr().err
    assert "0/2" in err
    assert "1/2" in err
    assert "first_step" in err or "second_step" in err


def test_no_progress_bar_when_asked_or_in_ci(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(_state, "_interactive", lambda: True)
    PIPE.run(inputs={"n": 0}, storage=mk.MemoryStorage(), progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.undo()
    monkeypatch.setenv("CI", "true")
    assert not _state._interactive()
    PIPE.run(inputs={"n": 0}, storage=mk.MemoryStorage())
    assert capsys.readouterr().err == ""


def test_top_level_names() -> None:
    for name in [
        "step",
        "Pipeline",
        "RunRecord",
        "log_metric",
        "SequentialRunner",
        "ThreadRunner",
        "ProcessRunner",
        "DaskRunner",
    ]:
        assert name in mk.__all__
        assert getattr(mk, name) is getattr(mk.pipeline, name)
    assert mk.__all__ == sorted(mk.__all__)


def test_importing_the_block_loads_no_heavy_library() -> None:
    code = (
        "import sys, mlops_kit as mk\n"
        "@mk.step\n"
        "def f(x): return x\n"
        "mk.Pipeline([f]).describe(); mk.DaskRunner\n"
        "heavy = [m for m in ('pandas', 'pyarrow', 'sklearn', 'scipy', 'distributed', 'dask', 'tqdm') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
