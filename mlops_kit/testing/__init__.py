"""Helpers for testing code that uses mlops_kit, and for testing storage backends.

- :class:`StorageContract`: the pytest suite any storage backend must pass.
- :func:`check_storage_against_reference`: random call sequences on backends, checked
  against a plain in-memory model (hypothesis state machine).
- :class:`FaultyStorage`: a wrapper that fails the N-th operation (crash tests).
- :class:`FakeClock`: time your tests control, accepted by every block as ``clock=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.testing.clock import FakeClock
from mlops_kit.testing.faults import FaultyStorage

if TYPE_CHECKING:  # for IDEs, mypy and the API docs; imported on demand below
    from mlops_kit.testing._model import check_storage_against_reference
    from mlops_kit.testing.contract import StorageContract

__all__ = ["FakeClock", "FaultyStorage", "StorageContract", "check_storage_against_reference"]


def __getattr__(name: str) -> Any:
    if name == "StorageContract":  # needs pytest and hypothesis: import only on demand
        from mlops_kit.testing.contract import StorageContract

        return StorageContract
    if name == "check_storage_against_reference":  # needs hypothesis
        from mlops_kit.testing._model import check_storage_against_reference

        return check_storage_against_reference
    raise AttributeError(f"module 'mlops_kit.testing' has no attribute {name!r}")
