"""Schemas of tabular data: inferred from a DataFrame, checked against new data.

The same :class:`Schema` describes a dataset version and a model's input signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.core.dtypes import DType, check_frame, logical_dtype, timezone_of
from mlops_kit.core.errors import SchemaError
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.core.validation import ValidationReport, Violation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnSchema", "Schema", "ValidationReport", "Violation"]

Scalar = int | float | str | bool

_COMPATIBLE: dict[str, set[str]] = {
    "int": {"int"},
    "float": {"float", "int"},
    "bool": {"bool"},
    "string": {"string", "category"},
    "category": {"category", "string"},
    "datetime": {"datetime"},
}


class ColumnSchema(Record):
    """What one column may hold.

    ``min``/``max`` bound numbers (datetimes as ISO strings); ``categories`` lists
    the allowed values of a category column; ``None`` means "not checked".
    """

    dtype: DType
    nullable: bool = True
    min: Scalar | None = None
    max: Scalar | None = None
    categories: tuple[Scalar, ...] | None = None
    tz: str | None = None


class Schema(Record):
    """Column names and types, nullability, value ranges and category sets.

    Examples
    --------
    >>> import pandas as pd
    >>> schema = Schema.infer(pd.DataFrame({"age": [31, 45], "plan": ["a", "b"]}))
    >>> schema.columns["age"]
    ColumnSchema(dtype='int', nullable=False, min=31, max=45, categories=None, tz=None)
    >>> report = schema.validate(pd.DataFrame({"age": [12, None], "plan": ["a", "c"]}))
    >>> report.ok
    False
    >>> print(report)
    2 schema violations:
      - column 'age' (dtype): expected int, got float (float64) with non-integer values or nulls
      - column 'age' (nullable): 1 null value in a column that had none, at rows [1]
    >>> Schema.model_validate_json(schema.model_dump_json()) == schema
    True
    """

    columns: FrozenMap[ColumnSchema]

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return list(self.columns)

    @classmethod
    def infer(
        cls,
        df: pd.DataFrame,
        *,
        ranges: bool = True,
        categories: bool = True,
        nullable: bool | None = None,
    ) -> Schema:
        """Infer a schema from a DataFrame.

        Parameters
        ----------
        df : pandas.DataFrame
            The data. Column names must be unique strings.
        ranges : bool
            Record the observed min and max of numeric and datetime columns.
        categories : bool
            Record the category set of category columns.
        nullable : bool, optional
            Force every column's nullability; by default a column is nullable when
            it holds a null.

        Raises
        ------
        SchemaError
            If ``df`` is not a DataFrame or holds a column of an unsupported type.
        """
        df = check_frame(df)
        return cls(
            columns={
                name: _infer_column(df[name], ranges=ranges, categories=categories, nullable=nullable)
                for name in df.columns
            }
        )

    def validate(self, df: pd.DataFrame, *, strict: bool = False) -> ValidationReport:  # type: ignore[override]
        """Check ``df`` against the schema; return every violation found.

        Checks: missing columns, dtypes, nulls in non-nullable columns, values
        outside ``[min, max]``, values outside ``categories``, time zones, and with
        ``strict=True`` columns the schema does not know. Without ``strict`` those
        extra columns are listed in ``report.extra_columns`` but are not violations.
        """
        from mlops_kit.core._checks import check_column

        df = check_frame(df)
        violations = [
            Violation(column=name, check="missing", count=len(df), message="column is missing")
            for name in self.columns
            if name not in df.columns
        ]
        for name, column in self.columns.items():
            if name in df.columns:
                violations.extend(check_column(name, column, df[name]))
        extra = [c for c in df.columns if c not in self.columns]
        if strict:
            violations.extend(
                Violation(column=c, check="extra", count=len(df), message="column is not in the schema")
                for c in extra
            )
        return ValidationReport(violations=violations, extra_columns=extra)


def _infer_column(
    series: pd.Series, *, ranges: bool, categories: bool, nullable: bool | None
) -> ColumnSchema:
    dtype = logical_dtype(series)
    has_nulls = bool(series.isna().any())
    low = high = None
    cats: list[Any] | None = None
    if ranges and dtype in ("int", "float", "datetime"):
        values = series.dropna()
        if dtype == "float":
            values = values[values.abs() != float("inf")]
        if len(values):
            low, high = _scalar(values.min(), dtype), _scalar(values.max(), dtype)
    if categories and dtype == "category":
        cats = [_scalar(v, "string") for v in series.cat.categories]
    return ColumnSchema(
        dtype=dtype,
        nullable=has_nulls if nullable is None else nullable,
        min=low,
        max=high,
        categories=cats,
        tz=timezone_of(series) if dtype == "datetime" else None,
    )


def _scalar(value: Any, dtype: str) -> Any:
    if dtype == "datetime":
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if dtype == "int":
        return int(value)
    if dtype == "float":
        return float(value)
    return value


def require_columns(schema: Schema, df: pd.DataFrame, what: str = "data") -> None:
    """Raise :class:`SchemaError` naming the schema's columns that ``df`` lacks."""
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise SchemaError(f"{what.capitalize()} is missing columns {missing}; it has {list(df.columns)}.")
