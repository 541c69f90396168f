"""Run records: persisted at start and end, listed newest first, compared in a frame, failures and Ctrl-C."""

from __future__ import annotations

import _thread
import re
import time

import pytest

import mlops_kit as mk
from mlops_kit.core.lineage import RunLink, as_run_link
from mlops_kit.pipeline import RunRecord, RunResult


@mk.step
def prepare(raw: list, offset: int = 0) -> list:
    return [x + offset for x in raw]


@mk.step(outputs=("model", "score"))
def fit(prepare: list, C: float = 1.0):
    for epoch in range(3):
        mk.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    mk.log_metric("auc", 0.5 + C / 10)
    return {"w": [C * x for x in prepare]}, sum(prepare) * C


@mk.step
def explode(score: float) -> float:
    raise ValueError(f"cannot explain {score}")


PIPE = mk.Pipeline([prepare, fit], name="train")


def test_the_record_describes_the_run(clock) -> None:
    store = mk.MemoryStorage()
    pipe = mk.Pipeline([prepare, fit], name="train", clock=clock)
    run = pipe.run(
        inputs={"raw": [1, 2]}, params={"C": 0.5}, storage=store, tags={"team": "ds"}, progress=False
    )
    assert isinstance(run, RunResult) and isinstance(run.record, RunRecord)
    assert re.fullmatch(r"20240101T000001000000Z-[0-9a-f]{8}", run.id)
    assert (run.pipeline, run.status, run.runner, run.cache) == (
        "train",
        "succeeded",
        "SequentialRunner",
        True,
    )
    assert dict(run.params) == {"C": 0.5, "offset": 0}
    assert list(run.inputs) == ["raw"]
    assert len(run.inputs["raw"]) == 64
    assert dict(run.tags) == {"team": "ds"}
    assert run.metrics == {"loss": pytest.approx(1 / 3), "auc": 0.55}
    assert [(p.name, p.step) for p in run.metric_history("loss")] == [("loss", 0), ("loss", 1), ("loss", 2)]
    assert run.metric_history()[-1].pipeline_step == "fit"
    assert run.started_at.isoformat() == "2024-01-01T00:00:01+00:00"
    assert run.ended_at is not None
    assert run.ended_at > run.started_at
    assert run.duration_s is not None
    assert run.duration_s > 0
    assert "@" in run.created_by
    fit_record = run.step("fit")
    assert (fit_record.status, fit_record.attempts, fit_record.cache_hit) == ("succeeded", 1, False)
    # FakeClock(tick=1) moves one second per now(): the step reads the time once, at its start,
    # so its duration (a monotonic difference) is zero and the run's covers the other reads.
    assert fit_record.duration_s == 0.0
    assert fit_record.ended_at == fit_record.started_at
    assert set(fit_record.outputs) == {"model", "score"}
    assert all(o.fingerprint and o.blob and o.materializer == "json" for o in fit_record.outputs.values())
    assert run.outputs["model"] == {"w": [0.5, 1.0]}
    with pytest.raises(mk.NotFoundError, match=r"has no step 'nope'; its steps are \['prepare', 'fit'\]"):
        run.step("nope")
    assert "status='succeeded'" in repr(run)
    assert "<b>train</b>" in run._repr_html_()


def test_the_record_is_appended_at_start_and_end_and_folded() -> None:
    store = mk.MemoryStorage()
    run = PIPE.run(inputs={"raw": [1]}, storage=store, progress=False)
    log = [e.record for e in store.read_log("pipelines/train/runs", RunRecord)]
    assert [(r.id, r.status, len(r.steps)) for r in log] == [(run.id, "running", 0), (run.id, "succeeded", 2)]
    assert PIPE.runs(store) == [run]


