"""Listings: the lists the blocks return (versions, history, endpoints...), with a table view.

Each is a plain ``list`` (index it, loop over it, compare it with a list) that adds
``to_frame()`` (pandas, imported only then) and a notebook table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NameList", "RecordList", "record_row"]

T = TypeVar("T", bound=BaseModel)

_SCALARS = (str, int, float, bool, dt.datetime, dt.date, dt.timedelta, type(None))
_HTML_ROWS = 50  # a notebook table shows this many rows, then says how many more


class RecordList(list[T]):
    """A list of records; ``to_frame()`` gives one row per record.

    Scalar fields become columns; a mapping field (``metrics``, ``tags``...) becomes
    one column per key (``metrics.auc``); a nested record becomes its text; other
    fields (profiles, schemas, tuples) are left to the records themselves.

    Examples
    --------
    >>> import pandas as pd
    >>> import mlops_kit as mk
    >>> ds = mk.Dataset("d", storage=mk.MemoryStorage())
    >>> _ = ds.save(pd.DataFrame({"x": [1, 2]}), tags={"source": "crm"})
    >>> frame = ds.versions().to_frame()
    >>> frame[["name", "version", "n_rows", "tags.source"]]
      name  version  n_rows tags.source
    0    d        1       2         crm
    """

    def to_frame(self) -> pd.DataFrame:
        """One row per record, in list order (see the class docstring for the columns)."""
        import pandas as pd

        return pd.DataFrame([record_row(r) for r in self])

    def _repr_html_(self) -> str:
        if not self:
            return f"<i>{type(self).__name__}: empty</i>"
        frame = self.to_frame()
        more = len(frame) - _HTML_ROWS
        note = f"<p>... and {more} more (use .to_frame())</p>" if more > 0 else ""
        return frame.head(_HTML_ROWS).to_html(index=False) + note


class NameList(list[str]):
    """A list of names; ``to_frame()`` gives one row per name, with details when the block has them.

    Examples
    --------
    >>> from mlops_kit.core.listing import NameList
    >>> NameList(["a", "b"]).to_frame()
      name
    0    a
    1    b
    """

    def __init__(
        self, names: Iterable[str] = (), describe: Callable[[str], Mapping[str, Any]] | None = None
    ) -> None:
        super().__init__(names)
        self._describe = describe

    def to_frame(self) -> pd.DataFrame:
        """One row per name: ``name``, then what the block knows of it (read only now)."""
        import pandas as pd

        describe = self._describe
        return pd.DataFrame([{"name": n, **(describe(n) if describe else {})} for n in self])

    def _repr_html_(self) -> str:
        return "<br>".join(escape(n) for n in self) or f"<i>{type(self).__name__}: empty</i>"


def record_row(record: BaseModel) -> dict[str, Any]:
    """A record's scalar fields, its mappings spread as ``field.key``, nested records as text."""
    row: dict[str, Any] = {}
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, _SCALARS):
            row[name.rstrip("_")] = value
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, _SCALARS):
                    row[f"{name}.{key}"] = item
        elif isinstance(value, BaseModel) and type(value).__str__ is not BaseModel.__str__:
            row[name] = str(value)
    return row
