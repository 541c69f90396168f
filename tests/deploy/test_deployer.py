"""The deployer: events log, fold, promote/rollback/undeploy, auto-rollback, audit trail."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import mlops_kit as mk
from mlops_kit.core.clock import current_user
from mlops_kit.core.errors import ConflictError, InvalidNameError, NotFoundError
from mlops_kit.core.storage.blobs import blob_key
from mlops_kit.deploy import DeploymentError
from mlops_kit.deploy._state import EndpointState, Slot, fold
from mlops_kit.testing import FakeClock
from tests.deploy.conftest import Flaky, X, make_registry


def served(ep: mk.Endpoint) -> float:
    return float(ep.predict(X.head(1))[0])


def test_lifecycle_on_every_backend(make_any_storage: Callable[[], mk.Storage]) -> None:
    reg = make_registry(make_any_storage())
    dep = mk.LocalDeployer(reg, clock=FakeClock(tick=1))
    ep = dep.deploy("m:1", endpoint="web")
    assert served(ep) == 1.0
    dep.deploy("m:2", endpoint="web", strategy=mk.Canary(weight=0.3))
    assert dep.status("web").candidate == "m:2"
    dep.promote("web")
    assert served(ep) == 2.0
    dep.rollback("web")
    assert served(ep) == 1.0
    dep.undeploy("web")
    with pytest.raises(NotFoundError, match="serves no model"):
        ep.predict(X.head(1))
    assert dep.endpoints() == []
    kinds = [e.kind for e in dep.history("web")]
    assert kinds == ["deploy", "deploy", "promote", "rollback", "undeploy"]
    ep.close()


def test_alias_is_resolved_at_deploy_time_and_recorded(registry: mk.Registry) -> None:
    registry.set_alias("m", "production", 2)
    dep = mk.LocalDeployer(registry)
    ep = dep.deploy("m@production")
    registry.set_alias("m", "production", 3)  # moving the alias later changes nothing served
    assert served(ep) == 2.0
    event = dep.history("m")[0]
    assert (event.ref, event.model, event.version, event.strategy) == ("m@production", "m", 2, "replace")
    assert event.by == current_user()
    ep.close()


def test_events_record_who_when_and_what(registry: mk.Registry) -> None:
    clock = FakeClock("2026-05-01T10:00:00Z", tick=60)
    dep = mk.LocalDeployer(registry, clock=clock)
    dep.deploy("m:1")
    dep.deploy("m:2", strategy=mk.Canary(0.25, key="plan"))
    first, second = dep.history("m")
    assert first.at.isoformat() == "2026-05-01T10:00:00+00:00" and second.at > first.at
    assert "@" in first.by
    assert (second.weight, second.key, second.from_model, second.from_version) == (0.25, "plan", "m", 1)
    assert "canary 0.25 by 'plan'" in str(second)


def test_rollback_drops_a_candidate_first_then_walks_back(deployer: mk.LocalDeployer) -> None:
    deployer.deploy("m:1")
    deployer.deploy("m:2")
    deployer.deploy("m:3", strategy=mk.Shadow())
    assert deployer.status("m").previous == ("m:1",)
    event = deployer.rollback("m")
    assert "dropped candidate m:3" in event.reason
    status = deployer.status("m")
    assert (status.primary, status.candidate) == ("m:2", None)
    deployer.rollback("m")
    assert deployer.status("m").primary == "m:1"
    with pytest.raises(ConflictError, match="nothing to roll back to"):
        deployer.rollback("m")


def test_refusals_are_clear_and_record_nothing(deployer: mk.LocalDeployer) -> None:
    with pytest.raises(ConflictError, match="no primary version"):
        deployer.deploy("m:2", strategy=mk.Canary(0.1))
    deployer.deploy("m:1")
    with pytest.raises(ConflictError, match="no candidate to promote"):
        deployer.promote("m")
    with pytest.raises(ConflictError, match="already the primary"):
        deployer.deploy("m:1", strategy=mk.Shadow())
    with pytest.raises(NotFoundError, match="No endpoint 'nope'"):
        deployer.promote("nope")
    with pytest.raises(InvalidNameError):
        deployer.deploy("m:1", endpoint="../x")
    with pytest.raises(NotFoundError):
        deployer.deploy("m:9")
    with pytest.raises(mk.ConfigError, match="strategy="):
        deployer.deploy("m:2", strategy="canary")  # type: ignore[arg-type]
    assert [e.kind for e in deployer.history("m")] == ["deploy"]


def test_replacing_with_what_is_served_records_nothing(deployer: mk.LocalDeployer) -> None:
    deployer.deploy("m:1")
    deployer.deploy("m:1")
    assert len(deployer.history("m")) == 1


def test_a_model_failing_its_health_check_is_rolled_back_automatically(registry: mk.Registry) -> None:
    registry.register("m", Flaky(), input_example=X.head(2))  # m:4
    dep = mk.LocalDeployer(registry)
    ep = dep.deploy("m:1")
    with pytest.raises(
        DeploymentError, match=r"m:4 was not deployed.*health check failed.*flaky model broke"
    ):
        dep.deploy("m:4")
    assert served(ep) == 1.0
    last = dep.history("m")[-1]
    assert (last.kind, last.version) == ("auto_rollback", 4)
    assert "flaky model broke" in last.reason
    assert dep.status("m").primary == "m:1"
    ep.close()


def test_a_model_failing_to_load_is_rolled_back_automatically(registry: mk.Registry) -> None:
    dep = mk.LocalDeployer(registry)
    dep.deploy("m:1")
    registry.storage.delete(blob_key(registry.get("m:2").fingerprint))
    with pytest.raises(DeploymentError, match="failed to load: NotFoundError"):
        dep.deploy("m:2", strategy=mk.Canary(0.5))
    assert dep.history("m")[-1].kind == "auto_rollback"
    assert dep.status("m").candidate is None


def test_strategies_validate_their_parameters() -> None:
    assert mk.Canary(0.2) == mk.Canary(weight=0.2)
    assert mk.Canary(1).weight == 1.0
    for bad in (0, -0.1, 1.01, float("nan"), True, "0.5"):
        with pytest.raises(mk.ConfigError, match="Canary"):
            mk.Canary(bad)  # type: ignore[arg-type]
    with pytest.raises(mk.ConfigError, match="key"):
        mk.Canary(0.5, key=" ")


def test_fold_is_a_pure_function_of_the_log(deployer: mk.LocalDeployer) -> None:
    deployer.deploy("m:1")
    deployer.deploy("m:2")
    deployer.deploy("m:3", strategy=mk.Canary(0.5))
    deployer.promote("m")
    entries = list(enumerate(deployer.history("m"), 1))
    state = fold(EndpointState(), entries)
    assert (state.primary, state.candidate, state.previous) == (
        Slot("m", 3),
        None,
        (Slot("m", 2), Slot("m", 1)),
    )
    again = mk.LocalDeployer(deployer.registry)  # another deployer on the same storage agrees
    assert again.status("m").primary == "m:3" and again.status("m").previous == ("m:2", "m:1")


def test_concurrent_promote_and_rollback_never_corrupt_state(registry: mk.Registry) -> None:
    deployers = [mk.LocalDeployer(registry) for _ in range(4)]
    deployers[0].deploy("m:1")
    deployers[0].deploy("m:2", strategy=mk.Canary(0.5))
    results: list[str] = []

    def act(dep: mk.LocalDeployer) -> None:
        try:
            dep.promote("m")
            results.append("promoted")
        except ConflictError:
            results.append("refused")

    threads = [threading.Thread(target=act, args=(d,)) for d in deployers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["promoted", "refused", "refused", "refused"]  # exactly one promote wins
    assert [e.kind for e in deployers[0].history("m")] == ["deploy", "deploy", "promote"]


def test_a_new_model_name_can_replace_the_primary(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1", endpoint="api")
    deployer.deploy("clf:1", endpoint="api")
    assert ep.version == "clf:1"
    assert ep.predict(X[["age", "spend"]]).tolist() == [0, 1, 0, 1, 1, 0]
    ep.close()


def test_deployer_pickles_without_its_process_state(deployer: mk.LocalDeployer) -> None:
    import pickle

    deployer.deploy("m:1")
    copy = pickle.loads(pickle.dumps(deployer))
    assert copy.status("m").primary == "m:1"


def test_a_rollback_to_a_version_that_cannot_load_changes_nothing(registry: mk.Registry) -> None:
    dep = mk.LocalDeployer(registry)
    dep.deploy("m:1")
    dep.deploy("m:2")
    dep._models.clear()  # as if m:1 had been evicted from the cache
    registry.storage.delete(blob_key(registry.get("m:1").fingerprint))
    with pytest.raises(DeploymentError, match="Cannot roll endpoint 'm' back to m:1"):
        dep.rollback("m")
    assert dep.status("m").primary == "m:2" and len(dep.history("m")) == 2
