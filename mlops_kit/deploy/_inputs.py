"""Requests in, model inputs out: checked against the signature, converted to its types.

This runs on every request, so the common case (the right columns with the right
dtypes) costs one look at ``frame.dtypes`` and nothing else; the conversions and
the detailed message are only computed when something differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from mlops_kit.core.errors import SchemaError
from mlops_kit.deploy._values import ValueRules

if TYPE_CHECKING:
    from mlops_kit.core.schema import Schema

__all__ = ["InputChecker", "as_frame"]

_JSONISH = {"integer": "int", "floating": "float", "mixed-integer-float": "float", "boolean": "bool"}
_NUMPY = {"int": "int64", "float": "float64", "bool": "bool"}
_PASS = {("string", "category"), ("string", "empty")}  # (expected, actual) taken as they are
_MAX_FAST = 32
_INT64 = (-(2**63), 2**63 - 1)
_PLAIN_TYPES: dict[str, set[type]] = {"int": {int}, "float": {int, float}, "bool": {bool}, "string": {str}}
_SMALL = 64  # below this many rows, building a frame from records is cheaper than from columns


def as_frame(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a list of records, or one record (a dict of scalars).

    Raises
    ------
    SchemaError
        If ``data`` is none of those.
    """
    if isinstance(data, pd.DataFrame):
        return data
    try:
        if isinstance(data, Mapping):
            if data and all(_is_sequence(v) for v in data.values()):
                lengths = {len(v) for v in data.values()}
                if len(lengths) == 1 and lengths.pop() <= _SMALL:  # one-row HTTP requests: the fast way
                    names = pd.Index(list(data), dtype=object)
                    return pd.DataFrame.from_records(list(zip(*data.values())), columns=names)
                return pd.DataFrame(dict(data))  # columns -> values
            return pd.DataFrame([dict(data)])  # one record
        if (
            isinstance(data, Sequence)
            and not isinstance(data, str | bytes)
            and all(isinstance(row, Mapping) for row in data)
        ):
            return pd.DataFrame(list(data))
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"Cannot make a table of the input: {exc}") from exc
    raise SchemaError(
        "Expected a pandas DataFrame, a list of records (dicts) or one record (a dict), got "
        f"{type(data).__name__}."
    )


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _kind(series: pd.Series) -> str:
    """The logical type of a column, leniently: object columns are inferred from values."""
    dtype = series.dtype
    kind = dtype.kind
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    if kind == "b":
        return "bool"
    if kind == "M":
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if kind == "O":
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in ("string", "empty", "datetime"):
            return inferred
        return _JSONISH.get(inferred, f"object holding {inferred} values")
    return str(dtype)


