"""Test your own service code against mlops_kit's fakes: no disk, no network, no sleep.

The first half of this file is "your" code: three functions a team might run in a
batch job or a web service. The second half tests them with the fixtures of the
opt-in pytest plugin (``mk_storage``, ``mk_registry``, ``mk_deployer``, ``mk_clock``),
with ``FakeClock`` for time and ``FaultyStorage`` for crashes.

Run it directly (it runs its own tests with pytest, which the ``dev`` extra installs):
``python examples/testing_with_fakes.py``.
In a project, put ``pytest_plugins = ["mlops_kit.testing.pytest_plugin"]`` in the
top-level ``conftest.py`` and keep the service code in its own module.
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from mlops_kit.core.clock import Clock
from mlops_kit.testing import FakeClock, FaultyStorage

pytest_plugins = ["mlops_kit.testing.pytest_plugin"]

FEATURES = ["age", "spend"]


# -- your service code -----------------------------------------------------------------


def score_batch(
    registry: mk.Registry, batch: pd.DataFrame, storage: mk.Storage, clock: Clock | None = None
) -> mk.DatasetVersion:
    """Score customers with the production churn model; keep the scores as a dataset version."""
    production = registry.get("churn@production")
    model = registry.load(production)
    scored = batch.assign(churn_risk=model.predict_proba(batch[FEATURES])[:, 1])
    return mk.Dataset("churn-scores", storage=storage, clock=clock).save(
        scored, tags={"model": production.ref}, description=f"scored with {production.ref}"
    )


def promote_if_better(
    registry: mk.Registry,
    deployer: mk.LocalDeployer,
    candidate: int,
    *,
    metric: str = "auc",
    min_gain: float = 0.01,
) -> bool:
    """Put ``churn:<candidate>`` in production (alias and endpoint) if it wins by ``min_gain``."""
    current = registry.get("churn@production")
    challenger = registry.get(f"churn:{candidate}")
    if challenger.metrics[metric] < current.metrics[metric] + min_gain:
        return False
    # Compare-and-set: if someone moved the alias since we read it, ConflictError, nothing deployed.
    registry.set_alias("churn", "production", challenger.version, expected=current.version)
    deployer.deploy(challenger.ref, endpoint="churn")  # health-checked before the switch
    return True


def needs_retraining(
    registry: mk.Registry, clock: Clock, max_age: dt.timedelta = dt.timedelta(days=30)
) -> bool:
    """True when the production model is older than ``max_age``."""
    return clock.now() - registry.get("churn@production").created_at > max_age


# -- the tests ---------------------------------------------------------------------------


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "spend": rng.gamma(2.0, 30.0, n)})
    return frame.assign(churned=(frame["spend"] + rng.normal(0, 15, n) < 45).astype(int))


@pytest.fixture
def batch(mk_registry: mk.Registry, mk_deployer: mk.LocalDeployer) -> pd.DataFrame:
    """churn:1 (auc 0.80) in production and deployed; churn:2 (auc 0.86) waiting."""
    train = customers(300, seed=0)
    X, y = train[FEATURES], train["churned"]
    for C, auc in ((0.001, 0.80), (1.0, 0.86)):
        mk_registry.register(
            "churn", LogisticRegression(C=C).fit(X, y), metrics={"auc": auc}, input_example=X.head(5)
        )
    mk_registry.set_alias("churn", "production", 1)
    mk_deployer.deploy("churn@production", endpoint="churn")
    return customers(50, seed=1)


def test_scores_are_kept_with_the_model_that_made_them(
    mk_registry: mk.Registry, mk_storage: mk.Storage, mk_clock: FakeClock, batch: pd.DataFrame
) -> None:
    saved = score_batch(mk_registry, batch, mk_storage, mk_clock)
    assert (saved.version, saved.tags["model"], saved.n_rows) == (1, "churn:1", 50)
    assert saved.created_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the fake clock's time
    scores = mk.Dataset("churn-scores", storage=mk_storage).load()
    assert scores["churn_risk"].between(0, 1).all()


def test_a_crash_at_any_storage_operation_leaves_no_partial_scores(
    mk_registry: mk.Registry, mk_storage: mk.Storage, batch: pd.DataFrame
) -> None:
    results = mk.Dataset("churn-scores", storage=mk_storage)
    operation = 1
    while True:  # fail the 1st, then the 2nd, ... storage operation, until a run gets through
        try:
            score_batch(mk_registry, batch, FaultyStorage(mk_storage, fail_at=operation))
        except mk.StorageError:
            for version in results.versions():  # whatever is visible is complete
                assert len(results.load(version=version.version)) == len(batch)
            operation += 1
            continue
        break
    assert operation > 3
    assert [v.version for v in results.versions()] == [1]  # retries never duplicate a version


def test_a_better_model_is_promoted_and_served(
    mk_registry: mk.Registry, mk_deployer: mk.LocalDeployer, batch: pd.DataFrame
) -> None:
    assert promote_if_better(mk_registry, mk_deployer, 2)
    assert mk_registry.aliases("churn") == {"production": 2}
    with mk_deployer.endpoint("churn") as endpoint:
        endpoint.predict(batch[FEATURES])
        assert set(endpoint.predictions()["version"]) == {"churn:2"}  # the prediction log


def test_a_small_gain_changes_nothing(
    mk_registry: mk.Registry, mk_deployer: mk.LocalDeployer, batch: pd.DataFrame
) -> None:
    assert not promote_if_better(mk_registry, mk_deployer, 2, min_gain=0.1)
    assert mk_registry.aliases("churn") == {"production": 1}
    assert [event.kind for event in mk_deployer.history("churn")] == ["deploy"]


def test_a_concurrent_alias_move_wins(
    mk_registry: mk.Registry,
    mk_deployer: mk.LocalDeployer,
    batch: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get = mk_registry.get

    def get_then_someone_moves_the_alias(ref: str) -> mk.ModelVersion:
        found = get(ref)
        if ref == "churn:2":  # between our read of production and our alias move
            mk_registry.set_alias("churn", "production", 2)
        return found

    monkeypatch.setattr(mk_registry, "get", get_then_someone_moves_the_alias)
    with pytest.raises(mk.ConflictError):
        promote_if_better(mk_registry, mk_deployer, 2)
    assert mk_deployer.status("churn").primary == "churn:1"  # nothing deployed


def test_retraining_is_due_after_thirty_days(
    mk_registry: mk.Registry, mk_clock: FakeClock, batch: pd.DataFrame
) -> None:
    assert not needs_retraining(mk_registry, mk_clock)
    mk_clock.advance(dt.timedelta(days=31))  # instantly
    assert needs_retraining(mk_registry, mk_clock)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v", "-p", "no:cacheprovider"]))
