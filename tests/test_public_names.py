"""Public names: their ``__module__`` is public, ``dir(mk)`` lists them only, one helper names missing extras."""

from __future__ import annotations

import importlib
import inspect
import pickle
import re
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.extras import MissingExtraError, missing_extra, require

PACKAGES = [
    "mlops_kit",
    "mlops_kit.core.storage",
    "mlops_kit.datasets",
    "mlops_kit.pipeline",
    "mlops_kit.registry",
    "mlops_kit.deploy",
    "mlops_kit.monitor",
    "mlops_kit.automation",
    "mlops_kit.testing",
    "mlops_kit.tracking",
    "mlops_kit.ui",
]
ROOT = Path(mk.__file__).parent


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_carry_a_public_module(package: str) -> None:
    module = importlib.import_module(package)
    private = {
        name: obj.__module__
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
        and obj.__module__.startswith("mlops_kit")
        and any(part.startswith("_") for part in obj.__module__.split("."))
    }
    assert not private, f"public names of {package} that name a private module: {private}"


def test_dir_shows_the_public_names_only() -> None:
    names = dir(mk)
    assert not {"Any", "TYPE_CHECKING", "importlib", "annotations"} & set(names)
    assert names == sorted([*mk.__all__, "__version__"])
    _ = mk.Dataset  # a loaded name does not change what dir shows
    assert dir(mk) == names


def test_classes_pickle_by_their_public_path() -> None:
    assert mk.RunRecord.__module__ == "mlops_kit.pipeline"
    assert pickle.loads(pickle.dumps(mk.RunRecord)) is mk.RunRecord
    assert pickle.loads(pickle.dumps(mk.Storage)) is mk.Storage


def test_one_helper_raises_the_install_the_extra_error() -> None:
    constructed = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if re.search(r"MissingExtraError\(", path.read_text()) and path.name != "extras.py"
    ]
    assert constructed == [], f"use mlops_kit.core.extras.require / missing_extra in {constructed}"


def test_the_helper_names_the_extra_and_chains_the_import_error() -> None:
    with pytest.raises(
        MissingExtraError, match=r"^Drawing maps needs no_such_pkg_1: pip install 'mlops-kit\[maps\]'$"
    ) as info:
        require("no_such_pkg_1.sub", extra="maps", purpose="Drawing maps")
    assert isinstance(info.value.__cause__, ImportError)
    assert isinstance(info.value, mk.ConfigError) and isinstance(info.value, ImportError)
    assert str(missing_extra("X", "lib", None, upgrade=True)) == "X needs newer lib: pip install -U lib"
    assert MissingExtraError is importlib.import_module("mlops_kit.core.storage").MissingExtraError