class InputChecker:
    """Checks and converts request frames for one model version.

    Parameters
    ----------
    schema : Schema or None
        The signature's inputs; ``None`` (a model registered without an input
        example) passes frames through unchecked.
    label : str
        The version (``"churn:3"``), for messages.
    complete : iterable of str
        Columns that must not hold nulls (None, NaN, NaT, an empty CSV cell).
    finite : iterable of str
        Numeric columns that must not hold infinities.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit.core.schema import Schema
    >>> schema = Schema.infer(pd.DataFrame({"x": [1.5]}))
    >>> InputChecker(schema, "m:1", complete=["x"]).prepare(pd.DataFrame({"x": [None]}))
    Traceback (most recent call last):
    ...
    mlops_kit.deploy._values.BadValues: Input does not match the signature of m:1: column 'x': 1 null at rows [0]...
    """

    def __init__(
        self, schema: Schema | None, label: str, *, complete: Iterable[str] = (), finite: Iterable[str] = ()
    ) -> None:
        self.label = label
        self.schema = schema
        self.names: list[str] = list(schema.columns) if schema is not None else []
        self.values = ValueRules(self.names, complete, finite, label)
        self._expected = {n: c.dtype for n, c in schema.columns.items()} if schema is not None else {}
        self._tz = {n: c.tz for n, c in schema.columns.items()} if schema is not None else {}
        # dtype -> accepted without conversion, per column, filled as frames are seen
        self._fast: dict[str, set[Any]] = {n: set() for n in self.names}

    def plain(self, columns: Mapping[str, Any]) -> bool:
        """Whether parsed JSON ``columns`` hold the signature's columns, in order, with plain values.

        Plain values are Python ``int`` (within int64) for an int column, ``int`` or
        ``float`` for a float column, ``bool`` for a bool column and ``str`` for a
        string column; categories, datetimes, nulls and anything else are not plain.
        Such a request always passes :meth:`prepare`, and its table is the same
        whether it is made alone or from the columns of several such requests joined
        (an int column of one request is int64, its float column float64 whether or
        not another request sent ints, and so on): so their rows can share one
        model call. Other requests go the general way.
        """
        if self.schema is None or len(columns) != len(self.names):
            return False
        rows = -1
        for (name, values), expected in zip(columns.items(), self._expected.items()):
            if name != expected[0] or not isinstance(values, list):
                return False
            if (rows >= 0 and len(values) != rows) or not _plain_values(expected[1], values):
                return False
            rows = len(values)
        return rows > 0

    def plain_frame(self, columns: Mapping[str, list[Any]]) -> pd.DataFrame:
        """The model's input from columns that passed :meth:`plain`: each column made in its
        dtype at once (int64, float64, bool; strings as pandas makes them), then
        :meth:`prepare` without looking at the values again."""
        made = {
            name: np.array(values, dtype=_NUMPY[kind]) if kind in _NUMPY else values
            for (name, values), kind in zip(columns.items(), self._expected.values())
        }
        return self.prepare(pd.DataFrame(made, copy=False), plain=True)

    def prepare(self, frame: pd.DataFrame, *, plain: bool = False) -> pd.DataFrame:
        """The frame the model gets: the signature's columns, in order, with its types.

        ``plain=True`` says the frame was made from columns that passed :meth:`plain`,
        which holds no nulls and no infinities: their values are not looked at again.

        Raises
        ------
        BadValues
            Naming every column with nulls or infinities it must not hold.
        SchemaError
            Naming every missing column and every column of the wrong type.
        """
        if self.schema is None:
            return frame
        dtypes = frame.dtypes
        if self.values.columns and not plain:
            self.values.check(frame, dtypes)
        names = self.names
        if len(dtypes) == len(names):
            same = True
            for dtype, fast in zip(dtypes.values, self._fast.values()):
                if dtype not in fast:
                    same = False
                    break
            if same and list(dtypes.index) == names:
                return frame  # the common case: nothing to check or convert
        return self._convert(frame, dtypes)

    def _convert(self, frame: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
        if frame.columns.has_duplicates or not all(isinstance(c, str) for c in frame.columns):
            raise SchemaError(f"Input column names must be unique strings; got {list(frame.columns)[:20]!r}.")
        missing = [n for n in self.names if n not in dtypes.index]
        problems: list[str] = []
        columns: dict[str, Any] = {}
        for name in self.names:
            if name in missing:
                continue
            series = frame[name]
            try:
                columns[name], native = self._column(name, series)
            except SchemaError as exc:
                problems.append(str(exc))
                continue
            if native and len(self._fast[name]) < _MAX_FAST:
                self._fast[name].add(series.dtype)
        if missing or problems:
            raise SchemaError(
                self._message(missing, problems, [c for c in frame.columns if c not in self._expected])
            )
        return pd.DataFrame(columns, index=frame.index, copy=False)

    def _column(self, name: str, series: pd.Series) -> tuple[pd.Series, bool]:
        """The column in the expected type, and whether its dtype alone makes it acceptable."""
        expected = self._expected[name]
        if expected == "int":
            _within_int64(name, series)
        actual = _kind(series)
        definite = _is_definite(series.dtype)  # the dtype, not the values, says what it holds
        try:
            if expected == "datetime" and actual in ("datetime", "string", "empty"):
                converted = self._datetime(name, series)
                return converted, converted is series and definite
            if actual == expected or (expected, actual) in _PASS:
                if definite or expected in ("string", "category"):
                    return series, definite
                return series.astype(_NUMPY[expected]), False  # type: ignore[call-overload]  # an object column of ints, floats, bools
            if expected == "float" and actual in ("int", "empty"):
                return series.astype("float64"), False
            if expected == "category" and actual in ("string", "empty"):
                return series.astype("category"), False
            if expected == "int" and actual == "float":
                return _whole(name, series), False
        except SchemaError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise SchemaError(
                f"column {name!r}: expected {expected}, could not convert: {_first_line(exc)}"
            ) from None
        if actual == "empty":
            raise SchemaError(f"column {name!r}: expected {expected}, got only nulls")
        raise SchemaError(
            f"column {name!r}: expected {expected}, got {actual} ({series.dtype}), e.g. {_examples(series)}"
        )

    def _datetime(self, name: str, series: pd.Series) -> pd.Series:
        tz = self._tz.get(name)
        try:
            if series.dtype.kind != "M":
                series = pd.to_datetime(series, utc=tz is not None, format="ISO8601")
            current = getattr(series.dtype, "tz", None)
        except (ValueError, TypeError) as exc:
            raise SchemaError(
                f"column {name!r}: expected datetime, could not parse: {_first_line(exc)}"
            ) from None
        if tz is None and current is not None:
            raise SchemaError(
                f"column {name!r}: expected naive datetimes (no time zone), got time zone {current}"
            )
        if tz is not None and current is None:
            return cast("pd.Series", series.dt.tz_localize(tz))
        if tz is not None and str(current) != tz:
            return cast("pd.Series", series.dt.tz_convert(tz))
        return series

    def _message(self, missing: list[str], problems: list[str], extra: list[str]) -> str:
        parts = []
        if missing:
            parts.append(f"missing column{'s' if len(missing) > 1 else ''} {missing}")
        parts.extend(problems)
        takes = ", ".join(f"{n} ({self._expected[n]})" for n in self.names)
        text = f"Input does not match the signature of {self.label}: {'; '.join(parts)}. The model takes: {takes}."
        if missing and extra:
            text += f" Columns it does not take were also sent: {extra[:10]}."
        return text


def _plain_values(kind: str, values: list[Any]) -> bool:
    """Whether every value is plain for a column of ``kind`` (see :meth:`InputChecker.plain`),
    decided with whole-list builtins (run in C) rather than a test per value."""
    allowed = _PLAIN_TYPES.get(kind)
    if allowed is None or not values:
        return False
    types = set(map(type, values))
    if not types <= allowed:
        return False
    if kind == "float":
        try:
            total = sum(values)  # NaN or an infinity makes the sum NaN or infinite
        except OverflowError:  # an int too large for a float
            return False
        if total - total != 0:  # not finite (or finite values overflowing: the general way decides)
            return False
    if int not in types:
        return True
    ints = values if len(types) == 1 else [v for v in values if type(v) is int]
    return _INT64[0] <= min(ints) and max(ints) <= _INT64[1]  # ints must fit int64


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].split(". ")[0].rstrip(":;. ") if lines else type(exc).__name__


