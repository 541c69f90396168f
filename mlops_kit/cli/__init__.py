"""The ``mlops-kit`` command line. Every command takes ``--json``; errors are one line."""

from mlops_kit.cli import (  # noqa: F401  (they register their commands)
    _datasets,
    _doctor,
    _endpoints,
    _gc,
    _models,
    _monitor,
    _runs,
    _serve,
)
from mlops_kit.cli._app import main, run

__all__ = ["main", "run"]
