"""mlops_kit: composable MLOps building blocks.

Public names are imported lazily (module ``__getattr__``), so ``import mlops_kit``
stays fast and loads neither pandas, scipy, scikit-learn nor any optional extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlops_kit.core._version import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ContinuousTraining": "mlops_kit.automation",
    "Decision": "mlops_kit.automation",
    "Gate": "mlops_kit.automation",
    "ConfigError": "mlops_kit.core.errors",
    "ConflictError": "mlops_kit.core.errors",
    "Canary": "mlops_kit.deploy",
    "Dataset": "mlops_kit.datasets",
    "DatasetVersion": "mlops_kit.datasets",
    "Deployer": "mlops_kit.deploy",
    "Endpoint": "mlops_kit.deploy",
    "DriftReport": "mlops_kit.monitor",
    "FsspecStorage": "mlops_kit.core.storage",
    "IntegrityError": "mlops_kit.core.errors",
    "InvalidNameError": "mlops_kit.core.errors",
    "LocalDeployer": "mlops_kit.deploy",
    "MemoryStorage": "mlops_kit.core.storage",
    "MlopsKitError": "mlops_kit.core.errors",
    "MlopsKitWarning": "mlops_kit.core.errors",
    "ModelVersion": "mlops_kit.registry",
    "Monitor": "mlops_kit.monitor",
    "NotFoundError": "mlops_kit.core.errors",
    "PipelineError": "mlops_kit.core.errors",
    "Profile": "mlops_kit.core.profile",
    "Registry": "mlops_kit.registry",
    "Replace": "mlops_kit.deploy",
    "Schema": "mlops_kit.core.schema",
    "SchemaError": "mlops_kit.core.errors",
    "Shadow": "mlops_kit.deploy",
    "Storage": "mlops_kit.core.storage",
    "StorageError": "mlops_kit.core.errors",
    "serve": "mlops_kit.deploy",
    "storage": "mlops_kit.core.storage",
    # pipeline block
    "DaskRunner": "mlops_kit.pipeline",
    "ModelWithSteps": "mlops_kit.pipeline",
    "Pipeline": "mlops_kit.pipeline",
    "ProcessRunner": "mlops_kit.pipeline",
    "RunRecord": "mlops_kit.pipeline",
    "RunResult": "mlops_kit.pipeline",
    "SequentialRunner": "mlops_kit.pipeline",
    "ThreadRunner": "mlops_kit.pipeline",
    "log_metric": "mlops_kit.pipeline",
    "step": "mlops_kit.pipeline",
    # tracking block
    "TrackedRun": "mlops_kit.tracking",
    "autolog": "mlops_kit.tracking",
    "runs": "mlops_kit.tracking",
    "start_run": "mlops_kit.tracking",
    # the web UI
    "ui_app": "mlops_kit.ui",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: the next access skips this function
    return value


def __dir__() -> list[str]:
    # The public names only: not this module's own imports (Any, TYPE_CHECKING, importlib).
    return sorted([*__all__, "__version__"])


if TYPE_CHECKING:
    from mlops_kit.automation import ContinuousTraining, Decision, Gate
    from mlops_kit.core.errors import (
        ConfigError,
        ConflictError,
        IntegrityError,
        InvalidNameError,
        MlopsKitError,
        MlopsKitWarning,
        NotFoundError,
        PipelineError,
        SchemaError,
        StorageError,
    )
    from mlops_kit.core.profile import Profile
    from mlops_kit.core.schema import Schema
    from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage, storage
    from mlops_kit.datasets import Dataset, DatasetVersion
    from mlops_kit.deploy import Canary, Deployer, Endpoint, LocalDeployer, Replace, Shadow, serve
    from mlops_kit.monitor import DriftReport, Monitor
    from mlops_kit.pipeline import (
        DaskRunner,
        ModelWithSteps,
        Pipeline,
        ProcessRunner,
        RunRecord,
        RunResult,
        SequentialRunner,
        ThreadRunner,
        log_metric,
        step,
    )
    from mlops_kit.registry import ModelVersion, Registry
    from mlops_kit.tracking import TrackedRun, autolog, runs, start_run
    from mlops_kit.ui import ui_app
