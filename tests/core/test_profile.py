"""Profiles: per-column summaries whose merge equals the profile of the whole."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_kit.core import profile as profile_module
from mlops_kit.core.errors import SchemaError
from mlops_kit.core.histogram import MAX_BINS, Histogram, needed_exponent
from mlops_kit.core.profile import Profile


def assert_same(a: Profile, b: Profile) -> None:
    assert a.n_rows == b.n_rows
    for name, x in a.columns.items():
        y = b.columns[name]
        assert (x.dtype, x.kind, x.count, x.nulls, x.infs, x.min, x.max) == (
            y.dtype,
            y.kind,
            y.count,
            y.nulls,
            y.infs,
            y.min,
            y.max,
        )
        assert (x.counts, x.other, x.histogram) == (y.counts, y.other, y.histogram)
        for stat in ("mean", "variance"):
            u, v = getattr(x, stat), getattr(y, stat)
            if u is None or (isinstance(u, float) and math.isnan(u)):
                assert v is None or math.isnan(v)
            else:
                assert v == pytest.approx(u, rel=1e-9, abs=1e-12)


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(1e4, 50, n)
    f[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "f": f,
            "i": rng.integers(-5, 5, n),
            "ni": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 10**6, n)), dtype="Int64"),
            "s": rng.choice(["a", "b", "c"], n),
            "b": rng.random(n) < 0.3,
            "c": pd.Categorical(rng.choice(["x", "y"], n)),
            "t": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
        }
    )


def test_summary_values() -> None:
    df = frame(2000, 0)
    p = Profile.of(df)
    f = p.columns["f"]
    values = df["f"].dropna()
    assert (f.count, f.nulls) == (len(values), df["f"].isna().sum())
    assert f.mean == pytest.approx(values.mean()) and f.variance == pytest.approx(values.var())
    assert (f.min, f.max) == (values.min(), values.max())
    assert sum(f.histogram.counts) == f.count
    assert abs(f.quantile(0.5) - values.median()) <= 2 * f.histogram.width
    assert p.columns["s"].counts == df["s"].value_counts().sort_index().to_dict()
    assert p.columns["b"].counts == {"False": int((~df["b"]).sum()), "True": int(df["b"].sum())}
    assert p.columns["t"].dtype == "datetime" and p.columns["t"].kind == "numeric"
    assert p.columns["f"].null_rate == pytest.approx(df["f"].isna().mean())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 499), max_size=4, unique=True))
def test_merge_of_partitions_equals_the_whole(seed: int, cuts: list[int]) -> None:
    df = frame(500, seed)
    bounds = [0, *sorted(cuts), 500]
    parts = [Profile.of(df.iloc[a:b]) for a, b in zip(bounds, bounds[1:])]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert_same(Profile.of(df), merged)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=0, max_size=30), min_size=3, max_size=3
    )
)
def test_merge_is_associative_and_commutative(chunks: list[list[float]]) -> None:
    a, b, c = (Profile.of(pd.DataFrame({"x": pd.Series(v, dtype="float64")})) for v in chunks)
    assert_same(a.merge(b).merge(c), a.merge(b.merge(c)))
    assert_same(a.merge(b), b.merge(a))


def test_infinities_are_counted_apart() -> None:
    p = Profile.of(pd.DataFrame({"x": [1.0, np.inf, -np.inf, 2.0, np.nan]})).columns["x"]
    assert (p.count, p.infs, p.nulls, p.min, p.max, p.mean) == (4, 2, 1, 1.0, 2.0, 1.5)
    only_inf = Profile.of(pd.DataFrame({"x": [np.inf]})).columns["x"]
    assert only_inf.histogram is None and only_inf.infs == 1


def test_empty_and_all_null_columns() -> None:
    p = Profile.of(
        pd.DataFrame({"x": pd.Series([np.nan, np.nan]), "s": pd.Series([None, None], dtype="str")})
    )
    assert p.columns["x"].count == 0 and p.columns["x"].nulls == 2 and p.columns["x"].histogram is None
    assert math.isnan(p.columns["x"].variance)
    assert p.columns["s"].counts == {}
    whole = Profile.of(pd.DataFrame({"x": [np.nan, np.nan, 1.0, 3.0]}))
    halves = Profile.of(pd.DataFrame({"x": [np.nan, np.nan]})).merge(
        Profile.of(pd.DataFrame({"x": [1.0, 3.0]}))
    )
    assert_same(whole, halves)


def test_category_cap_keeps_the_most_frequent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "MAX_CATEGORIES", 2)
    col = Profile.of(pd.DataFrame({"s": list("aaabbc")})).columns["s"]
    assert (col.counts, col.other) == ({"a": 3, "b": 2}, 1)
    merged = col.merge(Profile.of(pd.DataFrame({"s": list("ccc")})).columns["s"])
    assert (merged.counts, merged.other) == ({"a": 3, "c": 3}, 3)


def test_merge_errors() -> None:
    with pytest.raises(SchemaError, match="different columns"):
        Profile.of(pd.DataFrame({"a": [1]})).merge(Profile.of(pd.DataFrame({"b": [1]})))
    with pytest.raises(SchemaError, match="Cannot merge"):
        Profile.of(pd.DataFrame({"a": [1]})).merge(Profile.of(pd.DataFrame({"a": ["x"]})))
    assert (
        Profile.of(pd.DataFrame({"a": [1]})).merge(Profile.of(pd.DataFrame({"a": [0.5]}))).columns["a"].dtype
        == "float"
    )
    with pytest.raises(SchemaError, match="numeric"):
        Profile.of(pd.DataFrame({"a": ["x"]})).columns["a"].quantile(0.5)


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 0.0), (-1.0, 1.0), (1e9, 1e9 + 1), (-1e300, 1e300), (1e-300, 2e-300), (3.0, 1e6)]
)
def test_histogram_grid(low: float, high: float) -> None:
    e = needed_exponent(low, high)
    span = math.floor(math.ldexp(high, -e)) - math.floor(math.ldexp(low, -e)) + 1
    assert span <= MAX_BINS
    if e > -1074 and max(abs(low), abs(high)) / 2 ** (e - 1) < 2**52:
        coarser = math.floor(math.ldexp(high, -(e - 1))) - math.floor(math.ldexp(low, -(e - 1))) + 1
        assert coarser > MAX_BINS  # e is the smallest exponent that fits
    values = np.linspace(low, high, 101)
    hist = Histogram.of(values, low, high)
    assert sum(hist.counts) == 101 and len(hist.counts) <= MAX_BINS
    assert hist.edges[0] <= low and hist.edges[-1] >= high


def test_profile_json_round_trip() -> None:
    p = Profile.of(frame(300, 1))
    assert Profile.model_validate_json(p.model_dump_json()) == p
