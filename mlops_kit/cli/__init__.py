"""The ``mlops-kit`` command line. Every command takes ``--json``; errors are one line."""

from mlops_kit.cli import (  # noqa: F401  (they register their commands)
    _datasets,
    _deploy,
    _doctor,
    _endpoints,
    _export,
    _export_kserve,
    _export_mlserver,
    _gc,
    _loop,
    _models,
    _monitor,
    _predict,
    _runs,
    _serve,
    _ui,
)
from mlops_kit.cli._app import add_storage_params, main, run

add_storage_params(main)  # --storage and its friends after any command, too

__all__ = ["main", "run"]
