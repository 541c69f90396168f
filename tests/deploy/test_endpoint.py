"""Endpoints in-process: validation, live switches, canary and shadow routing, the prediction log."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.testing import FakeClock, FaultyStorage
from tests.deploy.conftest import Picky, X, make_registry


def test_input_is_checked_against_the_signature(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    with pytest.raises(SchemaError, match=r"missing columns \['spend', 'plan'\]"):
        ep.predict({"age": 3})
    with pytest.raises(
        SchemaError, match=r"column 'age': expected int, got string.*column 'spend': expected float"
    ):
        ep.predict({"age": "old", "spend": "a lot", "plan": "pro"})
    with pytest.raises(SchemaError, match="Expected a pandas DataFrame, a list of records"):
        ep.predict(42)
    # JSON-ish values are converted to the signature's types; extra columns are ignored by the model
    assert ep.predict([{"age": 30.0, "spend": 5, "plan": "pro", "customer": "c-1"}]).tolist() == [1.0]
    status = ep.status()
    # two schema errors, the client's (not the model's); 42 never reached a model
    assert (status.requests, status.errors, status.client_errors) == (3, 0, 2)
    ep.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ages=st.lists(
        st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.none(),
        min_size=1,
        max_size=5,
    ),
    plan=st.sampled_from(["pro", 3, None, True, 2.5]),
)
def test_any_record_gets_an_answer_or_a_schema_error(
    deployer: mk.LocalDeployer, ages: list, plan: object
) -> None:
    ep = deployer.endpoint("m") if deployer.endpoints() else deployer.deploy("m:1")
    frame = pd.DataFrame({"age": pd.Series(ages, dtype=object), "spend": 1.0, "plan": plan})
    try:
        out = ep.predict(frame)
    except SchemaError as exc:
        assert "signature of m:1" in str(exc)
    else:
        assert len(out) == len(ages)


def test_predict_proba_where_the_model_has_it(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf:1")
    proba = ep.predict_proba(X[["age", "spend"]])
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    constant = deployer.deploy("m:1")
    with pytest.raises(ConfigError, match="has no predict_proba"):
        constant.predict_proba(X)
    ep.close()
    constant.close()


def test_the_models_own_error_reaches_the_caller_unchanged(registry: mk.Registry) -> None:
    registry.register("picky", Picky(), input_example=X.head(2))
    ep = mk.LocalDeployer(registry).deploy("picky")
    assert ep.predict({"age": 2, "spend": 0.0, "plan": "x"}).tolist() == [4.0]
    with pytest.raises(ValueError, match="age 13 is unlucky"):
        ep.predict({"age": 13, "spend": 0.0, "plan": "x"})
    assert ep.status().versions["picky:1"].errors == 1
    ep.close()


def test_every_handle_in_the_process_switches_at_once(deployer: mk.LocalDeployer) -> None:
    a = deployer.deploy("m:1")
    b = mk.LocalDeployer(deployer.registry).endpoint("m")  # another deployer object, same storage
    assert (a.version, b.version) == ("m:1", "m:1")
    deployer.deploy("m:2")
    assert (a.version, b.version) == ("m:2", "m:2")
    assert a.live is b.live
    a.close()
    b.close()


def test_requests_in_flight_during_switches_never_fail(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    stop = threading.Event()
    failures: list[BaseException] = []
    answers: Counter[float] = Counter()

    def hammer() -> None:
        while not stop.is_set():
            try:
                answers[float(ep.predict(X.head(2))[0])] += 1
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(15):
        deployer.deploy("m:2", strategy=mk.Canary(0.5))
        deployer.promote("m")
        deployer.rollback("m")
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert set(answers) <= {1.0, 2.0} and answers[1.0] > 0
    ep.close()


def test_canary_by_key_is_sticky_and_splits_rows_in_order(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    deployer.deploy("m:2", strategy=mk.Canary(0.5, key="customer"))
    customers = [f"c{i}" for i in range(200)]
    frame = pd.DataFrame({"age": 30, "spend": 1.0, "plan": "pro", "customer": customers})
    first = ep.predict(frame)
    assert set(first) == {1.0, 2.0}
    assert 0.35 < (first == 2.0).mean() < 0.65
    one_by_one = [float(ep.predict(frame.iloc[[i]])[0]) for i in range(0, 200, 10)]
    assert one_by_one == first[::10].tolist()  # same key, same version, whatever the batch
    with pytest.raises(SchemaError, match="routes its canary by the column 'customer'"):
        ep.predict(X.head(1))
    log = ep.predictions()
    assert (log["version"].iloc[:200].map({"m:1": 1.0, "m:2": 2.0}).to_numpy() == first).all()
    ep.close()


def test_canary_share_in_process(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    deployer.deploy("m:2", strategy=mk.Canary(0.2))
    answers = [float(ep.predict(X.head(1))[0]) for _ in range(2000)]
    assert abs(answers.count(2.0) / 2000 - 0.2) < 0.04
    ep.close()


def test_shadow_sees_traffic_callers_only_see_the_primary(registry: mk.Registry) -> None:
    registry.register("m", Picky(), input_example=X.head(2))  # m:4 fails on age 13
    dep = mk.LocalDeployer(registry)
    ep = dep.deploy("m:1")
    dep.deploy("m:4", strategy=mk.Shadow())
    assert ep.predict(X).tolist() == [1.0] * len(X)
    assert ep.predict({"age": 13, "spend": 1.0, "plan": "pro"}).tolist() == [
        1.0
    ]  # the shadow's error is hidden

    def both_logged() -> bool:
        return len(ep.predictions()) == len(X) + 1

    from tests.deploy.conftest import wait_for

    wait_for(both_logged, what="the shadow's results")
    log = ep.predictions()
    assert (log["version"] == "m:1").all()
    assert log["shadow_prediction"].iloc[: len(X)].tolist() == (X["age"] * 2.0).tolist()
    assert log["shadow_version"].iloc[0] == "m:4" and pd.isna(log["shadow_version"].iloc[-1])
    versions = ep.status().versions
    assert versions["m:4 (shadow)"].requests == 2 and versions["m:4 (shadow)"].errors == 1
    ep.close()


def test_prediction_log_flushes_on_size_interval_and_close(registry: mk.Registry) -> None:
    clock = FakeClock()
    dep = mk.LocalDeployer(registry, clock=clock, flush_rows=10, flush_interval=30, poll_interval=0.05)
    ep = dep.deploy("m:1")
    log = ep.live.log
    assert log is not None
    ep.predict(X.head(3))
    assert log.buffered_rows == 3 and len(ep.predictions()) == 3  # unflushed rows included
    clock.advance(31)  # the interval passed: the background thread flushes
    from tests.deploy.conftest import wait_for

    wait_for(lambda: log.buffered_rows == 0, what="the interval flush")
    ep.predict(pd.concat([X, X]))  # 12 rows >= flush_rows
    wait_for(lambda: log.buffered_rows == 0, what="the size flush")
    ep.predict(X.head(1))
    ep.close()  # the last handle flushes
    batches = [k for k in registry.storage.list("deployments/m/predictions") if not k.endswith("head.json")]
    assert len(batches) == 3
    fresh = mk.LocalDeployer(registry).endpoint("m")
    frame = fresh.predictions()
    assert len(frame) == 16 and frame["request_id"].nunique() == 3
    assert frame["time"].dt.tz is not None and set(frame["version"]) == {"m:1"}
    later = fresh.predictions(since=frame["time"].iloc[-1].to_pydatetime())
    assert len(later) >= 1
    with pytest.raises(ConfigError, match="timezone-aware"):
        fresh.predictions(since=dt.datetime(2026, 1, 1))
    fresh.close()


def test_a_failing_flush_keeps_the_rows_for_the_next_one(registry: mk.Registry) -> None:
    dep = mk.LocalDeployer(registry)
    ep = dep.deploy("m:1")
    ep.predict(X.head(2))
    log = ep.live.log
    assert log is not None
    real = log.storage
    log.storage = FaultyStorage(real, fail_at=1)
    with pytest.raises(mk.StorageError):
        log.flush()
    assert log.buffered_rows == 2
    log.storage = real
    assert log.flush() == 2
    ep.close()


def test_the_buffer_is_bounded(registry: mk.Registry) -> None:
    dep = mk.LocalDeployer(registry, max_buffer_rows=5, flush_rows=1000)
    ep = dep.deploy("m:1")
    for _ in range(4):
        ep.predict(X.head(2))
    log = ep.live.log
    assert log is not None and log.buffered_rows <= 5 and log.dropped >= 1
    ep.close()


def test_predictions_without_a_log_is_a_clear_error(registry: mk.Registry) -> None:
    ep = mk.LocalDeployer(registry, log_predictions=False).deploy("m:1")
    assert ep.predict(X.head(1)).tolist() == [1.0]
    with pytest.raises(ConfigError, match="log_predictions=False"):
        ep.predictions()
    ep.close()


def test_log_rows_carry_signature_types_for_json_requests(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    columns = {"age": [30.0], "spend": [2], "plan": ["pro"], "customer": ["c-9"]}
    ep.live.infer(columns, raw=columns)
    frame = ep.predictions()
    assert frame["age"].dtype == np.int64 and frame["spend"].dtype == np.float64
    assert frame["customer"].tolist() == ["c-9"]
    assert isinstance(frame["time"].iloc[0], pd.Timestamp) and frame["time"].iloc[0] <= pd.Timestamp(
        dt.datetime.now(dt.UTC)
    )
    ep.close()


def test_rows_buffered_at_interpreter_exit_are_flushed(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    make_registry(mk.storage(store))
    script = (
        "import mlops_kit as mk\n"
        f"reg = mk.Registry({store!r})\n"
        "ep = mk.LocalDeployer(reg).deploy('m:1')\n"
        "ep.predict([{'age': 1, 'spend': 2.0, 'plan': 'a'}] * 3)\n"  # no close(), no flush()
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
    ep = mk.LocalDeployer(mk.Registry(store)).endpoint("m")
    assert len(ep.predictions()) == 3
    ep.close()
