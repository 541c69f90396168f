"""``mk.start_run``: what a tracked run records, on every backend, and how it ends."""

from __future__ import annotations

import math

import pytest

import mlops_kit as mk
from mlops_kit.tracking._records import RunEvents


def test_a_run_records_params_tags_metrics_and_ends_finished(any_storage: mk.Storage) -> None:
    with mk.start_run("churn-exp", storage=any_storage, params={"C": 0.5}, tags={"team": "crm"}) as run:
        assert run.status == "running"
        run.log_params({"penalty": "l2", "C": 0.25})  # a name logged again takes the new value
        run.set_tag("stage", "dev")
        for epoch, loss in enumerate([0.9, 0.5, 0.3]):
            run.log_metric("loss", loss, step=epoch)
        run.log_metric("diverged", float("inf"))
        assert [p.value for p in run.metric_history("loss")] == [0.9, 0.5, 0.3]  # while running
        assert run.record.status == "running" and run.record.metrics["loss"] == 0.3
    assert run.status == "finished"

    [stored] = mk.runs(any_storage, experiment="churn-exp")
    assert isinstance(stored, mk.TrackedRun)
    assert (stored.id, stored.experiment, stored.status) == (run.id, "churn-exp", "finished")
    assert stored.error is None
    assert dict(stored.params) == {"C": 0.25, "penalty": "l2"}
    assert dict(stored.tags) == {"team": "crm", "stage": "dev"}
    assert stored.metrics["loss"] == 0.3 and math.isinf(stored.metrics["diverged"])
    assert [(p.step, p.value) for p in stored.metric_history("loss")] == [(0, 0.9), (1, 0.5), (2, 0.3)]
    assert stored.ended_at is not None and stored.ended_at >= stored.started_at
    assert stored.duration_s is not None and stored.duration_s >= 0
    assert stored == run.record


def test_an_exception_fails_the_run_with_its_message_and_propagates() -> None:
    store = mk.MemoryStorage()
    with pytest.raises(ZeroDivisionError), mk.start_run("exp", storage=store) as run:
        run.log_metric("before", 1.0)
        1 / 0
    [stored] = mk.runs(store, "exp")
    assert stored.status == "failed" and stored.error == "ZeroDivisionError: division by zero"
    assert dict(stored.metrics) == {"before": 1.0}  # what was logged before the failure is kept


def test_ctrl_c_fails_the_run_too() -> None:
    store = mk.MemoryStorage()
    with pytest.raises(KeyboardInterrupt), mk.start_run("exp", storage=store):
        raise KeyboardInterrupt
    assert mk.runs(store, "exp")[0].status == "failed"


def test_mk_log_metric_records_on_the_current_run_and_only_inside_it() -> None:
    store = mk.MemoryStorage()
    mk.log_metric("ignored", 1.0)  # no run, no step: nothing happens, as before
    with mk.start_run("outer", storage=store) as outer:
        mk.log_metric("a", 1.0, step=0)
        with mk.start_run("inner", storage=store) as inner:
            mk.log_metric("b", 2.0)  # the innermost run
        mk.log_metric("c", 3.0)
    mk.log_metric("ignored", 2.0)
    assert outer.metrics == {"a": 1.0, "c": 3.0} and inner.metrics == {"b": 2.0}
    assert store.list("experiments/ignored") == []


def test_inside_a_pipeline_step_the_metric_goes_to_the_step_not_to_the_tracked_run() -> None:
    @mk.step
    def fit() -> int:
        mk.log_metric("step_auc", 0.9)
        return 1

    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        pipeline_run = mk.Pipeline([fit], name="p").run(storage=store, progress=False)
    assert pipeline_run.metrics == {"step_auc": 0.9} and run.metrics == {}


def test_ending_twice_returns_the_same_record_and_logging_after_the_end_is_refused() -> None:
    store = mk.MemoryStorage()
    run = mk.start_run("exp", storage=store)
    first = run.end()
    assert run.end() is first and first.status == "finished"
    for attempt in (
        lambda: run.log_metric("m", 1.0),
        lambda: run.log_params({"a": 1}),
        lambda: run.set_tag("a", "b"),
        lambda: run.log_artifact(b"x", name="x.bin"),
    ):
        with pytest.raises(mk.ConfigError, match="has ended"):
            attempt()
    assert len(store.read_log("experiments/exp/runs", mk.TrackedRun)) == 2  # start and end only
    assert store.list("tracking/") == []


def test_signed_storage_verifies_every_record() -> None:
    store = mk.MemoryStorage(signing_key=b"k" * 32)
    with mk.start_run("exp", storage=store, params={"C": 1}) as run:
        run.log_metric("auc", 0.8)
        run.log_artifact(b"bytes", name="a.bin")
    stored = mk.runs(store, "exp")[0]
    assert stored.metrics["auc"] == 0.8 and stored.artifact("a.bin") == b"bytes"


def test_many_metric_values_are_flushed_in_batches_and_kept_in_order() -> None:
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        for i in range(2_500):
            run.log_metric("loss", 1.0 / (i + 1), step=i)
    batches = store.read_log(f"tracking/{run.id}/events", RunEvents)
    assert [len(b.record.metrics) for b in batches] == [1_000, 1_000, 500]
    assert [p.step for p in mk.runs(store, "exp")[0].metric_history()] == list(range(2_500))