def test_runs_are_listed_newest_first_and_compared_in_a_frame() -> None:
    store = mk.MemoryStorage()
    ids = [
        PIPE.run(inputs={"raw": [1, 2]}, params={"C": c}, storage=store, progress=False).id
        for c in (0.1, 0.2, 0.3)
    ]
    runs = PIPE.runs(store)
    assert [r.id for r in runs] == ids[::-1]
    frame = runs.to_frame()
    assert list(frame.index) == ids[::-1]
    assert list(frame.columns) == [
        "pipeline",
        "status",
        "started_at",
        "duration_s",
        "cached_steps",
        "failed_step",
        "params.C",
        "params.offset",
        "metrics.auc",
        "metrics.loss",
    ]
    assert list(frame["params.C"]) == [0.3, 0.2, 0.1]
    assert list(frame["metrics.auc"]) == pytest.approx([0.53, 0.52, 0.51])
    assert list(frame["cached_steps"]) == [1, 1, 0]  # prepare is shared by all three
    assert "<table" in runs._repr_html_()
    assert mk.Pipeline([prepare], name="other").runs(store) == []


def test_a_failing_step_fails_the_run_with_the_cause_chained() -> None:
    store = mk.MemoryStorage()
    pipe = mk.Pipeline([prepare, fit, explode], name="explain")
    with pytest.raises(mk.PipelineError) as info:
        pipe.run(inputs={"raw": [1]}, storage=store, progress=False)
    error = info.value
    assert str(error).startswith("Step 'explode' failed: ValueError: cannot explain 1.0")
    assert "recorded as failed" in str(error)
    assert isinstance(error.__cause__, ValueError)
    record = error.run  # type: ignore[attr-defined]
    assert record == pipe.runs(store)[0]
    assert (record.status, record.failed_step) == ("failed", "explode")
    step = record.step("explode")
    assert step.error == "ValueError: cannot explain 1.0"
    assert step.traceback is not None
    assert 'raise ValueError(f"cannot explain {score}")' in step.traceback
    assert record.outputs["model"] == {"w": [1.0]}  # what succeeded is still there
    assert "explode" not in record.outputs


def test_ctrl_c_in_a_step_leaves_a_failed_record() -> None:
    store = mk.MemoryStorage()
    interrupt = mk.step(lambda prepare: (_ for _ in ()).throw(KeyboardInterrupt()), name="interrupt")
    pipe = mk.Pipeline([prepare, interrupt, fit], name="ctrl-c")
    with pytest.raises(KeyboardInterrupt):
        pipe.run(inputs={"raw": [1]}, storage=store, progress=False)
    (record,) = pipe.runs(store)
    assert record.status == "failed"
    assert record.error == "The run was interrupted (KeyboardInterrupt: )."
    assert {s.name: s.status for s in record.steps} == {
        "prepare": "succeeded",
        "interrupt": "skipped",
        "fit": "skipped",
    }


def test_ctrl_c_while_the_driver_waits_on_threads_leaves_a_failed_record() -> None:
    store = mk.MemoryStorage()

    def press_ctrl_c(prepare: list) -> int:
        _thread.interrupt_main()  # what a terminal's Ctrl-C does to the main thread
        time.sleep(0.5)
        return 1

    pipe = mk.Pipeline([prepare, mk.step(press_ctrl_c)], name="ctrl-c-threads")
    with pytest.raises(KeyboardInterrupt):
        pipe.run(inputs={"raw": [1]}, storage=store, runner=mk.ThreadRunner(2), progress=False)
    (record,) = pipe.runs(store)
    assert record.status == "failed"
    assert "interrupted" in (record.error or "")


def test_run_argument_errors() -> None:
    store = mk.MemoryStorage()
    with pytest.raises(mk.ConfigError, match="runner= must be a Runner"):
        PIPE.run(inputs={"raw": []}, storage=store, runner="dask")  # type: ignore[arg-type]
    with pytest.raises(mk.ConfigError, match="Tag 'a' must be a string"):
        PIPE.run(inputs={"raw": []}, storage=store, tags={"a": 1})  # type: ignore[dict-item]
    with pytest.raises(mk.ConfigError, match="tags= must be a dict of strings"):
        PIPE.run(inputs={"raw": []}, storage=store, tags=["a"])  # type: ignore[arg-type]
    with pytest.raises(mk.ConfigError, match="storage= must be a Storage"):
        PIPE.run(inputs={"raw": []}, storage=42)  # type: ignore[arg-type]
    assert store.list() == []


