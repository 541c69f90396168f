"""Canary health from storage: every worker's and every replica's counts, in ``status()``."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

import mlops_kit as mk
from mlops_kit.deploy._health import bucket_of, percentiles
from tests.deploy.conftest import X, make_registry, wait_for
from tests.deploy.test_metrics_workers import BODY, two_workers

BAD = {"instances": [{"age": 30}]}  # misses columns: a 400 on MLflow's route, a client error of its version


@pytest.mark.slow
def test_status_counts_the_canary_served_by_every_worker(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    dep = mk.LocalDeployer(make_registry(mk.storage(store)))
    dep.deploy("m:1")
    dep.deploy("m:2", strategy=mk.Canary(0.5))
    answered = {"m:1": 0, "m:2": 0}
    with two_workers(store, "", {"flush_interval": 0.2}) as (base, _):
        for i in range(60):
            body = BAD if i % 10 == 0 else BODY
            r = httpx.post(f"{base}/invocations", json=body, headers={"Connection": "close"}, timeout=60)
            if r.status_code == 200:
                answered[r.headers["x-model-version"]] += 1
            else:
                assert r.status_code == 400  # MLflow answers a schema error with 400

        def counted() -> bool:
            versions = dep.status("m").versions
            return sum(s.requests for s in versions.values()) == 60

        wait_for(counted, what="every worker's counts in storage")
    versions = dep.status("m").versions
    assert set(versions) == {"m:1", "m:2"}
    assert {v: s.requests - s.client_errors for v, s in versions.items()} == answered
    assert sum(s.client_errors for s in versions.values()) == 6  # refused: the client's mistakes
    assert sum(s.errors for s in versions.values()) == 0  # no model failed
    assert versions["m:2"].role == "candidate" and versions["m:2"].p50_ms is not None
    assert min(answered.values()) > 0  # both versions took traffic, through both workers


def test_each_replica_counts_and_status_sums_them(tmp_path: Path) -> None:
    """Two processes' counts, simulated by two health logs' writers on one folder store."""
    from mlops_kit.core.clock import SYSTEM_CLOCK
    from mlops_kit.deploy._stats import Stats

    url = str(tmp_path / "store")
    dep = mk.LocalDeployer(make_registry(mk.storage(url)))
    dep.deploy("m:1")
    dep.deploy("m:2", strategy=mk.Canary(0.5))
    tail = len(dep.history("m"))
    replicas = [
        Stats(mk.storage(url), "m", SYSTEM_CLOCK, since=lambda: tail, flush_interval=60) for _ in range(2)
    ]
    rng = np.random.default_rng(0)
    latencies: dict[str, list[float]] = {"m:1": [], "m:2": []}
    for i in range(400):
        label = "m:2" if i % 4 == 0 else "m:1"
        latency = float(rng.lognormal(1.0, 1.0))
        replicas[i % 2].record(label, 2, latency, ok=True)
        latencies[label].append(latency)
    replicas[0].record("m:2", 1, 0.0, ok=False)
    for stats in replicas:
        stats.flush()
    status = dep.status("m")
    assert status.versions["m:2"].requests == 101 and status.versions["m:2"].errors == 1
    assert status.versions["m:1"].requests == 300 and status.versions["m:1"].rows == 600
    for label, values in latencies.items():
        p50, p99 = np.percentile(values, [50, 99])
        assert status.versions[label].p50_ms == pytest.approx(p50, rel=0.022)
        assert status.versions[label].p99_ms == pytest.approx(p99, rel=0.022)


def test_a_canary_deployed_again_starts_from_zero(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    deployer.deploy("m:2", strategy=mk.Canary(1.0))
    for _ in range(5):
        ep.predict(X.head(1))
    assert ep.status().versions["m:2"].requests == 5
    deployer.rollback("m")
    assert ep.status().versions["m:2"].role == "retired"
    deployer.deploy("m:2", strategy=mk.Canary(1.0))
    assert ep.status().versions["m:2"].requests == 0  # a new rollout: judged on its own traffic
    ep.predict(X.head(1))
    ep.flush()
    assert ep.status().versions["m:2"].requests == 1
    deployer.promote("m")  # the candidate's stint goes on as primary
    ep.predict(X.head(1))
    assert ep.status().versions["m:2"].requests == 2
    ep.close()


def test_bucketed_percentiles_are_within_their_stated_error_of_numpy() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 1000):
        values = np.exp(rng.uniform(np.log(0.0011), np.log(1e5), n))  # above the 1 µs floor
        buckets: dict[int, int] = {}
        for v in values:
            buckets[bucket_of(float(v))] = buckets.get(bucket_of(float(v)), 0) + 1
        got = percentiles(buckets, (0, 50, 90, 99, 100))
        assert got == pytest.approx(np.percentile(values, [0, 50, 90, 99, 100]), rel=0.022)
    assert percentiles({}, (50,)) is None


def test_status_holds_typed_references_that_read_as_before(deployer: mk.LocalDeployer) -> None:
    from mlops_kit.core.refs import ModelRef, VersionRef

    deployer.deploy("m:1")
    deployer.deploy("m:3")
    deployer.deploy("m:2", strategy=mk.Canary(0.5))
    status = deployer.status("m")
    assert isinstance(status.primary, VersionRef) and isinstance(status.candidate, VersionRef)
    assert (status.primary.name, status.primary.version, status.candidate.version) == ("m", 3, 2)
    assert status.primary.model_ref == ModelRef("m", 3)
    assert (status.primary, status.candidate, status.previous) == ("m:3", "m:2", ("m:1",))
    assert status.model_dump(mode="json")["primary"] == "m:3"
    assert type(status.model_dump()["previous"][0]) is str
    assert mk.deploy.EndpointStatus.model_validate_json(status.model_dump_json()) == status
    assert deployer.registry.get(status.primary).version == 3
    with pytest.raises(mk.InvalidNameError, match="concrete version"):
        VersionRef("m@production")
