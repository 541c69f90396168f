"""The base of every persisted record: frozen pydantic models with read-only maps.

pydantic's ``frozen=True`` blocks attribute assignment but leaves ``dict`` fields
mutable; :data:`FrozenMap` closes that gap (sequences are tuples). A record class's
``SCHEMA_VERSION`` is stored next to its data, so that an old reader meeting a newer
record fails with a clear message instead of misreading it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, NoReturn, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["FrozenDict", "FrozenMap", "Record"]

_DIGEST = re.compile(r"(sha256:)?[0-9a-f]{64}")

V = TypeVar("V")


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses changes; pickles and compares like a plain dict."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("This mapping belongs to a frozen record; use record.evolve(...) instead.")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


FrozenMap = Annotated[Mapping[str, V], AfterValidator(FrozenDict)]


class Record(BaseModel):
    """A frozen record. ``evolve`` returns a re-validated copy with changes."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    SCHEMA_VERSION: ClassVar[int] = 1
    # A short repr for records with bulky fields: only these, digests cut to 12 characters.
    REPR_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __repr_args__(self) -> Any:
        if not self.REPR_FIELDS:
            return super().__repr_args__()
        return [(name, _short(getattr(self, name))) for name in self.REPR_FIELDS]

    def evolve(self, **changes: Any) -> Self:
        """A new, validated record with ``changes`` applied; ``self`` never changes."""
        return self.model_validate({**self.model_dump(), **changes})


def _short(value: Any) -> Any:
    if isinstance(value, str) and _DIGEST.fullmatch(value):
        return value[: value.find(":") + 13]
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Mapping):
        return dict(value)
    return value