def test_non_json_params_are_recorded_as_repr() -> None:
    import numpy as np

    class Opaque:
        def __repr__(self) -> str:
            return "Opaque()"

    @mk.step
    def use(p: object = None, q: int = 0) -> int:
        return 1

    run = mk.Pipeline([use]).run(
        params={"p": Opaque(), "q": np.int64(3)}, storage=mk.MemoryStorage(), progress=False
    )
    assert dict(run.params) == {"p": "Opaque()", "q": 3}


def test_run_links_for_lineage() -> None:
    run = PIPE.run(inputs={"raw": [1]}, storage=mk.MemoryStorage(), progress=False)
    assert run.link == RunLink(id=run.id, pipeline="train")
    assert as_run_link(run) == run.link
    assert str(run.link) == f"train/{run.id}"


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("", 1.0), mk.InvalidNameError, "Invalid metric name ''"),
        (("val/loss", 1.0), mk.InvalidNameError, "Invalid metric name 'val/loss'"),
        (("m", "high"), mk.ConfigError, r"Metric 'm' must be a number, got str \('high'\)"),
        (("m", True), mk.ConfigError, "must be a number"),
        (("m", 1.0, -1), mk.ConfigError, "The step of metric 'm' must be a non-negative integer"),
    ],
)
def test_log_metric_rejects_bad_values(
    args: tuple[object, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        mk.log_metric(*args)  # type: ignore[arg-type]


def test_log_metric_outside_a_step_is_ignored_and_nan_is_kept() -> None:
    assert mk.log_metric("free", 1.0) is None

    @mk.step
    def nan_metric() -> int:
        mk.log_metric("nan", float("nan"))
        return 1

    store = mk.MemoryStorage()
    pipe = mk.Pipeline([nan_metric], name="nan")
    run = pipe.run(storage=store, progress=False)
    import math

    assert math.isnan(run.metrics["nan"])
    assert math.isnan(pipe.runs(store)[0].metrics["nan"])


def test_the_default_storage_is_the_environment_s(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_KIT_STORAGE", str(tmp_path))
    run = PIPE.run(inputs={"raw": [1]}, progress=False)
    assert PIPE.runs()[0].id == run.id
    assert (tmp_path / "pipelines" / "train" / "runs").is_dir()


def test_the_persisted_record_holds_no_live_state() -> None:
    """What pipe.run hands back beside the record (values, storage) is not attached to the record."""
    store = mk.MemoryStorage()
    run = PIPE.run(inputs={"raw": [1, 2]}, storage=store, progress=False)
    assert RunRecord.__private_attributes__ == {}
    entries = store.read_log("pipelines/train/runs", RunRecord)
    assert [e.record for e in entries if e.record.status != "running"] == [run.record]
    assert run.outputs["model"] == {"w": [1.0, 2.0]}


def test_reading_outputs_of_a_listed_run_leaves_the_cached_record_alone() -> None:
    store = mk.MemoryStorage()
    run = PIPE.run(inputs={"raw": [1, 2]}, storage=store, progress=False)
    first, second = PIPE.runs(store)[0], PIPE.runs(store)[0]
    before = dict(first.record.__dict__)
    assert first.outputs["score"] == 3.0  # loaded from its blob
    assert first.record.__dict__ == before and second.record == run.record == first
    assert first == run and hash(first) == hash(run)


def test_the_result_reads_every_record_field_through() -> None:
    run = PIPE.run(inputs={"raw": [1]}, storage=mk.MemoryStorage(), progress=False)
    for field in RunRecord.model_fields:
        assert getattr(run, field) == getattr(run.record, field)
    assert run.link == run.record.link and run.step("fit") == run.record.step("fit")
    assert repr(run).startswith("RunResult(id=") and "steps=2" in repr(run)
    with pytest.raises(AttributeError):
        run.nonexistent
