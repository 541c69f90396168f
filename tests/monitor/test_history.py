"""Alerts, the stored history of reports (every backend), and Prometheus gauges."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import mlops_kit as mk
from mlops_kit.testing import FaultyStorage


def test_on_drift_calls_back_only_on_drift(make_customers):
    ref = make_customers(3000, seed=1)
    mon = mk.Monitor(ref, columns=["age", "plan"])
    seen = []
    assert mon.on_drift(seen.append) is not None
    mon.check(make_customers(2000, seed=2))
    assert seen == []
    rep = mon.check(make_customers(2000, seed=3, age_shift=1.0, plan_p=(0.1, 0.1, 0.8)))
    assert seen == [rep]
    with pytest.raises(mk.ConfigError, match="callable"):
        mon.on_drift("not callable")


def test_history_is_stored_and_read_back(make_customers, any_storage, clock):
    ref = make_customers(3000, seed=1)
    mon = mk.Monitor(ref, columns=["age", "plan"], name="churn-inputs", storage=any_storage, clock=clock)
    for shift in (0.0, 0.3, 0.8):
        clock.advance(3600)
        mon.check(make_customers(1500, seed=int(shift * 10) + 2, age_shift=shift))
    again = mk.Monitor(ref, columns=["age", "plan"], name="churn-inputs", storage=any_storage)
    reports = again.reports()
    assert [r.created_at.hour for r in reports] == [1, 2, 3]
    assert [r.columns["age"].drifted for r in reports] == [False, True, True]
    assert again.history() == reports  # the log itself, as in every block
    history = again.history().to_frame()
    assert len(history) == 6
    assert list(history.seq.unique()) == [1, 2, 3]
    wide = history.pivot(index="created_at", columns="column", values="effect_size")
    assert wide["age"].is_monotonic_increasing


def test_dataframe_use_of_history_still_works_with_a_deprecation_warning(make_customers):
    mon = mk.Monitor(make_customers(300), columns=["age"], name="old-style", storage=mk.MemoryStorage())
    mon.check(make_customers(300, seed=5))
    with pytest.warns(DeprecationWarning, match=r"history\(\)\.to_frame\(\)\.pivot"):
        wide = mon.history().pivot(index="created_at", columns="column", values="effect_size")
    assert list(wide.columns) == ["age"]
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mon.history().nonsense


def test_without_a_name_there_is_no_history(make_customers):
    with pytest.raises(mk.ConfigError, match="name="):
        mk.Monitor(make_customers(100)).history()


def test_concurrent_checks_lose_no_report(make_customers):
    store = mk.MemoryStorage()
    ref, cur = make_customers(2000, seed=1), make_customers(500, seed=2)
    monitors = [mk.Monitor(ref, columns=["age"], name="shared", storage=store) for _ in range(4)]
    threads = [threading.Thread(target=lambda m=m: [m.check(cur) for _ in range(5)]) for m in monitors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(monitors[0].reports()) == 20


def test_a_failed_write_surfaces_and_stores_nothing_half_written(make_customers):
    inner = mk.MemoryStorage()
    mon = mk.Monitor(make_customers(1000), columns=["age"], name="m", storage=FaultyStorage(inner, fail_at=2))
    with pytest.raises(mk.StorageError):
        mon.check(make_customers(500, seed=2))
    assert mk.Monitor(make_customers(1000), columns=["age"], name="m", storage=inner).reports() == []


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_prometheus_gauges_follow_the_latest_check(make_customers):
    ref = make_customers(3000, seed=1)
    mon = mk.Monitor(ref, columns=["age"], target="churned", prediction="score", name="churn")
    registry = mon.to_prometheus()
    assert isinstance(registry, CollectorRegistry)
    assert not [k for k in _samples(registry) if k[0] == "mlops_kit_drift_share"]  # nothing checked yet
    first = mon.check(make_customers(2000, seed=2))
    values = _samples(registry)
    age = (("column", "age"), ("method", "wasserstein"), ("monitor", "churn"), ("role", "feature"))
    assert values[("mlops_kit_drift_statistic", age)] == pytest.approx(first.columns["age"].statistic)
    assert values[("mlops_kit_drift_column_drifted", age)] == 0.0
    auc = (("metric", "roc_auc"), ("monitor", "churn"), ("sample", "current"))
    assert values[("mlops_kit_model_metric", auc)] == pytest.approx(first.performance.metrics["roc_auc"])
    second = mon.check(make_customers(2000, seed=3, age_shift=1.0))
    values = _samples(registry)
    assert values[("mlops_kit_drift_statistic", age)] == pytest.approx(second.columns["age"].statistic)
    assert values[("mlops_kit_drift_detected", (("monitor", "churn"),))] == 1.0


def test_a_report_exports_to_a_given_registry(make_customers):
    rep = mk.Monitor(make_customers(900, seed=1), columns=["age", "plan"]).check(make_customers(700, seed=2))
    registry = CollectorRegistry()
    assert rep.to_prometheus(registry) is registry
    values = _samples(registry)
    key = (
        "mlops_kit_drift_p_value",
        (("column", "plan"), ("method", "chisquare"), ("monitor", "default"), ("role", "feature")),
    )
    assert values[key] == pytest.approx(rep.columns["plan"].score)  # shared with the unseen test