def _is_definite(dtype: Any) -> bool:
    return dtype.kind != "O" or isinstance(dtype, pd.CategoricalDtype | pd.StringDtype)


def _within_int64(name: str, series: pd.Series) -> None:
    """An int column is int64: refuse values beyond it (uint64, or big ints parsed from JSON)
    before they reach the model or the prediction log."""
    kind = series.dtype.kind
    if kind == "u" and series.dtype == np.uint64:
        bad = series[series > np.iinfo(np.int64).max]
    elif kind == "O":
        bad = series[[isinstance(v, int) and not -(2**63) <= v < 2**63 for v in series.tolist()]]
    else:
        return
    if len(bad):
        raise SchemaError(
            f"column {name!r}: expected int (int64, -2**63 to 2**63-1), got values out of that "
            f"range, e.g. {_examples(bad)}"
        )


def _whole(name: str, series: pd.Series) -> pd.Series:
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    if not (np.isfinite(values).all() and (values == np.round(values)).all()):
        bad = series[~(np.isfinite(values) & (values == np.round(values)))]
        raise SchemaError(
            f"column {name!r}: expected int, got float values that are not whole numbers or are "
            f"null, e.g. {_examples(bad, dropna=False)}"
        )
    return series.astype("int64")


def _examples(series: pd.Series, *, dropna: bool = True) -> list[Any]:
    values = (series.dropna() if dropna else series).head(3).tolist()
    return [
        v.item() if isinstance(v, np.generic) else v.tolist() if isinstance(v, np.ndarray) else v
        for v in values
    ]


def cast_like(checker: InputChecker | None, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the signature's columns converted to its types where possible (for the log).

    Columns that cannot be converted, and columns the signature does not know, are
    left as they are: the log keeps what was sent.
    """
    if checker is None or checker.schema is None:
        return frame
    converted = {}
    for name in checker.names:
        if name in frame.columns:
            try:
                converted[name] = checker._column(name, frame[name])[0]
            except SchemaError:
                continue
    return frame.assign(**converted) if converted else frame
