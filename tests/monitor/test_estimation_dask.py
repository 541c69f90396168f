"""Performance estimation on the Dask path: the same estimates and verdicts as on pandas."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk

pytestmark = [pytest.mark.dask, pytest.mark.slow]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    plan = rng.choice(["a", "b"], n)
    score = 1 / (1 + np.exp(-3 * x))
    noise = np.where(plan == "b", 3.0, 0.5) * rng.normal(size=n)
    return pd.DataFrame(
        {"x": x, "plan": plan, "label": (rng.random(n) < score).astype(int), "score": score,
         "y": 2 * x + noise, "yhat": 2 * x}
    )  # fmt: skip


@pytest.mark.slow
def test_cbpe_and_dle_give_the_same_verdict_on_dask(dask_client):
    ref, cur = _frame(4000, 1), _frame(6000, 2)
    cur = cur[(np.abs(cur.x) < 0.5) | (cur.plan == "b")]  # harder rows: both estimates decay
    for target, prediction in (("label", "score"), ("y", "yhat")):
        drop = [c for c in ("label", "y") if c != target]
        mon = mk.Monitor(
            ref.drop(columns=drop), target=target, prediction=prediction, estimate_performance=True
        )
        unlabelled = cur.drop(columns=["label", "y"])
        on_pandas = mon.check(unlabelled)
        on_dask = mon.check(dd.from_pandas(unlabelled, npartitions=4))
        assert on_dask.estimated_performance == on_pandas.estimated_performance
        assert on_dask.estimated_performance.decayed is True
        assert on_dask.reasons == on_pandas.reasons
        assert "estimated performance decay" in on_dask.reasons
