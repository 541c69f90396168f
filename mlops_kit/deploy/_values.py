"""The values a model can take: nulls and infinities checked against the input example.

A column without nulls in a version's input example refuses them, a numeric column
without infinities refuses those (see :func:`~mlops_kit.deploy._served.value_rules`,
which also lets nulls through for models that take them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlops_kit.core.errors import SchemaError

if TYPE_CHECKING:
    from mlops_kit.core.schema import Schema

__all__ = ["BadValues", "ValueRules", "observed_rules"]


class BadValues(SchemaError):
    """Values the model cannot take (nulls, infinities) in columns that must not hold them.

    A :class:`~mlops_kit.SchemaError` (HTTP 400 rather than 422: the columns and types
    are right, some values are not).
    """


class ValueRules:
    """Which columns of a signature refuse nulls (``complete``) and infinities (``finite``).

    Examples
    --------
    >>> rules = ValueRules(["x", "y"], complete=["x"], finite=["x", "y"], label="m:1")
    >>> frame = pd.DataFrame({"x": [1.0, None], "y": [float("inf"), 2.0]})
    >>> rules.check(frame, frame.dtypes)
    Traceback (most recent call last):
    ...
    mlops_kit.deploy._values.BadValues: Input does not match the signature of m:1: column 'x': 1 null at rows [1]; column 'y': 1 infinite value at rows [0]...
    """

    def __init__(self, names: list[str], complete: Iterable[str], finite: Iterable[str], label: str) -> None:
        self.complete = frozenset(complete) & set(names)
        self.finite = frozenset(finite) & set(names)
        self.label = label
        self.columns = [n for n in names if n in self.complete or n in self.finite]  # in signature order

    def check(self, frame: pd.DataFrame, dtypes: pd.Series) -> None:
        """Raise :class:`BadValues` naming every column holding values it refuses, with rows."""
        if frame.columns.has_duplicates:
            return  # refused by the input checker
        present = dict(zip(dtypes.index, dtypes.values))
        problems = []
        for name in self.columns:
            dtype = present.get(name)
            if dtype is None or (isinstance(dtype, np.dtype) and dtype.kind in "iub"):
                continue  # absent, or numpy ints and bools: no nulls, no infinities
            problem = self._problem(name, frame[name])
            if problem:
                problems.append(problem)
        if problems:
            raise BadValues(
                f"Input does not match the signature of {self.label}: {'; '.join(problems)}. Its input "
                "example held no such values there; send a value in every cell, and finite numbers."
            )

    def _problem(self, name: str, series: pd.Series) -> str | None:
        dtype = series.dtype
        objects = dtype.kind == "O" and name in self.finite  # numbers sent as Python objects
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            values = series.to_numpy()
            finite = np.isfinite(values)
            if finite.all():
                return None
            nulls = np.isnan(values)
            infinite = ~finite & ~nulls
        else:
            nulls = np.asarray(series.array.isna(), dtype=bool)  # the array's own: cheaper than Series.isna
            if not nulls.any() and not objects:
                return None
            infinite = np.zeros(len(series), dtype=bool)
            if objects:
                infinite = np.array([type(v) is float and math.isinf(v) for v in series.tolist()], dtype=bool)
        parts = []
        for refused, mask, what in (
            (name in self.complete, nulls, "null"),
            (name in self.finite, infinite, "infinite value"),
        ):
            count = int(mask.sum()) if refused else 0
            if count:
                rows = np.flatnonzero(mask)[:5].tolist()
                parts.append(f"{count} {what}{'s' if count > 1 else ''} at rows {rows}")
        return f"column {name!r}: {' and '.join(parts)}" if parts else None


def observed_rules(example: pd.DataFrame, schema: Schema) -> tuple[list[str], list[str]]:
    """What the input example says about values: the signature's columns it holds no nulls in,
    and its numeric columns it holds no infinities in.

    Examples
    --------
    >>> from mlops_kit.core.schema import Schema
    >>> example = pd.DataFrame({"x": [1.0, None], "y": [2.0, float("inf")], "s": ["a", "b"]})
    >>> observed_rules(example, Schema.infer(example))
    (['y', 's'], ['x'])
    """
    complete, finite = [], []
    for name, column in schema.columns.items():
        if name not in example.columns:
            continue
        series = example[name]
        if not series.isna().any():
            complete.append(name)
        if column.dtype in ("int", "float"):
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            if not np.isinf(values).any():
                finite.append(name)
    return complete, finite
