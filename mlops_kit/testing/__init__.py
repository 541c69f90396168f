"""Helpers for testing code that uses mlops_kit, and for testing storage backends.

- :class:`StorageContract`: the pytest suite any storage backend must pass.
- :class:`FaultyStorage`: a wrapper that fails the N-th operation (crash tests).
- :class:`FakeClock`: time your tests control, accepted by every block as ``clock=``.
"""

from __future__ import annotations

from typing import Any

from mlops_kit.testing.clock import FakeClock
from mlops_kit.testing.faults import FaultyStorage

__all__ = ["FakeClock", "FaultyStorage", "StorageContract"]


def __getattr__(name: str) -> Any:
    if name == "StorageContract":  # needs pytest and hypothesis: import only on demand
        from mlops_kit.testing.contract import StorageContract

        return StorageContract
    raise AttributeError(f"module 'mlops_kit.testing' has no attribute {name!r}")
