"""The registry behaves the same on every backend: memory, local folder, S3 (moto)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import mlops_kit as mk
from mlops_kit.core.storage import Storage

from .conftest import Doubler


def reopen(storage: Storage) -> Storage:
    """The same storage as another process sees it (for memory: a snapshot)."""
    return pickle.loads(pickle.dumps(storage))


def test_full_life_cycle(make_any_storage: Callable[[], Storage], fitted: Any, frame: pd.DataFrame) -> None:
    store = make_any_storage()
    reg = mk.Registry(store)
    first = reg.register("churn", fitted, metrics={"auc": 0.8}, input_example=frame.head(4))
    second = reg.register("churn", Doubler("v2"), metrics={"auc": 0.9}, serializer="joblib")
    reg.register("fraud", [1, 2, 3], serializer="skops")
    reg.set_alias("churn", "production", first.version)
    reg.set_alias("churn", "production", second.version)
    reg.set_alias("churn", "staging", first.version)
    reg.archive("churn", 1, force=True)

    other = mk.Registry(reopen(store))  # a cold process: everything comes from storage
    assert other.models() == ["churn", "fraud"]
    assert other.get("churn@production") == second
    assert other.get("churn") == second
    assert other.get("churn:1") == first
    assert other.aliases("churn") == {"production": 2, "staging": 1}
    assert other.archived("churn") == [1]
    np.testing.assert_array_equal(other.load("churn@staging").predict(frame), fitted.predict(frame))
    assert other.load("churn@production") == Doubler("v2")
    assert other.load("fraud") == [1, 2, 3]
    pd.testing.assert_frame_equal(other.input_example("churn:1"), frame.head(4))
    assert other.best("churn", "auc") == second
    assert [(e.kind, e.alias, e.from_version, e.version) for e in other.history("churn")] == [
        ("registered", None, None, 1),
        ("registered", None, None, 2),
        ("alias_set", "production", None, 1),
        ("alias_set", "production", 1, 2),
        ("alias_set", "staging", None, 1),
        ("archived", None, None, 1),
    ]
    # The cold registry writes too, and the first one catches up.
    other.delete_alias("churn", "staging")
    other.register("churn", Doubler("v3"))
    if not isinstance(store, mk.MemoryStorage):  # a memory snapshot does not share writes
        assert reg.aliases("churn") == {"production": 2}
        assert reg.get("churn").version == 3
        assert reg.history("churn")[-1].kind == "registered"


def test_keys_are_plain_and_readable(make_any_storage: Callable[[], Storage]) -> None:
    store = make_any_storage()
    reg = mk.Registry(store)
    mv = reg.register("m", 1)
    reg.set_alias("m", "prod", 1)
    assert store.list("models") == [
        "models/m/events/000000000001.json",
        "models/m/events/head.json",
        "models/m/versions/000000000001.json",
        "models/m/versions/head.json",
    ]
    assert store.has_blob(mv.fingerprint)
