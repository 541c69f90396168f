"""An operation either changes nothing and raises, or succeeds: a failed cache write is a warning."""

from __future__ import annotations

import pytest

import mlops_kit as mk
from mlops_kit.core.errors import StorageError
from mlops_kit.core.storage import MemoryStorage
from mlops_kit.testing import FaultyStorage

from .conftest import Doubler


class FailingSnapshots(FaultyStorage):
    """Every write of a snapshot fails; everything else works."""

    def _write(self, key: str, data: bytes) -> None:
        if "snapshot" in key:
            raise StorageError(f"Injected fault writing {key!r}.")
        super()._write(key, data)


def test_set_alias_succeeds_when_only_the_snapshot_write_fails() -> None:
    store = FailingSnapshots(MemoryStorage())
    reg = mk.Registry(store)
    reg.register("m", Doubler())
    reg.register("m", Doubler())
    for _ in range(4):
        reg.set_alias("m", "prod", 1)
        reg.set_alias("m", "prod", 2)
    reg.set_alias("m", "prod", 1)  # event 9
    with pytest.warns(UserWarning, match="snapshot"):
        event = reg.set_alias("m", "prod", 2)  # event 10 writes a snapshot, which fails
    assert event.version == 2 and event.from_version == 1
    assert reg.get("m@prod").version == 2
    assert mk.Registry(store).get("m@prod").version == 2
