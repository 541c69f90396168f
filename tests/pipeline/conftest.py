"""Runners for the runner-parametrized tests: one process pool and one Dask cluster per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.testing import FakeClock

RUNNERS = ["sequential", "thread", "process", pytest.param("dask", marks=pytest.mark.dask)]


@pytest.fixture(scope="session")
def process_runner() -> Iterator[mk.ProcessRunner]:
    runner = mk.ProcessRunner(max_workers=2)
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A real ``distributed`` cluster: two worker processes on 127.0.0.1."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(params=RUNNERS)
def runner(request: pytest.FixtureRequest) -> Any:
    """Each runner in turn: every test using it must pass on all four."""
    if request.param == "sequential":
        return mk.SequentialRunner()
    if request.param == "thread":
        return mk.ThreadRunner(max_workers=2)
    if request.param == "process":
        return request.getfixturevalue("process_runner")
    return mk.DaskRunner(request.getfixturevalue("dask_client"))


@pytest.fixture
def clock() -> FakeClock:
    """Each ``now()`` is a second after the previous one, starting at 2024-01-01T00:00:01Z."""
    return FakeClock("2024-01-01T00:00:01Z", tick=1.0)
