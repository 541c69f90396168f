"""The ``mlops-kit`` command line. Every command takes ``--json``; errors are one line."""

from mlops_kit.cli import _datasets, _doctor, _serve  # noqa: F401  (they register their commands)
from mlops_kit.cli._app import main, run

__all__ = ["main", "run"]
