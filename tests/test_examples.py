"""Every example runs, and the custom backend example passes the storage contract."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from mlops_kit.core.storage import Storage
from mlops_kit.testing import StorageContract

ROOT = Path(__file__).resolve().parents[1]
# The quickstart has its own test below (run twice); every other example runs once.
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if p.name != "quickstart.py")


def run_example(name: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environment.pop("MLOPS_KIT_STORAGE", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name: str, tmp_path: Path) -> None:
    assert run_example(name, tmp_path).strip()


@pytest.mark.slow
def test_quickstart_twice_reuses_what_it_stored(tmp_path: Path) -> None:
    first = run_example("quickstart.py", tmp_path)
    assert "(0 of 3 steps from cache)" in first
    assert "drifted=True" in first and "canary" in first and "promoted churn:2" in first
    # The gate's champion score is on the shifted batch, not the training-time test rows: said so.
    assert "held-out rows of this batch" in first and "the gate scored both models on February's" in first
    assert (tmp_path / "drift.html").read_text().lstrip().lower().startswith("<!doctype html")
    second = run_example("quickstart.py", tmp_path)
    assert "1. data: customers:1" in second  # identical content: the same version
    assert "(3 of 3 steps from cache)" in second


def load_example(name: str) -> ModuleType:
    """Import an example as a module (registered, so its classes pickle)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SqliteStorage = load_example("custom_storage").SqliteStorage


class TestSqliteStorageExample(StorageContract):
    model_examples = 10  # every write commits to disk

    @pytest.fixture
    def make_storage(self, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Storage]:
        return lambda: SqliteStorage(str(tmp_path_factory.mktemp("sqlite") / "kv.db"))
