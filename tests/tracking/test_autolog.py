"""``mk.autolog()``: scikit-learn fits inside a tracked run log params, training score and the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlops_kit as mk

ROOT = Path(__file__).resolve().parents[2]
X, Y = load_iris(return_X_y=True)


@pytest.mark.usefixtures("autologging")
def test_a_fit_inside_a_run_logs_params_training_score_and_model(any_storage: mk.Storage) -> None:
    model = LogisticRegression(C=0.3, max_iter=500)
    with mk.start_run("iris", storage=any_storage):
        model.fit(X, Y)
    run = mk.runs(any_storage, "iris")[0]
    params = model.get_params()
    assert {k: run.params[k] for k in params} == {
        k: v if v is None or isinstance(v, str | bool | int | float) else repr(v) for k, v in params.items()
    }
    assert run.metrics["training_score"] == model.score(X, Y)  # scikit-learn's own accuracy, exactly
    assert dict(run.tags) == {
        "estimator_name": "LogisticRegression",
        "estimator_class": "sklearn.linear_model._logistic.LogisticRegression",
    }
    loaded = cloudpickle.loads(run.artifact("model.pkl"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.usefixtures("autologging")
def test_only_the_outermost_fit_is_logged() -> None:
    store = mk.MemoryStorage()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        {"logisticregression__C": [0.1, 1.0]},
        cv=3,
    )
    with mk.start_run("search", storage=store) as run:
        search.fit(X, Y)
    stored = mk.runs(store, "search")[0]
    assert stored.tags["estimator_name"] == "GridSearchCV"
    assert stored.metrics["training_score"] == search.score(X, Y)
    assert "estimator" in stored.params and "param_grid" in stored.params  # repr'd, not scalars
    batches = [e.record for e in store.read_log(f"tracking/{run.id}/events", _events())]
    # the inner fits (3 folds x 2 candidates, the refit, and their steps) logged nothing
    assert sum(bool(b.params) for b in batches) == 1
    assert [p.name for b in batches for p in b.metrics] == ["training_score"]
    assert [a.name for b in batches for a in b.artifacts] == ["model.pkl"]


@pytest.mark.usefixtures("autologging")
def test_without_y_there_is_no_training_score_and_fits_outside_runs_are_left_alone() -> None:
    store = mk.MemoryStorage()
    KMeans(n_clusters=2, n_init=2, random_state=0).fit(X)  # no run: nothing logged
    assert store.list("") == []
    with mk.start_run("clusters", storage=store):
        KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
    stored = mk.runs(store, "clusters")[0]
    assert stored.params["n_clusters"] == 3 and "training_score" not in stored.metrics


def test_autolog_is_off_by_default_and_can_be_switched_off() -> None:
    code = (
        "import mlops_kit as mk\n"
        "from sklearn.linear_model import LogisticRegression as L\n"
        "original = L.fit\n"
        "mk.autolog(); on = L.fit is not original\n"
        "mk.autolog(); twice = L.fit.__wrapped__ is original\n"
        "mk.autolog(False); print(on, twice, L.fit is original)\n"
        "with mk.start_run('x', storage=mk.MemoryStorage()) as run:\n"
        "    L().fit([[0.0], [1.0]], [0, 1])\n"
        "print(run.record.params == {}, run.record.artifacts == {})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.split() == ["True", "True", "True", "True", "True"]
    with pytest.raises(mk.ConfigError, match="takes True or False"):
        mk.autolog("yes")  # type: ignore[arg-type]


def _events() -> type:
    from mlops_kit.tracking._records import RunEvents

    return RunEvents
