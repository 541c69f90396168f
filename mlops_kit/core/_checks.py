"""Vectorized checks of one column against its :class:`ColumnSchema`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlops_kit.core.dtypes import logical_dtype, timezone_of
from mlops_kit.core.errors import SchemaError
from mlops_kit.core.validation import Violation

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.schema import ColumnSchema

_EXAMPLES = 5


def check_column(name: str, column: ColumnSchema, series: pd.Series) -> list[Violation]:
    """Every violation of ``column`` by ``series``."""
    try:
        actual = logical_dtype(series)
    except SchemaError as exc:
        return [Violation(column=name, check="dtype", count=len(series), message=str(exc))]
    found: list[Violation] = []
    if not _compatible(column.dtype, actual, series):
        detail = " with non-integer values or nulls" if (column.dtype, actual) == ("int", "float") else ""
        found.append(
            Violation(
                column=name,
                check="dtype",
                count=len(series),
                message=f"expected {column.dtype}, got {actual} ({series.dtype}){detail}",
            )
        )
    nulls = series.isna().to_numpy()
    if not column.nullable and nulls.any():
        rows = series.index[nulls][:_EXAMPLES].tolist()
        count = int(nulls.sum())
        noun = "value" if count == 1 else "values"
        found.append(
            Violation(
                column=name,
                check="nullable",
                count=count,
                message=f"{count} null {noun} in a column that had none, at rows {rows}",
            )
        )
    if found and found[0].check == "dtype":
        return found  # range and category checks are meaningless on the wrong type
    if column.dtype == "datetime":
        found.extend(_check_datetime(name, column, series))
    elif column.dtype in ("int", "float"):
        found.extend(_check_range(name, column, series[~nulls], column.min, column.max))
    if column.categories is not None:
        found.extend(_check_categories(name, column.categories, series[~nulls]))
    return found


def _compatible(expected: str, actual: str, series: pd.Series) -> bool:
    if expected == actual or (expected == "float" and actual == "int"):
        return True
    if expected in ("string", "category") and actual in ("string", "category"):
        return True
    if expected == "int" and actual == "float":
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return bool(np.isfinite(values).all() and (values == np.round(values)).all())
    return False


def _check_range(name: str, column: ColumnSchema, values: pd.Series, low: Any, high: Any) -> list[Violation]:
    found = []
    arr = values.to_numpy()
    if low is not None:
        found.extend(_bound(name, "min", values, arr < low, f"below min {low}"))
    if high is not None:
        found.extend(_bound(name, "max", values, arr > high, f"above max {high}"))
    return found


def _check_datetime(name: str, column: ColumnSchema, series: pd.Series) -> list[Violation]:
    import pandas as pd

    tz = timezone_of(series)
    if (tz is None) != (column.tz is None):
        expected = f"time zone {column.tz}" if column.tz else "naive datetimes"
        return [
            Violation(
                column=name,
                check="tz",
                count=len(series),
                message=f"expected {expected}, got {f'time zone {tz}' if tz else 'naive datetimes'}",
            )
        ]
    values = series.dropna()
    low = None if column.min is None else pd.Timestamp(column.min)
    high = None if column.max is None else pd.Timestamp(column.max)
    found = []
    if low is not None:
        found.extend(_bound(name, "min", values, (values < low).to_numpy(), f"before min {column.min}"))
    if high is not None:
        found.extend(_bound(name, "max", values, (values > high).to_numpy(), f"after max {column.max}"))
    return found


def _bound(name: str, check: str, values: pd.Series, mask: Any, text: str) -> list[Violation]:
    count = int(np.count_nonzero(mask))
    if not count:
        return []
    examples = [_plain(v) for v in values[mask].head(_EXAMPLES)]
    noun = "value" if count == 1 else "values"
    return [
        Violation(column=name, check=check, count=count, examples=examples, message=f"{count} {noun} {text}")
    ]


def _check_categories(name: str, allowed: tuple[Any, ...], values: pd.Series) -> list[Violation]:
    unknown_mask = ~values.isin(list(allowed)).to_numpy()
    count = int(unknown_mask.sum())
    if not count:
        return []
    unknown = list(dict.fromkeys(_plain(v) for v in values[unknown_mask].head(1000)))[:_EXAMPLES]
    noun = "value" if count == 1 else "values"
    return [
        Violation(
            column=name,
            check="categories",
            count=count,
            examples=unknown,
            message=f"{count} {noun} outside the known categories",
        )
    ]


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value
