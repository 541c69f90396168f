"""The gate: a tie keeps the champion unless ``on_tie`` says otherwise; scores match scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import mlops_kit as mk
from mlops_kit.automation import Gate
from tests.automation.test_loop import World, fit, sample


def test_a_tie_keeps_the_champion_by_default() -> None:
    result = Gate(metric="auc", min_delta=0.0).compare(1.0, 1.0, mode="holdout")
    assert not result.passed
    assert "ties champion 1.0000" in result.reason and "the champion stays" in result.reason
    assert "beats" not in result.reason


def test_on_tie_challenger_lets_a_tie_pass() -> None:
    result = Gate(metric="rmse", on_tie="challenger").compare(0.25, 0.25, mode="holdout")
    assert result.passed
    assert "ties champion 0.2500" in result.reason and "on_tie='challenger'" in result.reason


@pytest.mark.parametrize(
    ("champion", "challenger", "min_delta", "passed"),
    [
        (0.80, 0.81, 0.0, True),  # better
        (0.80, 0.79, 0.0, False),  # worse
        (0.80, 0.83, 0.02, True),  # better by more than required
        (0.80, 0.81, 0.02, False),  # better, not by enough
        (0.80, 0.80, 0.02, False),  # a tie never clears a positive min_delta
        (0.80, 0.795, -0.01, True),  # a negative min_delta accepts a slightly worse one
    ],
)
def test_the_required_improvement(champion: float, challenger: float, min_delta: float, passed: bool) -> None:
    for on_tie in ("champion", "challenger"):
        gate = Gate(metric="auc", min_delta=min_delta, on_tie=on_tie)  # type: ignore[arg-type]
        assert gate.compare(champion, challenger, mode="holdout").passed is passed


def test_a_lower_is_better_improvement_is_reported_as_such() -> None:
    result = Gate(metric="log_loss").compare(0.5, 0.4, mode="holdout")
    assert result.passed and result.delta == pytest.approx(0.1)
    assert "beats champion 0.5000 by 0.1 (required 0; lower is better)" in result.reason


def test_bad_on_tie() -> None:
    with pytest.raises(mk.ConfigError, match="on_tie must be 'champion' or 'challenger', got 'coin'"):
        Gate(on_tie="coin")  # type: ignore[arg-type]


def test_gate_auc_matches_scikit_learn() -> None:
    data = sample(600, seed=21)
    model = fit(data)
    expected = roc_auc_score(data["y"], model.predict_proba(data[["x1", "x2"]])[:, 1])
    assert Gate(metric="auc", target="y").score(model, data, ["x1", "x2"]) == pytest.approx(
        expected, abs=1e-12
    )


def test_a_tie_in_the_loop_registers_nothing() -> None:
    """On rows both models rank perfectly, both score auc 1.0: the champion keeps serving."""
    half = np.repeat([0, 1], 100)
    rows = pd.DataFrame(
        {"x1": np.where(half == 1, 2.0, -2.0) + np.linspace(0, 0.1, 200), "x2": 0.0, "y": half}
    )
    world = World(retrain_on="always")
    try:
        decision = world.loop.step(rows)
        assert decision.gate is not None
        assert decision.gate.champion == decision.gate.challenger == 1.0
        assert not decision.gate.passed and "ties" in decision.gate.reason
        assert decision.gate.reason.startswith(
            "on 40 held-out rows of this batch, "
        )  # where both were scored
        assert (decision.action, decision.candidate_version) == ("none", None)
        assert [v.version for v in world.registry.versions("churn")] == [1]
    finally:
        world.close()
