"""Current data as a Dask DataFrame: profiled per partition on a real LocalCluster, then merged."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk

pytestmark = [pytest.mark.dask, pytest.mark.slow]


def test_a_dask_frame_gives_the_same_report_as_pandas(dask_client, make_customers):
    ref = make_customers(4000, seed=1)
    cur = make_customers(6000, seed=2, age_shift=0.4, plan_p=(0.3, 0.3, 0.4))
    cur.loc[cur.index[:100], "plan"] = "gold"
    mon = mk.Monitor(ref, target="churned", prediction="score")
    ddf = dd.from_pandas(cur, npartitions=5)
    assert mon.check(cur).columns["plan"].reasons == ("distribution", "unseen")
    on_dask, on_pandas = mon.check(ddf), mon.check(cur)
    for name, col in on_pandas.columns.items():
        got = on_dask.columns[name]
        assert (got.method, got.drifted, got.reasons) == (col.method, col.drifted, col.reasons), name
        # Histograms merge exactly and moments up to rounding: the scores agree.
        assert got.statistic == pytest.approx(col.statistic, rel=1e-9, abs=1e-12), name
        assert got.current.count == col.current.count
        assert got.unseen == col.unseen
        # The new checks decide the same: unseen categories against Good-Turing, shared alpha.
        fields = ("unseen_expected", "unseen_p_value", "null_p_value", "min_effect", "p_adjusted")
        assert [getattr(got, f) for f in fields] == pytest.approx([getattr(col, f) for f in fields]), name
        assert got.effect_size == pytest.approx(col.effect_size, rel=1e-9, abs=1e-12), name
    assert on_dask.performance == on_pandas.performance
    assert on_dask.n_current == 6000
    # The partitions were profiled on the workers, not in this process.
    assert all(dask_client.run(lambda: "mlops_kit.core.profile" in __import__("sys").modules).values())


def test_small_dask_samples_use_binned_ks_without_pulling_the_data(dask_client, make_customers):
    ref, cur = make_customers(3000, seed=1), make_customers(600, seed=2)
    rep = mk.Monitor(ref, columns=["age", "income"]).check(dd.from_pandas(cur, npartitions=3))
    age = rep.columns["age"]
    assert age.method == "ks"
    assert "binned" in age.note
    from scipy import stats

    assert age.statistic == pytest.approx(stats.ks_2samp(ref.age, cur.age).statistic, abs=0.01)


def test_methods_that_need_raw_values_compute_that_column(dask_client, make_customers):
    ref, cur = make_customers(2000, seed=1), make_customers(1500, seed=2, age_shift=0.3)
    mon = mk.Monitor(ref, columns=["age"], method="energy")
    got = mon.check(dd.from_pandas(cur, npartitions=3)).columns["age"].statistic
    assert got == pytest.approx(mon.check(cur).columns["age"].statistic)
    assert np.isfinite(got)


def test_multivariate_drift_gives_the_same_verdict_on_dask(dask_client):
    rng = np.random.default_rng(0)

    def frame(rho: float, n: int) -> pd.DataFrame:
        xy = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
        return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})

    mon = mk.Monitor(frame(0.9, 3000), multivariate=True)
    for current in (frame(0.9, 8000), frame(-0.9, 8000)):
        plain = mon.check(current)
        on_dask = mon.check(dd.from_pandas(current, npartitions=4))
        assert [d.drifted for d in on_dask.multivariate] == [d.drifted for d in plain.multivariate]
        assert on_dask.drifted == plain.drifted
