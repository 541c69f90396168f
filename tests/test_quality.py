"""The project's own rules, checked in CI: ruff, the formatter, mypy, layering."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool if (BIN / tool).exists() else shutil.which(tool)
    if exe is None:
        pytest.fail(f"{tool} is not installed; it is part of the dev extra: pip install '.[dev]'")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint() -> None:
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = run("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy() -> None:
    done = run("mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_layers_point_down() -> None:
    done = run("lint-imports")
    assert done.returncode == 0, done.stdout + done.stderr


LAYERS_ON_STORAGE = [
    "blobs.py",
    "records.py",
    "logs.py",
    "logpacks.py",
    "logstate.py",
    "catalog.py",
    "pins.py",
]


@pytest.mark.parametrize("module", LAYERS_ON_STORAGE)
def test_layers_on_storage_use_only_its_public_methods(module: str) -> None:
    """What is built on Storage (as docs/storage.md tells backend authors) calls no private member."""
    import ast

    tree = ast.parse((ROOT / "mlops_kit" / "core" / "storage" / module).read_text())
    private = sorted(
        f"line {node.lineno}: storage.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "storage"
        and node.attr.startswith("_")
    )
    assert private == []
