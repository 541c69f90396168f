"""The build context's requirements install in a fresh venv, as its Dockerfile installs them.

No Docker here: the test runs the Dockerfile's ``pip install`` line in a new virtual
environment (with a wheel of this checkout in ``wheels/``, as a user without mlops-kit on
their index would put one) and imports what the image runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.integrations.kserve import export
from tests.integrations.conftest import fitted

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(context, venv python): exported once per session, installed once per session."""
    base = tmp_path_factory.mktemp("kserve-build")
    store = mk.storage(str(base / "store"))
    reg = mk.Registry(store)
    reg.register("churn", fitted(1.0))
    mk.LocalDeployer(reg, storage=store).deploy("churn:1", endpoint="churn").close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a local folder is not visible from a pod
        context = export(store, "churn", base / "out").out / "context"
    # A wheel of this checkout, built from a copy so the work tree gets no build/ folder.
    source = base / "source"
    shutil.copytree(ROOT / "mlops_kit", source / "mlops_kit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",  # isolated: the build gets the setuptools pyproject.toml asks for
        source,
        "-w",
        context / "wheels",
    )
    venv = base / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # The Dockerfile's line: pip install --find-links ./wheels -r requirements.txt
    run(
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "--find-links",
        "./wheels",
        "-r",
        "requirements.txt",
        cwd=context,
    )
    return context, python


@pytest.mark.slow
def test_the_pinned_versions_are_the_installed_ones(built: tuple[Path, Path]) -> None:
    context, python = built
    pins = dict(
        line.split("==", 1)
        for line in (context / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    script = "import json, sys\nfrom importlib.metadata import version\nprint(json.dumps({n: version(n) for n in json.loads(sys.argv[1])}))"
    installed = json.loads(run(python, "-c", script, json.dumps([n.split("[")[0] for n in pins])))
    assert installed == {name.split("[")[0]: v for name, v in pins.items()}


@pytest.mark.slow
def test_mlserver_and_the_runtime_import_there(built: tuple[Path, Path]) -> None:
    context, python = built
    settings = json.loads((context / "models" / "churn" / "model-settings.json").read_text())
    module, _, cls = settings["implementation"].rpartition(".")
    assert run(
        python, "-c", "import mlserver, mlops_kit.integrations.kserve; print(mlserver.__version__)"
    ).strip()
    check = (
        "import importlib, mlserver\n"
        f"runtime = getattr(importlib.import_module({module!r}), {cls!r})\n"
        "assert issubclass(runtime, mlserver.MLModel), runtime\n"
    )
    if (ROOT / Path(*module.split("."))).with_suffix(".py").exists():
        run(python, "-c", check)
    else:  # the runtime has not landed in this tree: then the import must fail on exactly that module
        done = subprocess.run([str(python), "-c", check], capture_output=True, text=True, timeout=300)
        assert f"No module named {module!r}" in done.stderr, done.stderr
