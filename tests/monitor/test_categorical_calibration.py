"""Calibration of the categorical, null-rate and unseen checks, and of one effect-size scale.

False-alarm rates are measured over fixed seeds on samples of one distribution and must
stay within 1.5x alpha (alpha = 0.05); scipy's exact tests run on the same samples.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mlops_kit as mk

ALPHA = 0.05
TOLERANCE = 1.5 * ALPHA


def labels(k: int) -> np.ndarray:
    return np.array([f"c{i:05d}" for i in range(k)])


def draw(rng: np.random.Generator, names: np.ndarray, p: np.ndarray, n: int) -> pd.DataFrame:
    return pd.DataFrame({"c": names[rng.choice(len(names), n, p=p)]})


# -- item 4: high-cardinality columns -------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("k", "n"), [(50, 1001), (100, 2000), (200, 2000), (500, 5000), (1000, 20_000)])
def test_high_cardinality_columns_are_quiet_on_the_same_distribution(k, n):
    names, p = labels(k), np.full(k, 1 / k)
    seeds = 200
    ours = exact = 0
    effects = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = draw(rng, names, p, n), draw(rng, names, p, n)
        col = mk.Monitor(ref).check(cur).columns["c"]
        table = pd.crosstab(
            np.r_[np.zeros(n), np.ones(n)], np.r_[ref.c.to_numpy(), cur.c.to_numpy()]
        ).to_numpy()
        exact += stats.chi2_contingency(table, correction=False).pvalue < ALPHA
        # Categories the reference never had are the unseen check's: the test compares the others,
        # except where the table is too sparse for an effect size: there every category counts.
        sparse = "too sparse" in col.note
        expected = stats.chi2_contingency(table if sparse else table[:, table[0] > 0], correction=False)
        assert col.method == "chisquare"
        assert col.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
        ours += col.drifted
        effects.append(col.effect_size)
    # Jensen-Shannon's no-drift mean here is sqrt((k - 1) / 4n) = 0.11-0.16: it flagged 70-100%.
    assert ours <= TOLERANCE * seeds, (ours, exact)
    assert exact <= TOLERANCE * seeds  # the reference test itself is calibrated in these cells
    # The bias is removed from the effect size: without it, w would read sqrt(2 (k - 1) / n),
    # 0.31-0.45 here; what is left is noise, below the 0.1 minimum on average.
    assert np.mean(effects) < 0.07


def test_a_real_change_in_a_high_cardinality_column_is_flagged():
    k, n = 500, 5000
    names = labels(k)
    rng = np.random.default_rng(7)
    ref = draw(rng, names, np.full(k, 1 / k), n)
    moved = np.r_[np.ones(k // 2), np.full(k // 2, 2.0)]  # half the categories double their share
    col = mk.Monitor(ref).check(draw(rng, names, moved / moved.sum(), n)).columns["c"]
    assert col.drifted and col.reasons == ("distribution",)
    assert col.effect_size == pytest.approx(0.34, abs=0.05)  # Cohen's w of the change itself


# -- item 11: one effect-size scale ----------------------------------------------------


def test_a_category_moving_from_20_to_30_percent_is_flagged_on_a_large_sample():
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"c": np.where(rng.random(100_000) < 0.2, "b", "a")})
    cur = pd.DataFrame({"c": np.where(rng.random(100_000) < 0.3, "b", "a")})
    col = mk.Monitor(ref).check(cur).columns["c"]
    h = 2 * math.asin(math.sqrt(0.3)) - 2 * math.asin(math.sqrt(0.2))  # Cohen's h: 0.232
    assert col.effect_measure == "cohen_w"
    assert col.effect_size == pytest.approx(h, abs=0.01)
    assert col.drifted  # Jensen-Shannon >= 0.1 needed h of about 0.28: never flagged at any n
    same = mk.Monitor(ref).check(pd.DataFrame({"c": np.where(rng.random(100_000) < 0.21, "b", "a")}))
    assert not same.columns["c"].drifted  # significant, but below the minimum effect


@pytest.mark.parametrize(("shift", "drifted"), [(0.05, False), (0.2, True), (0.4, True)])
def test_a_numeric_shift_and_its_decile_categories_get_the_same_verdict(shift, drifted):
    rng = np.random.default_rng(12)
    ref, cur = rng.standard_normal(200_000), rng.standard_normal(200_000) + shift
    edges = np.quantile(ref, np.linspace(0.1, 0.9, 9))
    frame = lambda x: pd.DataFrame({"x": x, "decile": np.searchsorted(edges, x).astype(str)})  # noqa: E731
    rep = mk.Monitor(frame(ref)).check(frame(cur))
    x, decile = rep.columns["x"], rep.columns["decile"]
    assert (x.method, decile.method) == ("wasserstein", "chisquare")
    assert x.drifted is decile.drifted is drifted
    assert decile.effect_size == pytest.approx(x.effect_size, rel=0.25, abs=0.02)


def test_an_explicit_test_with_a_minimum_effect_ignores_a_tiny_shift_on_a_million_rows():
    rng = np.random.default_rng(13)
    ref = pd.DataFrame({"x": rng.standard_normal(1_000_000)})
    cur = pd.DataFrame({"x": rng.standard_normal(1_000_000) + 0.02})
    plain = mk.Monitor(ref, method="ks").check(cur).columns["x"]
    assert plain.p_value < 1e-6 and plain.drifted  # significant, and 0.02 std
    gated = mk.Monitor(ref, method="ks", min_effect=0.1).check(cur).columns["x"]
    assert gated.p_value == plain.p_value and gated.min_effect == 0.1
    assert not gated.drifted
    shifted = mk.Monitor(ref, method="ks", min_effect={"x": 0.1}).check(cur.assign(x=cur.x + 0.2))
    assert shifted.columns["x"].drifted


@pytest.mark.parametrize("bad", [-0.1, math.inf, "0.1", True, {"nope": 0.1}])
def test_a_bad_min_effect_is_refused(bad):
    with pytest.raises(mk.ConfigError, match=r"min_effect|minimum effect"):
        mk.Monitor(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), min_effect=bad)


# -- item 5: unseen categories ---------------------------------------------------------


def _zipf_ids(rng: np.random.Generator, n: int) -> pd.DataFrame:
    ranks = np.arange(1, 200_001)
    p = 1 / ranks**1.1
    return pd.DataFrame({"c": np.char.add("id", rng.choice(len(ranks), n, p=p / p.sum()).astype(str))})


@pytest.mark.slow
def test_a_long_tail_id_column_is_not_flagged_for_the_values_its_reference_missed():
    seeds, alarms, shares = 200, 0, []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = _zipf_ids(rng, 1000), _zipf_ids(rng, 1000)
        col = mk.Monitor(ref).check(cur).columns["c"]
        alarms += "unseen" in col.reasons
        shares.append(col.unseen_share)
    assert np.mean(shares) > 0.2  # a fifth of the values are new every time...
    assert alarms <= TOLERANCE * seeds  # ...as the reference's singletons predict


def _rare_levels(rng: np.random.Generator, n: int) -> pd.DataFrame:
    p = np.r_[np.full(6, 0.99 / 6), 0.005, 0.005]
    return draw(rng, labels(8), p, n)


@pytest.mark.slow
def test_rare_levels_missing_from_a_small_reference_are_not_drift():
    seeds, alarms, exact = 400, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = _rare_levels(rng, 100), _rare_levels(rng, 100)
        col = mk.Monitor(ref).check(cur).columns["c"]
        alarms += col.drifted
        exact += col.p_value < ALPHA
    assert alarms <= TOLERANCE * seeds, (alarms, exact)


@pytest.mark.slow
def test_the_unseen_check_joins_the_bonferroni_correction():
    seeds, alarms = 400, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = (
            _rare_levels(rng, 100).assign(
                a=rng.standard_normal(100), b=rng.standard_normal(100), d=rng.random(100) < 0.3
            )
            for _ in range(2)
        )
        alarms += bool(mk.Monitor(ref, correction="bonferroni").check(cur).drifted_columns)
    # Family-wise: some column flagged in at most alpha of the checks (4 columns, 6 tests).
    assert alarms <= TOLERANCE * seeds


def test_new_categories_beyond_the_prediction_are_flagged_and_reported():
    rng = np.random.default_rng(14)
    ref = draw(rng, labels(3), np.array([0.5, 0.3, 0.2]), 5000)
    cur = draw(rng, labels(3), np.array([0.5, 0.3, 0.2]), 2000)
    cur.loc[cur.index[:60], "c"] = "gold"  # 3%
    col = mk.Monitor(ref).check(cur).columns["c"]
    assert col.reasons == ("unseen",)  # chi-square compares the categories the reference knows
    assert col.unseen == {"gold": 60}
    assert col.unseen_expected == pytest.approx(1 / 5001)  # no singletons in the reference
    assert col.unseen_p_value < 1e-10
    assert col.p_adjusted == pytest.approx(min(col.p_value / 0.9, 1.0))  # the distribution keeps 90%


# -- item 6: a column with nulls --------------------------------------------------------


@pytest.mark.slow
def test_a_column_with_nulls_false_alarms_at_most_alpha():
    seeds, alarms, either_at_alpha = 400, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = (
            pd.DataFrame({"x": np.where(rng.random(500) < 0.05, np.nan, rng.standard_normal(500))})
            for _ in range(2)
        )
        col = mk.Monitor(ref).check(cur).columns["x"]
        assert col.method == "ks"
        alarms += col.drifted
        either_at_alpha += col.p_value < ALPHA or col.null_p_value < ALPHA
    # Each test at 5% flags the column about 9.5% of the time; sharing alpha keeps it at 5%.
    assert alarms <= TOLERANCE * seeds < either_at_alpha


# -- item 7: Anderson-Darling beyond scipy's floor ---------------------------------------


def test_anderson_darling_with_bonferroni_flags_60_shifted_columns():
    rng = np.random.default_rng(15)
    ref = pd.DataFrame({f"x{i}": rng.standard_normal(300) for i in range(60)})
    cur = pd.DataFrame({f"x{i}": rng.standard_normal(300) + 1.0 for i in range(60)})
    rep = mk.Monitor(ref, method="anderson", correction="bonferroni").check(cur)
    assert len(rep.drifted_columns) == 60  # KS flags all 60 too
    col = rep.columns["x0"]
    assert col.p_value < 1e-10 and "floor" in col.note
    quiet = mk.Monitor(ref, method="anderson", correction="bonferroni").check(
        pd.DataFrame({f"x{i}": rng.standard_normal(300) for i in range(60)})
    )
    assert len(quiet.drifted_columns) <= 1


@pytest.mark.slow
def test_anderson_darling_tail_p_value_agrees_with_scipy_permutations():
    from mlops_kit.monitor import ColumnPair
    from mlops_kit.monitor._evaluate import evaluate

    rng = np.random.default_rng(16)
    x, y = rng.standard_normal(60), rng.standard_normal(60) + 0.7  # scipy: "0.001" (floored)
    ref, cur = (mk.Profile.of(pd.DataFrame({"x": v})).columns["x"] for v in (x, y))
    pending = evaluate(
        ColumnPair("x", ref, cur, lambda: x, lambda: y),
        role="feature",
        method=mk.monitor.METHODS["anderson"],
        threshold=None,
        unseen_threshold=0.01,
    )
    permuted = stats.anderson_ksamp(
        [x, y], variant="midrank", method=stats.PermutationMethod(n_resamples=20_000, random_state=1)
    )
    assert pending.result.p_value < 0.001
    # About 13 of 20,000 permutations beat the statistic: a Monte Carlo error of about 30%.
    assert pending.result.p_value == pytest.approx(permuted.pvalue, rel=0.5)


# -- item 8: an explicit z-test meets a third value ------------------------------------


def test_an_explicit_ztest_reports_a_third_value_as_unseen():
    rng = np.random.default_rng(17)
    ref = pd.DataFrame({"m": np.where(rng.random(4000) < 0.3, "yes", "no")})
    cur = pd.DataFrame({"m": np.where(rng.random(2000) < 0.3, "yes", "no")})
    few, many = cur.copy(), cur.copy()
    few.loc[few.index[:5], "m"] = "maybe"
    many.loc[many.index[:60], "m"] = "maybe"
    mon = mk.Monitor(ref, method="ztest")
    col = mon.check(few).columns["m"]
    assert (col.method, col.drifted, col.unseen) == ("ztest", False, {"maybe": 5})
    counts = [[(ref.m == v).sum(), (few.m == v).sum()] for v in ("no", "yes")]
    exact = stats.chi2_contingency(np.array(counts).T, correction=False).pvalue
    assert col.p_value == pytest.approx(exact, rel=1e-9)  # the reference's two categories
    assert "unseen" in col.note
    assert mon.check(many).columns["m"].reasons == ("unseen",)


def test_an_explicit_ztest_on_a_reference_with_three_categories_is_refused_up_front():
    with pytest.raises(mk.ConfigError, match=r"3 categories\. Use method='chisquare'"):
        mk.Monitor(pd.DataFrame({"m": list("abc") * 10}), method="ztest")
