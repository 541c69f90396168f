"""One table of model metrics and their direction, shared by the gate and the monitor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import get_scorer

import mlops_kit as mk
from mlops_kit.automation import METRICS, Gate
from mlops_kit.core import metrics
from mlops_kit.monitor import _performance

# scikit-learn's scorer for each metric: its sign says whether greater is better.
SCORERS = {
    "auc": "roc_auc",
    "roc_auc": "roc_auc",
    "accuracy": "accuracy",
    "f1": "f1",
    "precision": "precision",
    "recall": "recall",
    "log_loss": "neg_log_loss",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}


def test_the_gate_and_the_monitor_share_one_table() -> None:
    assert METRICS is metrics.METRICS
    # the monitor's decay direction is read from the same table
    assert {n for n, higher in metrics.METRICS.items() if higher} == _performance.HIGHER_IS_BETTER


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_directions_agree_with_scikit_learn(name: str) -> None:
    scorer = get_scorer(SCORERS[name])
    assert metrics.greater_is_better(name) is (scorer._sign > 0 and not SCORERS[name].startswith("neg_"))
    assert Gate(metric=name).greater_is_better is metrics.greater_is_better(name)


def test_every_metric_the_monitor_reports_is_in_the_table() -> None:
    rng = np.random.default_rng(0)
    frames = {}
    for task, target in (("classification", rng.integers(0, 2, 400)), ("regression", rng.normal(size=400))):
        pred = target if task == "regression" else rng.random(400)
        frames[task] = pd.DataFrame({"x": rng.normal(size=400), "y": target, "p": pred})
    for task, frame in frames.items():
        monitor = mk.Monitor(frame, target="y", prediction="p", task=task)
        performance = monitor.check(frame).performance
        assert performance is not None and performance.metrics
        assert set(performance.metrics) <= set(metrics.METRICS), task


def test_the_table_is_read_only_and_unknown_names_are_unknown() -> None:
    with pytest.raises(TypeError):
        metrics.METRICS["lift"] = True  # type: ignore[index]
    assert metrics.greater_is_better("lift") is None
