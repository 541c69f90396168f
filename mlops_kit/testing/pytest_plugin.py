"""Pytest fixtures for testing your own code against mlops_kit, with no disk, network or sleep.

Opt in from your ``conftest.py``::

    pytest_plugins = ["mlops_kit.testing.pytest_plugin"]

Fixtures (all function-scoped, so every test starts empty):

- ``mk_clock``: a :class:`~mlops_kit.testing.FakeClock`.
- ``mk_storage``: a fresh :class:`~mlops_kit.MemoryStorage`.
- ``mk_registry``: a :class:`~mlops_kit.Registry` on ``mk_storage`` and ``mk_clock``.
- ``mk_deployer``: a :class:`~mlops_kit.LocalDeployer` on the same registry, storage and clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlops_kit.core.storage import MemoryStorage
from mlops_kit.testing.clock import FakeClock


@pytest.fixture
def mk_clock() -> FakeClock:
    """A fake clock at 2026-01-01T00:00:00Z that moves only when told to."""
    return FakeClock()


@pytest.fixture
def mk_storage() -> MemoryStorage:
    """An empty, isolated in-memory storage."""
    return MemoryStorage()


@pytest.fixture
def mk_registry(mk_storage: MemoryStorage, mk_clock: FakeClock) -> Any:
    """An empty model registry in memory."""
    from mlops_kit.registry import Registry

    return Registry(mk_storage, clock=mk_clock)


@pytest.fixture
def mk_deployer(mk_registry: Any, mk_storage: MemoryStorage, mk_clock: FakeClock) -> Iterator[Any]:
    """A deployer serving ``mk_registry``'s models in-process; its endpoints are closed afterwards."""
    from mlops_kit.deploy import LocalDeployer

    deployer = LocalDeployer(mk_registry, storage=mk_storage, clock=mk_clock)
    yield deployer
    deployer.close()  # no polling thread outlives the test
