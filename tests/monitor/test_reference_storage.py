"""A DatasetVersion reference finds its raw data where it was saved, whatever its size."""

from __future__ import annotations

import gc
import pickle

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.datasets._origin import _ORIGINS, remember


def frame(n: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "c": rng.choice(["a", "b"], n)})


@pytest.mark.parametrize("rows", [200, 20_000])
def test_a_version_in_a_memory_store_works_as_reference_at_any_size(rows: int) -> None:
    version = mk.Dataset("ref", storage=mk.MemoryStorage()).save(frame(rows))
    monitor = mk.Monitor(reference=version)
    assert not monitor.check(frame(rows)).columns["x"].drifted
    assert monitor.check(frame(rows, shift=1.0)).columns["x"].drifted


def test_the_small_sample_uses_the_raw_reference_exactly() -> None:
    from scipy import stats

    ref, cur = frame(200), frame(200, shift=0.3)
    version = mk.Dataset("ref", storage=mk.MemoryStorage()).save(ref)
    column = mk.Monitor(reference=version, columns=["x"], method="ks").check(cur).columns["x"]
    exact = stats.ks_2samp(ref["x"], cur["x"])
    assert column.statistic == pytest.approx(exact.statistic, abs=1e-12)
    assert column.p_value == pytest.approx(exact.pvalue, rel=1e-9)


def test_versions_read_back_know_their_storage_too() -> None:
    store = mk.MemoryStorage()
    ds = mk.Dataset("ref", storage=store)
    ds.save(frame(200))
    for version in (ds.get(1), ds.latest(), ds.versions()[0]):
        assert mk.Dataset.storage_of(version) is store
        assert (
            not mk.Monitor(reference=version, columns=["x"], method="ks")
            .check(frame(200))
            .columns["x"]
            .drifted
        )


def test_an_explicit_storage_wins_and_a_missing_version_is_a_clear_error() -> None:
    version = mk.Dataset("ref", storage=mk.MemoryStorage()).save(frame(200))
    elsewhere = mk.MemoryStorage()
    with pytest.raises(
        mk.NotFoundError, match=r"The reference ref:1 is not in memory://.*Monitor\(\.\.\., storage=\.\.\.\)"
    ):
        mk.Monitor(reference=version, storage=elsewhere, columns=["x"], method="ks").check(frame(200))


def test_a_version_of_unknown_origin_says_to_pass_the_storage(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_KIT_STORAGE", str(tmp_path / "empty"))
    store = mk.MemoryStorage()
    copy = pickle.loads(pickle.dumps(mk.Dataset("ref", storage=store).save(frame(200))))
    assert mk.Dataset.storage_of(copy) is None
    with pytest.raises(mk.NotFoundError, match="pass the storage that holds the dataset"):
        mk.Monitor(reference=copy, columns=["x"], method="ks").check(frame(200))
    assert not mk.Monitor(reference=copy, storage=store, columns=["x"], method="ks").check(frame(200)).drifted


def test_origins_are_forgotten_with_their_versions() -> None:
    store = mk.MemoryStorage()
    copy = mk.Dataset("ref", storage=store).save(frame(50)).model_copy()  # a version object no cache holds
    assert remember(copy, store) is copy and mk.Dataset.storage_of(copy) is store
    key = id(copy)
    del copy
    gc.collect()
    assert key not in _ORIGINS
