"""The Python blocks in docs/*.md run (in order, one namespace per page).

A block preceded by an ``<!-- not run ... -->`` comment is skipped (snippets that
need a server or belong in a user's own test module).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"(<!-- not run[^>]*-->\s*)?```python\n(.*?)```", re.S)
PAGES = sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # pages may use the default ./.mlops storage
    monkeypatch.delenv("MLOPS_KIT_STORAGE", raising=False)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, match in enumerate(BLOCK.finditer(page.read_text()), 1):
        if match.group(1):
            continue
        code = compile(match.group(2), f"{page.name}[block {number}]", "exec")
        exec(code, namespace)


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: no broken links, every API page renders from docstrings."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").exists()


PACKAGES = [
    "mlops_kit",
    "mlops_kit.core.storage",
    "mlops_kit.datasets",
    "mlops_kit.pipeline",
    "mlops_kit.tracking",
    "mlops_kit.registry",
    "mlops_kit.deploy",
    "mlops_kit.monitor",
    "mlops_kit.automation",
    "mlops_kit.testing",
]


def _documented() -> set[int]:
    """The objects docs/api.md renders: each ``:::`` target, and the public members of whole modules."""
    found: set[int] = set()
    for path in re.findall(r"^::: (\S+)", (DOCS / "api.md").read_text(), re.M):
        try:
            target: object = importlib.import_module(path)
        except ModuleNotFoundError:
            module, _, name = path.rpartition(".")
            target = getattr(importlib.import_module(module), name)
        found.add(id(target))
        if isinstance(target, ModuleType):
            names = getattr(target, "__all__", [n for n in vars(target) if not n.startswith("_")])
            found.update(id(getattr(target, n)) for n in names)
    return found


def test_api_reference_lists_every_public_name() -> None:
    documented = _documented()
    missing = [
        f"{package}.{name}"
        for package in PACKAGES
        for name in importlib.import_module(package).__all__
        if id(getattr(importlib.import_module(package), name)) not in documented
    ]
    assert not missing, f"add these to docs/api.md: {missing}"
