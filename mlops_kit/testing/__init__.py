"""Helpers for testing code that uses mlops_kit, and for testing storage backends.

- :class:`StorageContract`: the pytest suite any storage backend must pass.
- :func:`check_storage_against_reference`: random call sequences on backends, checked
  against a plain in-memory model (hypothesis state machine).
- :class:`FaultyStorage`: a wrapper that fails the N-th operation (crash tests).
- :class:`FakeClock`: time your tests control, accepted by every block as ``clock=``.
- :func:`check_runner`, :func:`check_serializer`, :func:`check_drift_method`: the
  contracts our runners, serializers and drift methods pass, to run on your own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.testing.clock import FakeClock
from mlops_kit.testing.faults import FaultyStorage

if TYPE_CHECKING:  # for IDEs, mypy and the API docs; imported on demand below
    from mlops_kit.testing._drift_check import check_drift_method
    from mlops_kit.testing._model import check_storage_against_reference
    from mlops_kit.testing._runner_check import check_runner
    from mlops_kit.testing._serializer_check import check_serializer
    from mlops_kit.testing.contract import StorageContract

__all__ = [
    "FakeClock",
    "FaultyStorage",
    "StorageContract",
    "check_drift_method",
    "check_runner",
    "check_serializer",
    "check_storage_against_reference",
]

# Imported on demand: the contract suites need pytest and hypothesis, the checkers the
# block they check (pandas and scipy for drift methods).
_LAZY = {
    "StorageContract": "mlops_kit.testing.contract",
    "check_drift_method": "mlops_kit.testing._drift_check",
    "check_runner": "mlops_kit.testing._runner_check",
    "check_serializer": "mlops_kit.testing._serializer_check",
    "check_storage_against_reference": "mlops_kit.testing._model",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'mlops_kit.testing' has no attribute {name!r}")
    import importlib

    from mlops_kit.core.exports import publish

    namespace = vars(importlib.import_module(_LAZY[name]))
    publish(__name__, [name], namespace)
    value = globals()[name] = namespace[name]
    return value
