"""The report: decisions, corrections, and its text, dict, JSON and frame forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import mlops_kit as mk


def test_report_fields_and_reasons(make_customers, clock):
    ref = make_customers(5000, seed=1)
    cur = make_customers(4000, seed=2, age_shift=0.6)
    rep = mk.Monitor(ref, target="churned", prediction="score", clock=clock).check(cur)
    assert rep.created_at == clock.now()
    assert rep.n_reference == 5000
    assert rep.n_current == 4000
    assert rep.columns["score"].role == "prediction"
    assert rep.columns["churned"].role == "target"
    assert rep.drifted_columns == ["age", "score", "churned"]
    assert rep.drift_share == pytest.approx(1 / 5)  # features only: age, income, plan, member, visits
    assert not rep.dataset_drift
    assert rep.reasons == ("prediction drift", "target drift")
    assert rep.drifted
    age = rep.columns["age"]
    assert (age.method, age.threshold, age.effect_measure) == ("wasserstein", 0.1, "wasserstein")
    assert age.statistic == age.effect_size == pytest.approx(0.6, abs=0.05)
    assert age.reference.mean == pytest.approx(ref.age.mean())
    assert age.current.count == 4000
    assert age.reference.median == pytest.approx(ref.age.median(), abs=0.1)
    plan = rep.columns["plan"]
    assert plan.effect_measure == "cohen_w"
    assert plan.reference.top == ref.plan.value_counts().to_dict()
    assert plan.reference.n_categories == 3


def test_dataset_drift_follows_drift_share(make_customers):
    ref = make_customers(3000, seed=1)
    cur = make_customers(3000, seed=2, age_shift=1.0, plan_p=(0.1, 0.1, 0.8))
    rep = mk.Monitor(ref, drift_share=0.5).check(cur)
    assert rep.drifted_columns == ["age", "plan", "churned", "score"]
    assert rep.drift_share == pytest.approx(4 / 7)
    assert rep.dataset_drift
    assert rep.reasons == ("dataset drift",)
    assert not mk.Monitor(ref, drift_share=0.6).check(cur).dataset_drift


def test_every_column_carries_an_effect_size_next_to_its_p_value(make_customers):
    ref, cur = make_customers(800, seed=1), make_customers(600, seed=2)
    rep = mk.Monitor(ref).check(cur)
    for col in rep.columns.values():
        assert col.p_value is not None, col.column
        assert col.effect_size is not None, col.column
    assert {c.method for c in rep.columns.values()} == {"ks", "chisquare", "ztest"}


@pytest.mark.parametrize("correction", ["bonferroni", "fdr_bh"])
def test_corrections_adjust_p_values_and_decide_on_them(make_customers, correction):
    ref, cur = make_customers(900, seed=1), make_customers(700, seed=2, age_shift=0.15)
    rep = mk.Monitor(ref, correction=correction).check(cur)
    # Every test of the check is corrected together: distributions, null rates where there are
    # nulls, unseen categories where the reference kept every category.
    tests = [
        (name, kind, p)
        for name, c in rep.columns.items()
        for kind, p in (("distribution", c.p_value), ("nulls", c.null_p_value), ("unseen", c.unseen_p_value))
        if p is not None
    ]
    assert len(tests) == len(rep.columns) + 1 + 2  # income has nulls; plan and member are categorical
    # Weighted: within a column the distribution test holds 90% of its alpha, the others
    # share the rest; a test's weight is its share times the column's number of tests.
    per_column = {name: sum(1 for n, _, _ in tests if n == name) for name in rep.columns}

    def weight(name: str, kind: str) -> float:
        k = per_column[name]
        share = 1.0 if k == 1 else 0.9 if kind == "distribution" else 0.1 / (k - 1)
        return share * k

    raw = [min(p / weight(name, kind), 1.0) for name, kind, p in tests]
    assert sum(weight(name, kind) for name, kind, _ in tests) == pytest.approx(len(tests))
    expected = dict(
        zip(
            [(name, kind) for name, kind, _ in tests],
            np.minimum(np.array(raw) * len(raw), 1)
            if correction == "bonferroni"
            else stats.false_discovery_control(raw, method="bh"),
        )
    )
    for name, col in rep.columns.items():
        assert col.p_adjusted == pytest.approx(expected[name, "distribution"])
        assert col.distribution_drifted == (
            col.p_adjusted < col.threshold and col.effect_size >= col.min_effect
        )
        assert col.score == col.p_adjusted
    income = rep.columns["income"]
    assert income.null_drifted == (expected["income", "nulls"] < 0.05 and income.null_effect_size >= 0.1)


def test_thresholds_per_method_and_per_column(make_customers):
    ref, cur = make_customers(5000, seed=1), make_customers(5000, seed=2, age_shift=0.15)
    assert mk.Monitor(ref).check(cur).columns["age"].drifted
    loose = mk.Monitor(ref, threshold={"wasserstein": 0.2}).check(cur)
    assert loose.columns["age"].threshold == 0.2
    assert not loose.columns["age"].drifted
    assert loose.columns["plan"].threshold == 0.05  # chi-square's, with a minimum effect
    column = mk.Monitor(ref, threshold={"age": 0.3, "wasserstein": 0.01}).check(cur)
    assert column.columns["age"].threshold == 0.3
    assert column.columns["income"].threshold == 0.01
    psi = mk.Monitor(ref, method="psi", threshold=0.5).check(cur)
    assert {c.threshold for c in psi.columns.values()} == {0.5}


def test_text_dict_json_and_frame(make_customers):
    ref, cur = make_customers(3000, seed=1), make_customers(3000, seed=2, age_shift=0.5)
    rep = mk.Monitor(ref, target="churned", prediction="score").check(cur.assign(id=1))
    text = rep.summary()
    assert text.splitlines()[0].startswith("DRIFT: 1 of 5 feature columns drifted (20% < 50%)")
    assert "age" in text.splitlines()[2]
    assert "performance (classification" in text
    data = rep.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["columns"]["age"]["method"] == "wasserstein"
    assert mk.DriftReport.from_json(rep.to_json(indent=2)) == rep
    frame = rep.to_frame()
    assert list(frame.index) == list(rep.columns)
    assert frame.loc["age", "drifted"]
    assert {"statistic", "p_value", "effect_size", "threshold", "null_rate_current"} <= set(frame.columns)


def test_infinite_scores_survive_json():
    ref = pd.DataFrame({"x": np.full(2000, 3.0)})
    rep = mk.Monitor(ref).check(pd.DataFrame({"x": np.full(2000, 4.0)}))
    assert rep.columns["x"].statistic == math.inf
    assert rep.columns["x"].drifted
    text = rep.to_json()
    assert "Infinity" in text
    assert json.loads(text)
    assert mk.DriftReport.from_json(text).columns["x"].statistic == math.inf


def test_from_json_refuses_other_documents():
    with pytest.raises(mk.SchemaError, match="Not a DriftReport"):
        mk.DriftReport.from_json('{"hello": 1}')


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ref=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=2, max_size=60),
    cur=st.lists(
        st.one_of(st.none(), st.floats(-1e12, 1e12), st.sampled_from([math.inf, -math.inf, math.nan])),
        min_size=1,
        max_size=60,
    ),
    cats=st.lists(st.sampled_from(["a", "b", "c", None, "<b>&"]), min_size=1, max_size=60),
)
def test_any_report_round_trips_through_json(ref, cur, cats):
    if all(v is None for v in ref):
        ref[0] = 0.0
    reference = pd.DataFrame({"x": pd.Series(ref, dtype="float64"), "c": (["a", "b"] * 30)[: len(ref)]})
    current = pd.DataFrame(
        {"x": pd.Series(cur, dtype="float64"), "c": pd.Series((cats * 60)[: len(cur)], dtype=object)}
    )
    rep = mk.Monitor(reference).check(current)
    assert mk.DriftReport.from_json(rep.to_json()) == rep
    for col in rep.columns.values():
        assert col.drifted or col.statistic is not None  # never a silent "no drift" on an undefined score
