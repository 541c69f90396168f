"""Bad input to tracked runs: clear errors from our hierarchy, and nothing half-written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mlops_kit as mk


@pytest.mark.parametrize("name", ["", "my exp", "../etc", "a/b", "x" * 200, 3, None])
def test_an_invalid_experiment_name_is_refused_before_storage(name: object) -> None:
    store = mk.MemoryStorage()
    with pytest.raises(mk.InvalidNameError, match="experiment name"):
        mk.start_run(name, storage=store)  # type: ignore[arg-type]
    assert store.list("") == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"params": {"C": [1, 2]}}, mk.ConfigError, "Param 'C' must be a str, int, float, bool or None"),
        ({"params": {"bad key": 1}}, mk.InvalidNameError, "param name"),
        ({"tags": {"team": 3}}, mk.ConfigError, "Tag 'team' must be a string"),
        ({"params": "C=1"}, mk.ConfigError, "params= must be a dict"),
        ({"heartbeat": 0}, mk.ConfigError, "heartbeat= must be a positive number"),
        ({"heartbeat": float("nan")}, mk.ConfigError, "heartbeat= must be a positive number"),
        ({"storage": 42}, mk.ConfigError, "storage= must be a Storage"),
    ],
)
def test_bad_start_arguments_are_refused_before_storage(kwargs: dict, error: type, message: str) -> None:
    store = mk.MemoryStorage()
    with pytest.raises(error, match=message):
        mk.start_run("exp", **{"storage": store, **kwargs})
    assert store.list("") == []


@pytest.mark.parametrize(
    ("value", "step", "message"),
    [
        ("0.9", None, "Metric 'auc' must be a number, got str"),
        (None, None, "Metric 'auc' must be a number, got NoneType"),
        (True, None, "Metric 'auc' must be a number, got bool"),
        ([0.9], None, "Metric 'auc' must be a number, got list"),
        (0.9, -1, "The step of metric 'auc' must be a non-negative integer"),
        (0.9, 1.5, "The step of metric 'auc' must be a non-negative integer"),
    ],
)
def test_a_non_numeric_metric_is_refused_and_nothing_is_recorded(
    value: object, step: object, message: str
) -> None:
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        with pytest.raises(mk.ConfigError, match=message):
            run.log_metric("auc", value, step=step)  # type: ignore[arg-type]
        with pytest.raises(mk.ConfigError, match=message):
            mk.log_metric("auc", value, step=step)  # type: ignore[arg-type]
    stored = mk.runs(store, "exp")[0]
    assert dict(stored.metrics) == {} and stored.metric_history() == [] and stored.status == "finished"


def test_numpy_numbers_are_numbers() -> None:
    with mk.start_run("exp", storage=mk.MemoryStorage()) as run:
        run.log_metric("auc", np.float32(0.5), step=np.int64(2))
    assert run.metrics == {"auc": 0.5}


def test_an_invalid_metric_name_is_refused() -> None:
    with mk.start_run("exp", storage=mk.MemoryStorage()) as run, pytest.raises(mk.InvalidNameError):
        run.log_metric("val loss", 0.1)


def test_a_missing_file_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        with pytest.raises(mk.NotFoundError, match=r"there is no file at that path\. Pass an existing file"):
            run.log_artifact(tmp_path / "missing.csv")
        with pytest.raises(mk.NotFoundError, match="there is a folder at that path"):
            run.log_artifact(tmp_path)
        assert store.list("blobs/") == [] and store.list(f"tracking/{run.id}/") == []
    assert dict(mk.runs(store, "exp")[0].artifacts) == {}


def test_artifact_names_and_kinds_are_checked_before_writing(tmp_path: Path) -> None:
    (tmp_path / "my file.txt").write_text("x")
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        with pytest.raises(mk.ConfigError, match=r"log_artifact\(bytes\) needs name="):
            run.log_artifact(b"data")
        with pytest.raises(mk.InvalidNameError, match="artifact name"):
            run.log_artifact(tmp_path / "my file.txt")  # the default name breaks the rule
        with pytest.raises(mk.InvalidNameError, match="artifact name"):
            run.log_artifact(b"data", name="../escape")
        with pytest.raises(mk.ConfigError, match="expects a file path or bytes, got dict"):
            run.log_artifact({"a": 1})
    assert store.list("blobs/") == []


def test_bad_params_and_tags_logged_later_are_refused_whole() -> None:
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        with pytest.raises(mk.ConfigError):
            run.log_params({"good": 1, "bad": object()})  # neither value is recorded
        with pytest.raises(mk.ConfigError, match="Tag 'stage' must be a string"):
            run.set_tag("stage", 2)  # type: ignore[arg-type]
    stored = mk.runs(store, "exp")[0]
    assert dict(stored.params) == {} and dict(stored.tags) == {}
