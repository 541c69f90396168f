"""The public surface: exports, laziness, typing marker, layering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlops_kit
from mlops_kit.core import errors

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "pandas",
    "pyarrow",
    "scipy",
    "sklearn",
    "s3fs",
    "fsspec",
    "starlette",
    "dask",
    "matplotlib",
    "uvicorn",
    "grpc",
    "google.protobuf",
)


def test_all_is_sorted_unique_and_resolvable() -> None:
    assert mlops_kit.__all__ == sorted(set(mlops_kit.__all__))
    for name in mlops_kit.__all__:
        assert getattr(mlops_kit, name) is not None, name


def test_every_error_is_exported_and_rooted() -> None:
    for name in errors.__all__:
        error = getattr(mlops_kit, name)
        if issubclass(error, Warning):
            assert error is mlops_kit.MlopsKitWarning and issubclass(error, UserWarning)
        else:
            assert issubclass(error, mlops_kit.MlopsKitError)


def test_unknown_attribute() -> None:
    try:
        mlops_kit.DoesNotExist
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light() -> None:
    code = f"import sys, mlops_kit; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_import_configures_no_logging() -> None:
    code = "import logging, mlops_kit; r = logging.getLogger(); print(len(r.handlers), len(logging.getLogger('mlops_kit').handlers))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


def test_typed_marker_is_shipped() -> None:
    assert (ROOT / "mlops_kit" / "py.typed").exists()
