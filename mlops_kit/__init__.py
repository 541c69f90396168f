"""mlops_kit: composable MLOps building blocks.

Public names are imported lazily (module ``__getattr__``), so ``import mlops_kit``
stays fast and loads neither pandas, scipy, scikit-learn nor any optional extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ConfigError": "mlops_kit.core.errors",
    "ConflictError": "mlops_kit.core.errors",
    "Dataset": "mlops_kit.datasets",
    "DatasetVersion": "mlops_kit.datasets",
    "DriftReport": "mlops_kit.monitor",
    "FsspecStorage": "mlops_kit.core.storage",
    "IntegrityError": "mlops_kit.core.errors",
    "InvalidNameError": "mlops_kit.core.errors",
    "MemoryStorage": "mlops_kit.core.storage",
    "MlopsKitError": "mlops_kit.core.errors",
    "Monitor": "mlops_kit.monitor",
    "NotFoundError": "mlops_kit.core.errors",
    "PipelineError": "mlops_kit.core.errors",
    "Profile": "mlops_kit.core.profile",
    "Schema": "mlops_kit.core.schema",
    "SchemaError": "mlops_kit.core.errors",
    "Storage": "mlops_kit.core.storage",
    "StorageError": "mlops_kit.core.errors",
    "storage": "mlops_kit.core.storage",
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
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from mlops_kit.core.errors import (
        ConfigError,
        ConflictError,
        IntegrityError,
        InvalidNameError,
        MlopsKitError,
        NotFoundError,
        PipelineError,
        SchemaError,
        StorageError,
    )
    from mlops_kit.core.profile import Profile
    from mlops_kit.core.schema import Schema
    from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage, storage
    from mlops_kit.datasets import Dataset, DatasetVersion
    from mlops_kit.monitor import DriftReport, Monitor
