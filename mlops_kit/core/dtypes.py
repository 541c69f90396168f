"""The logical column types shared by :class:`Schema` and :class:`Profile`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.core.errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DType", "check_frame", "logical_dtype", "timezone_of"]

DType = Literal["int", "float", "bool", "string", "category", "datetime"]


def check_frame(df: Any, what: str = "data") -> pd.DataFrame:
    """Return ``df`` if it is a pandas DataFrame with unique string column names."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"Expected {what} to be a pandas DataFrame, got {type(df).__name__}.")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise SchemaError(f"Column names of {what} must be strings; these are not: {bad[:5]!r}.")
    if df.columns.has_duplicates:
        dupes = sorted(set(df.columns[df.columns.duplicated()]))
        raise SchemaError(f"Column names of {what} must be unique; duplicated: {dupes!r}.")
    return df


def logical_dtype(series: pd.Series) -> DType:
    """Map a pandas column to one of the six logical types.

    Object columns are ``string`` when every non-null value is a ``str``, ``bool``
    when every one is a ``bool``. Anything else raises :class:`SchemaError`.
    """
    import pandas as pd
    from pandas.api import types as pdt

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pdt.is_bool_dtype(dtype):
        return "bool"
    if pdt.is_integer_dtype(dtype):
        return "int"
    if pdt.is_float_dtype(dtype):
        return "float"
    if pdt.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pdt.is_string_dtype(dtype) and not pdt.is_object_dtype(dtype):
        return "string"
    if pdt.is_object_dtype(dtype):
        inferred = pdt.infer_dtype(series, skipna=True)  # one pass in C
        if inferred in ("string", "empty"):
            return "string"
        if inferred == "boolean":
            return "bool"
        kinds = sorted({type(v).__name__ for v in series.dropna().head(1000)})
        raise SchemaError(
            f"Column {series.name!r} holds {', '.join(kinds)} values; supported column "
            "types are int, float, bool, string, category and datetime."
        )
    raise SchemaError(
        f"Column {series.name!r} has unsupported dtype {dtype}; supported column types are "
        "int, float, bool, string, category and datetime."
    )


def timezone_of(series: pd.Series) -> str | None:
    """The time zone name of a datetime column, ``None`` when naive."""
    tz = getattr(series.dtype, "tz", None)
    return None if tz is None else str(tz)
