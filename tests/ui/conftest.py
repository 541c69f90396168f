"""The UI's fixtures: a store filled by the quickstart's story, and real uvicorn servers on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import mlops_kit as mk
from tests.deploy.conftest import running

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-test-token-of-the-team"


def fill_with_quickstart(folder: Path) -> Path:
    """Run examples/quickstart.py with its store in ``folder``; return the store's path."""
    store = folder / ".mlops"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_KIT_STORAGE": str(store)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return store


@pytest.fixture(scope="session")
def story_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local store the quickstart filled (built once; tests that write get a copy)."""
    return fill_with_quickstart(tmp_path_factory.mktemp("story"))


@pytest.fixture
def story_copy(story_store: Path, tmp_path: Path) -> Path:
    """A private copy of the story's store, for tests that act on it."""
    target = tmp_path / "store"
    shutil.copytree(story_store, target)
    return target


@pytest.fixture(scope="session")
def story_ui(story_store: Path) -> Iterator[str]:
    """The read-only UI over the story's store, on a real uvicorn server."""
    with running(mk.ui_app(mk.storage(str(story_store)))) as url:
        yield url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        yield http


def serve(storage: Any, **options: Any) -> Any:
    """``running(mk.ui_app(storage, **options))``: a context manager yielding the URL."""
    return running(mk.ui_app(storage, **options))
