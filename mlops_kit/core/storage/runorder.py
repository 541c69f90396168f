"""Runs newest first from a log of run records, from its cached fold or from its end.

A run log (a pipeline's runs, an experiment's tracked runs) holds each run's start
record (status ``running``) and later its end record. Its listing order:

- runs come in the reverse order of their start records' positions (the run whose
  start was recorded last comes first); runs without a start record (not written by
  mlops_kit) come after them, by their first entry, newest first;
- several logs are merged by run id (ids start with the UTC start time): at each place
  the next run is the newest-started of the logs' next runs (:func:`merge`).

Both readers give that order, each run with its latest record: :func:`folded` (every
run, from the log's cached fold) and :func:`from_end` (lazily, reading the log back
from its end a block at a time with :func:`logs.read_page`, so a page costs reads for
about that page alone).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import BaseModel

from mlops_kit.core.storage import logpacks, logs
from mlops_kit.core.storage.logstate import Fold, LogState

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["folded", "from_end", "merge"]

R = TypeVar("R", bound=BaseModel)  # a run record: it has ``id`` and ``status``

FIRST_BLOCK = 32  # entries read from a log's end first; each further block is twice as long
LAST_BLOCK = 4096

_Ordered: TypeAlias = (
    "dict[str, list[Any]]"  # id -> [start record's position or None, first position, latest]
)


def _apply(state: _Ordered, seq: int, record: Any) -> _Ordered:
    slot = state.setdefault(record.id, [None, seq, record])
    slot[2] = record
    if record.status == "running":
        slot[0] = seq  # the latest start record, as a reader from the end finds it first
    return state


_FOLDS: dict[type[Any], Fold[_Ordered, Any]] = {}


def _fold(model: type[BaseModel]) -> Fold[_Ordered, Any]:
    fold = _FOLDS.get(model)
    if fold is None:
        fold = _FOLDS.setdefault(model, Fold(f"listed-{model.__name__}", model, initial=dict, apply=_apply))
    return fold


def _positions(state: _Ordered) -> list[tuple[int, int, Any]]:
    return [(0, first, r) if start is None else (1, start, r) for start, first, r in state.values()]


def folded(storage: Storage, prefix: str, model: type[R]) -> list[R]:
    """Every run of the log ``prefix`` with its latest record, in the listing's order (the fold is cached)."""
    ordered = LogState.shared(storage, prefix, _fold(model)).read(_positions)
    ordered.sort(key=lambda p: p[:2], reverse=True)
    return [record for _, _, record in ordered]


def from_end(storage: Storage, prefix: str, model: type[R], *, wanted: int | None = None) -> Iterator[R]:
    """The runs of the log ``prefix`` in the listing's order, each with its latest record, read from the end.

    ``wanted``: how many runs the caller expects to take, so that the first block read
    holds them (a run has a start and an end record) instead of growing to them.
    """
    last = logs.last_seq(storage, prefix)
    latest: dict[str, R] = {}  # id -> the latest record seen (entries are read newest first)
    first: dict[str, int] = {}  # id -> the position of its oldest entry read so far
    started: set[str] = set()
    size = FIRST_BLOCK if wanted is None else min(LAST_BLOCK, max(FIRST_BLOCK, 2 * wanted + 2))
    upto = last  # the newest entry not read yet
    while upto > 0:
        # Blocks start where packs start: a block costs a few packs, not entries one by one.
        unit = max([p for p in logpacks.SIZES if p <= size] or [logpacks.SIZES[0]])
        after = max(0, (upto - size) // unit * unit)
        page = logs.read_page(
            storage, prefix, model, limit=upto - after, offset=last - upto, newest_first=True, last=last
        )
        for entry in page:
            record: Any = entry.record
            latest.setdefault(record.id, record)
            first[record.id] = entry.seq
            if record.status == "running" and record.id not in started:
                started.add(record.id)
                yield latest[record.id]
        upto, size = after, min(2 * size, LAST_BLOCK)
    unstarted = sorted((rid for rid in first if rid not in started), key=first.__getitem__, reverse=True)
    yield from (latest[rid] for rid in unstarted)


def merge(sequences: Iterable[Iterable[R]]) -> Iterator[R]:
    """Runs of several logs, each in the listing's order, merged: always the largest id of their next runs."""
    return heapq.merge(*sequences, key=_run_id, reverse=True)


def _run_id(record: Any) -> str:
    return str(record.id)
