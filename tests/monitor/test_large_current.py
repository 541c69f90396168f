"""Current data larger than memory: a pyarrow dataset and a stored version's Dask frame give pandas' verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest

import mlops_kit as mk
from mlops_kit.core.storage import MemoryStorage
from mlops_kit.monitor import _sources


def same_report(got: mk.DriftReport, want: mk.DriftReport) -> None:
    assert got.n_current == want.n_current
    assert got.drifted == want.drifted
    for name, col in want.columns.items():
        other = got.columns[name]
        assert (other.method, other.drifted, other.reasons) == (col.method, col.drifted, col.reasons), name
        # Counts and histograms merge exactly, moments up to float rounding.
        for got_value, want_value in ((other.statistic, col.statistic), (other.p_value, col.p_value)):
            if want_value is None:  # a method without a p-value (newer pytest refuses approx(None))
                assert got_value is None, name
            else:
                assert got_value == pytest.approx(want_value, rel=1e-9, abs=1e-12), name
        assert other.current.count == col.current.count
    assert got.performance == want.performance


@pytest.fixture
def small_groups(monkeypatch):
    """Profile a pyarrow dataset 1,000 rows at a time, so that merging is exercised."""
    monkeypatch.setattr(_sources, "_ARROW_ROWS", 1000)


def test_a_pyarrow_dataset_gives_the_verdicts_and_scores_of_pandas(tmp_path, make_customers, small_groups):
    ref = make_customers(4000, seed=1)
    cur = make_customers(6000, seed=2, age_shift=0.4, plan_p=(0.3, 0.3, 0.4))
    for k in range(3):
        cur.iloc[k * 2000 : (k + 1) * 2000].to_parquet(tmp_path / f"{k}.parquet", row_group_size=700)
    mon = mk.Monitor(ref, target="churned", prediction="score")
    on_pandas = mon.check(cur)
    assert on_pandas.drifted and on_pandas.columns["age"].drifted
    same_report(mon.check(pads.dataset(str(tmp_path))), on_pandas)


def test_a_streamed_reference_and_its_lazy_current_version_agree_with_pandas(make_customers, small_groups):
    store = MemoryStorage()
    ref = make_customers(4000, seed=1)
    cur = make_customers(5000, seed=2, age_shift=0.3)
    reference = mk.Dataset("ref", store).save(iter([ref.iloc[:1500], ref.iloc[1500:]]), part_rows=1000)
    current = mk.Dataset("cur", store)
    current.save(iter([cur.iloc[:2500], cur.iloc[2500:]]), part_rows=1200)
    mon = mk.Monitor(reference, target="churned", prediction="score")
    same_report(mon.check(current.to_arrow()), mon.check(cur))


def test_multivariate_drift_samples_the_same_rows_from_a_pyarrow_dataset(tmp_path):
    rng = np.random.default_rng(0)

    def frame(rho: float, n: int) -> pd.DataFrame:
        xy = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
        return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})

    mon = mk.Monitor(frame(0.9, 3000), multivariate=True)
    for n, current in enumerate((frame(0.9, 8000), frame(-0.9, 8000))):
        current.to_parquet(tmp_path / f"{n}.parquet")
        plain = mon.check(current)
        on_arrow = mon.check(pads.dataset(str(tmp_path / f"{n}.parquet")))
        assert [d.drifted for d in on_arrow.multivariate] == [d.drifted for d in plain.multivariate]
        assert [d.statistic for d in on_arrow.multivariate] == [d.statistic for d in plain.multivariate]
        assert on_arrow.drifted == plain.drifted


def test_an_empty_pyarrow_dataset_is_reported_as_empty(tmp_path, make_customers):
    ref = make_customers(100)
    ref.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(mk.SchemaError, match="empty"):
        mk.Monitor(ref).check(pads.dataset(str(tmp_path / "empty.parquet")))


@pytest.mark.dask
@pytest.mark.slow
def test_a_stored_versions_dask_frame_on_a_cluster_gives_the_verdicts_of_pandas(
    tmp_path, dask_client, make_customers
):
    store = mk.storage(str(tmp_path / "store"))  # a folder the worker processes can read
    ref = make_customers(4000, seed=1)
    cur = make_customers(6000, seed=2, age_shift=0.4, plan_p=(0.3, 0.3, 0.4))
    ds = mk.Dataset("cur", store)
    ds.save(iter([cur.iloc[:3000], cur.iloc[3000:]]), part_rows=1500)
    ddf = ds.to_dask()
    assert ddf.npartitions == 4
    mon = mk.Monitor(ref, target="churned", prediction="score")
    same_report(mon.check(ddf), mon.check(cur))
