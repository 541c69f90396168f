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
time, so the first page costs reads for about that page alone). Both are
:mod:`mlops_kit.core.storage.runorder`'s, shared with ``Pipeline.runs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeAlias

from mlops_kit.core.storage import runorder
from mlops_kit.pipeline import RunRecord, pipeline_catalog
from mlops_kit.tracking import _store
from mlops_kit.tracking._records import TrackedRun

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["AnyRecord", "folded", "newest_first", "run_logs"]

AnyRecord: TypeAlias = "TrackedRun | RunRecord"


def run_logs(storage: Storage, name: str | None) -> list[tuple[str, type[TrackedRun] | type[RunRecord]]]:
    """The logs of run records to list: every experiment's and pipeline's, or those called ``name``."""
    found: list[tuple[str, type[TrackedRun] | type[RunRecord]]] = []
    for catalog, model in (
        (_store.experiment_catalog(storage), TrackedRun),
        (pipeline_catalog(storage), RunRecord),
    ):
        found.extend((catalog.prefix_of(n), model) for n in (catalog.names() if name is None else [name]))
    return found


def folded(storage: Storage, name: str | None) -> Iterator[AnyRecord]:
    """Every run's latest record, in the listing's order (each log's fold is cached and caught up)."""
    return runorder.merge(
        runorder.folded(storage, prefix, model) for prefix, model in run_logs(storage, name)
    )


def newest_first(storage: Storage, name: str | None, *, wanted: int | None = None) -> Iterator[AnyRecord]:
    """The runs in the listing's order, read lazily: a log is read further only as the merge needs it.

    ``wanted``: the runs the caller expects to take, a hint for the first block of each log
    (used when ``name`` is given: with every log, a first block each is read anyway).
    """
    hint = wanted if name is not None else None
    return runorder.merge(
        runorder.from_end(storage, prefix, model, wanted=hint) for prefix, model in run_logs(storage, name)
    )
