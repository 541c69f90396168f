"""Each drift method against its scipy definition, and the profile-based approximations' accuracy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

import mlops_kit as mk
from mlops_kit.core.profile import ColumnProfile, Profile
from mlops_kit.monitor import METHODS, ColumnPair, DriftMethod, MethodResult


def pair_of(ref: np.ndarray | list, cur: np.ndarray | list, *, raw: bool = True) -> ColumnPair:
    ref_s, cur_s = pd.Series(ref, name="x"), pd.Series(cur, name="x")
    ref_p = Profile.of(ref_s.to_frame()).columns["x"]
    cur_p = Profile.of(cur_s.to_frame()).columns["x"]
    if not raw:
        return ColumnPair("x", ref_p, cur_p)
    return ColumnPair(
        "x",
        ref_p,
        cur_p,
        lambda: ref_s.dropna().to_numpy(dtype=float),
        lambda: cur_s.dropna().to_numpy(dtype=float),
    )


def counts_profile(counts: np.ndarray) -> ColumnProfile:
    return ColumnProfile(
        dtype="string", kind="categorical", count=int(counts.sum()), nulls=0,
        counts={k: int(v) for k, v in zip("abc", counts) if v},
    )  # fmt: skip


def test_ks_reproduces_scipy_exactly_in_a_monitor(make_customers):
    ref, cur = make_customers(3000, seed=1), make_customers(5000, seed=2, age_shift=0.05)
    rep = mk.Monitor(ref, columns=["age", "income", "visits"], method="ks").check(cur)
    for column in ("age", "income", "visits"):
        expected = stats.ks_2samp(ref[column].dropna(), cur[column].dropna())
        assert rep.columns[column].statistic == float(expected.statistic)
        assert rep.columns[column].p_value == float(expected.pvalue)


def test_ks_from_a_stored_version_loads_it_once_and_matches_scipy(make_customers, any_storage, monkeypatch):
    ref, cur = make_customers(2000, seed=3), make_customers(800, seed=4)
    version = mk.Dataset("customers", storage=any_storage).save(ref)
    mon = mk.Monitor(version, columns=["age", "income"], storage=any_storage)  # auto: small current -> KS
    loads = []
    original = mk.Dataset.load
    monkeypatch.setattr(mk.Dataset, "load", lambda self, *a, **k: loads.append(k) or original(self, *a, **k))
    for _ in range(2):
        rep = mon.check(cur)
        assert rep.columns["age"].method == "ks"
        expected = stats.ks_2samp(ref["age"], cur["age"])
        assert (rep.columns["age"].statistic, rep.columns["age"].p_value) == (
            expected.statistic,
            expected.pvalue,
        )
    assert len(loads) == 1


def test_binned_ks_is_close_to_exact_and_says_so():
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=20_000), rng.normal(0.05, 1, size=900)
    exact = METHODS["ks"].compute(pair_of(ref, cur))
    binned = METHODS["ks"].compute(pair_of(ref, cur, raw=False))
    assert abs(binned.statistic - exact.statistic) < 0.01
    assert abs(binned.p_value - exact.p_value) < 0.1
    assert "binned" in binned.note
    assert exact.note == ""


@settings(max_examples=40, deadline=None)
@given(
    loc=st.floats(-1e3, 1e3),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-2, 2),
    n=st.integers(50, 3000),
    seed=st.integers(0, 2**32 - 1),
)
def test_binned_wasserstein_matches_scipy_within_bins(loc, scale, shift, n, seed):
    rng = np.random.default_rng(seed)
    ref = rng.normal(loc, scale, n)
    cur = rng.standard_t(4, n + 7) * scale + loc + shift * scale
    pair = pair_of(ref, cur)
    got = METHODS["wasserstein"].compute(pair).statistic
    exact = stats.wasserstein_distance(ref, cur) / np.std(ref, ddof=1)
    # CDFs are linear inside each grid bin; the error is at most one bin width.
    assert abs(got - exact) <= pair.grid.width / np.std(ref, ddof=1) + 1e-9


def test_psi_and_jensenshannon_on_categories_follow_their_definitions():
    ref = ["a"] * 500 + ["b"] * 300 + ["c"] * 200
    cur = ["a"] * 200 + ["b"] * 300 + ["c"] * 500
    pair = pair_of(ref, cur)
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    assert METHODS["psi"].compute(pair).statistic == pytest.approx(np.sum((q - p) * np.log(q / p)))
    assert METHODS["jensenshannon"].compute(pair).statistic == pytest.approx(distance.jensenshannon(p, q))


def test_chisquare_is_the_two_sample_test_on_the_contingency_table():
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 420 + ["b"] * 330 + ["c"] * 250 + ["d"] * 3
    result = METHODS["chisquare"].compute(pair_of(ref, cur))
    # "d" is unseen in the reference: the unseen check judges it; the test compares a, b, c.
    expected = stats.chi2_contingency([[50, 30, 20], [420, 330, 250]], correction=False)
    assert (result.statistic, result.p_value) == pytest.approx((expected.statistic, expected.pvalue))
    assert result.note == "1 unseen categories left to the unseen check"


def test_chisquare_does_not_raise_false_alarms_when_current_dwarfs_reference():
    # Goodness-of-fit against the reference proportions treats a 300-row reference as exact
    # and flags most 100k-row samples of the very same distribution; the two-sample test does not.
    rng = np.random.default_rng(7)
    p = [0.5, 0.3, 0.2]
    alarms = gof_alarms = 0
    for _ in range(100):
        ref = rng.multinomial(300, p)
        cur = rng.multinomial(100_000, p)
        pair = ColumnPair("x", counts_profile(ref), counts_profile(cur))
        alarms += METHODS["chisquare"].compute(pair).p_value < 0.05
        gof_alarms += stats.chisquare(cur, ref / ref.sum() * cur.sum()).pvalue < 0.05
    assert alarms <= 10
    assert gof_alarms > 50  # the bug this design avoids


def test_ztest_squared_equals_chisquare_on_binary_columns():
    ref, cur = [True] * 60 + [False] * 40, [True] * 45 + [False] * 55
    z = METHODS["ztest"].compute(pair_of(ref, cur))
    chi = METHODS["chisquare"].compute(pair_of(ref, cur))
    assert z.statistic**2 == pytest.approx(chi.statistic)
    assert z.p_value == pytest.approx(chi.p_value)


def test_ztest_rejects_more_than_two_categories():
    with pytest.raises(mk.ConfigError, match="chisquare"):
        METHODS["ztest"].compute(pair_of(list("abc"), list("abc")))


def test_anderson_and_energy_use_scipy_on_raw_values():
    rng = np.random.default_rng(8)
    ref, cur = rng.normal(size=2000), rng.normal(0.3, 1, size=1500)
    ad = METHODS["anderson"].compute(pair_of(ref, cur))
    with pytest.warns(UserWarning, match="p-value"):
        expected = stats.anderson_ksamp([ref, cur], variant="midrank")
    assert ad.statistic == pytest.approx(expected.statistic)
    assert ad.p_value == pytest.approx(expected.pvalue)
    energy = METHODS["energy"].compute(pair_of(ref, cur)).statistic
    assert energy == pytest.approx(stats.energy_distance(ref, cur) / np.std(ref, ddof=1))


def test_anderson_reports_a_clipped_p_value():
    rng = np.random.default_rng(9)
    result = METHODS["anderson"].compute(pair_of(rng.normal(size=500), rng.normal(2, 1, size=500)))
    assert result.p_value == pytest.approx(0.001)
    assert "clipped" in result.note


@pytest.mark.parametrize("method", ["wasserstein", "psi", "jensenshannon", "ks", "energy", "anderson"])
def test_numeric_methods_see_two_different_constants_as_drift(method):
    same = METHODS[method].compute(pair_of([3.0] * 500, [3.0] * 500))
    other = METHODS[method].compute(pair_of([3.0] * 500, [4.0] * 500))
    impl = METHODS[method]
    assert not impl.drifted(same.statistic, same.p_value, impl.threshold)
    assert impl.drifted(other.statistic, other.p_value, impl.threshold)


def test_wasserstein_on_a_constant_reference_scales_with_the_share_of_changed_values():
    # Normalized by the current std when the reference has none: about sqrt(p / (1 - p)).
    few = METHODS["wasserstein"].compute(pair_of([1.0] * 1000, [1.0] * 995 + [2.0] * 5)).statistic
    many = METHODS["wasserstein"].compute(pair_of([1.0] * 1000, [1.0] * 950 + [2.0] * 50)).statistic
    assert few == pytest.approx(math.sqrt(0.005 / 0.995), rel=0.01)
    assert many == pytest.approx(math.sqrt(0.05 / 0.95), rel=0.01)


def test_psi_puts_current_values_beyond_the_reference_range_in_tail_groups():
    rng = np.random.default_rng(10)
    ref = rng.uniform(0, 1, 5000)
    inside = METHODS["psi"].compute(pair_of(ref, rng.uniform(0, 1, 5000))).statistic
    beyond = METHODS["psi"].compute(
        pair_of(ref, np.concatenate([rng.uniform(0, 1, 4500), rng.uniform(5, 6, 500)]))
    )
    assert inside < 0.02 < 0.1 < beyond.statistic


def test_a_nan_statistic_is_drift_never_no_drift():
    for method in METHODS.values():
        assert method.drifted(math.nan, None if not method.uses_p_value else math.nan, method.threshold)
        assert method.drifted(0.0, None, method.threshold) is method.uses_p_value


def test_custom_methods_plug_in_by_object():
    class MeanShift(DriftMethod):
        name = "mean_shift"
        kinds = frozenset({"numeric"})
        uses_p_value = False
        threshold = 0.25

        def compute(self, pair: ColumnPair) -> MethodResult:
            return MethodResult(abs(pair.current.mean - pair.reference.mean) / pair.scale)

    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    cur = pd.DataFrame({"x": rng.normal(0.3, 1, 2000), "y": rng.normal(size=2000)})
    rep = mk.Monitor(ref, method={"x": MeanShift()}).check(cur)
    assert rep.columns["x"].method == "mean_shift"
    assert rep.columns["x"].drifted
    assert rep.columns["y"].method == "wasserstein"


def test_datetimes_are_tested_as_numbers():
    rng = np.random.default_rng(12)
    start = pd.Timestamp("2025-01-01", tz="UTC")
    ref = pd.DataFrame({"when": start + pd.to_timedelta(rng.normal(0, 30, 3000), unit="D")})
    same = pd.DataFrame({"when": start + pd.to_timedelta(rng.normal(0, 30, 3000), unit="D")})
    later = pd.DataFrame({"when": start + pd.to_timedelta(rng.normal(20, 30, 3000), unit="D")})
    mon = mk.Monitor(ref)
    assert not mon.check(same).drifted
    moved = mon.check(later).columns["when"]
    assert moved.dtype == "datetime"
    assert moved.statistic == pytest.approx(20 / 30, abs=0.06)
    assert moved.drifted


def test_high_cardinality_categories_beyond_the_profile_limit():
    # Profiles keep the 1,000 most frequent values of a column; the rest is one "(other)"
    # count. With the raw reference at hand, the check counts every value of both sides.
    rng = np.random.default_rng(13)
    names = np.array([f"sku-{i:05d}" for i in range(3000)])
    reference = pd.DataFrame({"sku": names[rng.integers(0, 3000, 20_000)]})
    mon = mk.Monitor(reference)
    current = pd.DataFrame({"sku": names[rng.integers(0, 3000, 20_000)]})
    same = mon.check(current).columns["sku"]
    assert not same.drifted
    never = set(current.sku) - set(reference.sku)
    assert same.unseen == {k: int((current.sku == k).sum()) for k in sorted(never)}
    assert same.unseen_p_value is None  # no Good-Turing estimate from a truncated profile
    assert same.reference.n_categories == 1001  # 1,000 values plus "(other)"
    assert "(other)" in same.distribution.labels
    narrow = mon.check(pd.DataFrame({"sku": names[rng.integers(0, 100, 20_000)]})).columns["sku"]
    assert narrow.drifted
    assert narrow.effect_size > 0.3
    # A bare Profile reference holds no raw values: both sides are compared on the values
    # both profiles kept, all else lumped together, and no value is claimed unseen.
    profiled = mk.Monitor(mk.Profile.of(reference)).check(current).columns["sku"]
    assert not profiled.drifted
    assert profiled.unseen == {}
