"""Data for the monitor tests: a small customer table with numeric, categorical and label columns."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from mlops_kit.testing import FakeClock


def customers(
    n: int, seed: int = 0, *, age_shift: float = 0.0, plan_p: tuple[float, ...] = (0.5, 0.3, 0.2)
) -> pd.DataFrame:
    """``age`` (normal, std 10), ``income`` (gamma, 5% nulls), ``plan`` (3 categories),
    ``member`` (bool), ``visits`` (small ints), ``churned`` (0/1) and ``score`` (a probability)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n) + age_shift * 10
    income = rng.gamma(2.0, 1000.0, n)
    income[rng.random(n) < 0.05] = np.nan
    score = 1 / (1 + np.exp(-(age - 40) / 10))
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "plan": rng.choice(["basic", "plus", "pro"], n, p=list(plan_p)),
            "member": rng.random(n) < 0.3,
            "visits": rng.poisson(3, n),
            "churned": (rng.random(n) < score).astype(int),
            "score": score,
        }
    )


@pytest.fixture(scope="session")
def make_customers() -> Callable[..., pd.DataFrame]:
    return customers


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2025-01-01T00:00:00Z")


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """One real Dask LocalCluster (two worker processes on 127.0.0.1) for every Dask test."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
