"""Schema inference, validation and JSON round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

from mlops_kit.core.errors import SchemaError
from mlops_kit.core.schema import Schema


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, 2, 3],
            "ni": pd.array([1, None, 3], dtype="Int64"),
            "f": [0.5, np.nan, 2.5],
            "b": [True, False, True],
            "s": ["a", "b", None],
            "o": pd.Series(["x", "y", "z"], dtype=object),
            "c": pd.Categorical(["lo", "hi", "lo"]),
            "t": pd.date_range("2024-01-01", periods=3, tz="Europe/Paris"),
            "naive": pd.date_range("2024-01-01", periods=3),
        }
    )


def test_infer_types_nullability_ranges_categories(frame: pd.DataFrame) -> None:
    cols = Schema.infer(frame).columns
    assert {n: c.dtype for n, c in cols.items()} == {
        "i": "int",
        "ni": "int",
        "f": "float",
        "b": "bool",
        "s": "string",
        "o": "string",
        "c": "category",
        "t": "datetime",
        "naive": "datetime",
    }
    assert [n for n, c in cols.items() if c.nullable] == ["ni", "f", "s"]
    assert (cols["i"].min, cols["i"].max) == (1, 3)
    assert (cols["f"].min, cols["f"].max) == (0.5, 2.5)
    assert cols["c"].categories == ("hi", "lo")
    assert cols["t"].tz == "Europe/Paris" and cols["naive"].tz is None
    assert cols["t"].min == "2024-01-01T00:00:00+01:00"


def test_infer_options(frame: pd.DataFrame) -> None:
    cols = Schema.infer(frame, ranges=False, categories=False, nullable=True).columns
    assert all(c.nullable and c.min is None and c.categories is None for c in cols.values())


def test_own_data_validates(frame: pd.DataFrame) -> None:
    report = Schema.infer(frame).validate(frame)
    assert report.ok and bool(report) and str(report) == "Schema validation passed."
    report.raise_for_errors()


def test_every_check_reports_column_count_and_examples(frame: pd.DataFrame) -> None:
    schema = Schema.infer(frame)
    bad = frame.drop(columns=["o"]).assign(
        i=[0, 2, 99],
        b=[1, 0, 1],
        s=["a", "b", "c"],
        c=pd.Categorical(["lo", "mid", "mid"]),
        t=pd.date_range("2024-01-01", periods=3),  # naive instead of Europe/Paris
        extra=1,
    )
    report = schema.validate(bad)
    found = {(v.column, v.check): v for v in report.violations}
    assert set(found) == {
        ("o", "missing"),
        ("i", "min"),
        ("i", "max"),
        ("b", "dtype"),
        ("c", "categories"),
        ("t", "tz"),
    }
    assert found[("i", "max")].count == 1 and found[("i", "max")].examples == (99,)
    assert found[("c", "categories")].count == 2 and found[("c", "categories")].examples == ("mid",)
    assert report.extra_columns == ("extra",)
    assert report.columns == ["o", "i", "b", "c", "t"]
    with pytest.raises(SchemaError) as err:
        report.raise_for_errors()
    assert "6 schema violations" in str(
        err.value
    ) and "column 'i' (max): 1 value above max 3; e.g. [99]" in str(err.value)


def test_nulls_in_a_non_nullable_column(frame: pd.DataFrame) -> None:
    report = Schema.infer(frame).validate(frame.assign(i=pd.array([1, None, None], dtype="Int64")))
    (violation,) = report.violations
    assert (violation.column, violation.check, violation.count) == ("i", "nullable", 2)
    assert "rows [1, 2]" in violation.message


def test_compatible_types_pass(frame: pd.DataFrame) -> None:
    schema = Schema.infer(frame, ranges=False, categories=False)
    relaxed = frame.assign(
        f=[1, 2, 3],  # ints where floats are expected
        i=[1.0, 2.0, 3.0],  # integral floats where ints are expected
        s=pd.Categorical(["a", "b", "a"]),  # category where strings are expected
        c=["lo", "hi", "lo"],  # strings where a category is expected
    )
    assert schema.validate(relaxed).ok
    assert not schema.validate(frame.assign(i=[1.5, 2.0, 3.0])).ok


def test_strict_mode_flags_extra_columns(frame: pd.DataFrame) -> None:
    schema = Schema.infer(frame)
    assert schema.validate(frame.assign(z=1)).ok
    report = schema.validate(frame.assign(z=1), strict=True)
    assert [(v.column, v.check) for v in report.violations] == [("z", "extra")]


def test_datetime_bounds(frame: pd.DataFrame) -> None:
    schema = Schema.infer(frame)
    later = frame.assign(t=pd.date_range("2025-01-01", periods=3, tz="UTC"))
    (violation,) = schema.validate(later).violations
    assert (violation.check, violation.count) == ("max", 3)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([1, 2], "pandas DataFrame"),
        (pd.DataFrame({0: [1]}), "must be strings"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "unique"),
        (pd.DataFrame({"o": [{"a": 1}]}), "dict values"),
        (pd.DataFrame({"td": pd.to_timedelta([1], "s")}), "unsupported dtype"),
    ],
)
def test_bad_input(data: object, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        Schema.infer(data)  # type: ignore[arg-type]


def test_unsupported_column_in_validated_data_is_a_violation(frame: pd.DataFrame) -> None:
    report = Schema.infer(frame).validate(frame.assign(o=[{"a": 1}] * 3))
    assert [(v.column, v.check) for v in report.violations] == [("o", "dtype")]


@settings(max_examples=40, deadline=None)
@given(
    hpd.data_frames(
        [
            hpd.column("i", dtype=np.int64),
            hpd.column("f", elements=st.floats(allow_nan=True, allow_infinity=False, width=64)),
            hpd.column("s", elements=st.text(max_size=5) | st.none()),
            hpd.column("b", dtype=bool),
        ]
    )
)
def test_json_round_trip_and_self_validation(df: pd.DataFrame) -> None:
    if df["s"].isna().all():
        df["s"] = df["s"].astype("str")
    schema = Schema.infer(df)
    assert Schema.model_validate_json(schema.model_dump_json()) == schema
    assert schema.validate(df).ok
