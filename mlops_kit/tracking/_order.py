"""The order :func:`mlops_kit.runs` lists runs in, read from a full fold or from the logs' ends.

Each experiment and each pipeline has its own log of run records: a run's start record
(status ``running``), later its end record. The listing's order is defined on those logs:

- within one log, runs come in the reverse order of their start records' positions
  (the run whose start was recorded last comes first);
- the logs' sequences are merged by run id (ids start with the UTC start time): at each
  place the next run is the newest-started of the logs' next runs.

When start records are appended in the order of their start times, this is exactly the
order of start times. Runs started concurrently may be recorded out of that order (one
process takes its timestamp, another records its start first); they are then listed in
the order their starts were recorded, so a new run always appears at the top and never
in the middle of a page already seen.

Both readers give the same order: :func:`folded` (every run, from each log's cached
fold) and :func:`newest_first` (lazily, reading each log from its end a block at a
time, so the first page costs reads for about that page alone).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from mlops_kit.core.storage import logs
from mlops_kit.core.storage.logstate import Fold, LogState
from mlops_kit.pipeline import RunRecord, pipeline_catalog
from mlops_kit.tracking import _store
from mlops_kit.tracking._records import TrackedRun

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["AnyRecord", "folded", "newest_first", "run_logs"]

AnyRecord: TypeAlias = "TrackedRun | RunRecord"
_FIRST_BLOCK = 32  # entries read from a log's end first; each further block is twice as long
_LAST_BLOCK = 4096


def run_logs(storage: Storage, name: str | None) -> list[tuple[str, type[TrackedRun] | type[RunRecord]]]:
    """The logs of run records to list: every experiment's and pipeline's, or those called ``name``."""
    found: list[tuple[str, type[TrackedRun] | type[RunRecord]]] = []
    for catalog, model in (
        (_store.experiment_catalog(storage), TrackedRun),
        (pipeline_catalog(storage), RunRecord),
    ):
        found.extend((catalog.prefix_of(n), model) for n in (catalog.names() if name is None else [name]))
    return found


def _merge(sequences: Iterable[Iterator[AnyRecord]]) -> Iterator[AnyRecord]:
    # A greedy merge: always the largest id among the sequences' next runs.
    return heapq.merge(*sequences, key=lambda r: r.id, reverse=True)


# -- every run, from the cached folds ---------------------------------------------

_Ordered: TypeAlias = (
    "dict[str, list[Any]]"  # id -> [start record's position or None, first position, latest]
)


def _apply(state: _Ordered, seq: int, record: Any) -> _Ordered:
    slot = state.setdefault(record.id, [None, seq, record])
    slot[2] = record
    if record.status == "running":
        slot[0] = seq  # the latest start record, as a reader from the end finds it first
    return state


def _fold(model: type[Any]) -> Fold[_Ordered, Any]:
    return Fold(f"listed-{model.__name__}", model, initial=dict, apply=_apply)


_FOLDS = {TrackedRun: _fold(TrackedRun), RunRecord: _fold(RunRecord)}


def _positions(state: _Ordered) -> list[tuple[int, int, AnyRecord]]:
    # Runs without a start record (not written by mlops_kit) come after the others, by first entry.
    return [(0, first, r) if start is None else (1, start, r) for start, first, r in state.values()]


def folded(storage: Storage, name: str | None) -> Iterator[AnyRecord]:
    """Every run's latest record, in the listing's order (each log's fold is cached and caught up)."""
    sequences = []
    for prefix, model in run_logs(storage, name):
        ordered = LogState.shared(storage, prefix, _FOLDS[model]).read(_positions)
        ordered.sort(key=lambda p: p[:2], reverse=True)
        sequences.append(iter([record for _, _, record in ordered]))
    return _merge(sequences)


# -- lazily, from the logs' ends ----------------------------------------------------


def _from_end(storage: Storage, prefix: str, model: type[Any]) -> Iterator[AnyRecord]:
    """A log's runs in the listing's order, each with its latest record, read back from the end."""
    last = logs.last_seq(storage, prefix)
    latest: dict[str, Any] = {}  # id -> the latest record seen (entries are read newest first)
    first: dict[str, int] = {}  # id -> the position of its oldest entry read so far
    started: set[str] = set()
    offset, block = 0, _FIRST_BLOCK
    while offset < last:
        page = logs.read_page(
            storage, prefix, model, limit=block, offset=offset, newest_first=True, last=last
        )
        for entry in page:
            record = entry.record
            latest.setdefault(record.id, record)
            first[record.id] = entry.seq
            if record.status == "running" and record.id not in started:
                started.add(record.id)
                yield latest[record.id]
        offset += block
        block = min(2 * block, _LAST_BLOCK)
    # No start record: ordered as the fold orders them (by their first entry, newest first).
    unstarted = sorted((rid for rid in first if rid not in started), key=first.__getitem__, reverse=True)
    yield from (latest[rid] for rid in unstarted)


def newest_first(storage: Storage, name: str | None) -> Iterator[AnyRecord]:
    """The runs in the listing's order, read lazily: a log is read further only as the merge needs it."""
    return _merge(_from_end(storage, prefix, model) for prefix, model in run_logs(storage, name))
