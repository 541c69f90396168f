"""The Python blocks in docs/*.md run (in order, one namespace per page).

A block preceded by an ``<!-- not run ... -->`` comment is skipped (snippets that
need a server or belong in a user's own test module).
"""

from __future__ import annotations

import importlib
import inspect
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


API_PAGES = sorted((DOCS / "api").glob("*.md"))
# pydantic's configuration and hook, on every record: plumbing, filtered out in mkdocs.yml
PLUMBING = {"model_config", "model_post_init"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` of the docs (no broken links, every API page renders)."""
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_site_builds_strictly_one_api_page_per_block(site: Path) -> None:
    assert (site / "api" / "index.html").exists()
    for page in API_PAGES:
        if page.stem != "index":
            assert (site / "api" / page.stem / "index.html").exists(), page


@pytest.mark.slow
def test_every_public_member_of_every_public_class_is_on_the_api_pages(site: Path) -> None:
    """Inherited members too: ``Registry.set_alias`` lives on a private base class."""
    anchors = {
        a
        for page in (site / "api").rglob("*.html")
        for a in re.findall(r'id="(mlops_kit\.[^"]+)"', page.read_text())
    }
    paths = _documented_paths()
    missing = []
    for cls in _public_classes():
        for name in dir(cls):
            owner = next((k for k in cls.__mro__ if name in vars(k)), None)
            if (
                name.startswith("_")
                or name in PLUMBING
                or owner is None
                or not owner.__module__.startswith("mlops_kit")
            ):
                continue  # private, or inherited from pydantic, Exception, tuple...
            if f"{paths[id(cls)]}.{name}" not in anchors:
                missing.append(f"{paths[id(cls)]}.{name} (from {owner.__module__})")
    assert not missing, f"not on the API pages: {missing}"


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
    "mlops_kit.ui",
]


def _documented_paths() -> dict[int, str]:
    """The objects docs/api/*.md render, by id, with the path they are rendered under.

    Each ``:::`` target, and the public members of whole modules.
    """
    found: dict[int, str] = {}
    for page in API_PAGES:
        for path in re.findall(r"^::: (\S+)", page.read_text(), re.M):
            try:
                target: object = importlib.import_module(path)
            except ModuleNotFoundError:
                module, _, name = path.rpartition(".")
                target = getattr(importlib.import_module(module), name)
            found.setdefault(id(target), path)
            if isinstance(target, ModuleType):
                names = getattr(target, "__all__", [n for n in vars(target) if not n.startswith("_")])
                for n in names:
                    found.setdefault(id(getattr(target, n)), f"{path}.{n}")
    return found


def _documented() -> set[int]:
    return set(_documented_paths())


def _public_classes() -> list[type]:
    classes: dict[int, type] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                classes.setdefault(id(value), value)
    return list(classes.values())


def test_api_reference_lists_every_public_name() -> None:
    documented = _documented()
    missing = [
        f"{package}.{name}"
        for package in PACKAGES
        for name in importlib.import_module(package).__all__
        if id(getattr(importlib.import_module(package), name)) not in documented
    ]
    assert not missing, f"add these to a page of docs/api/: {missing}"
