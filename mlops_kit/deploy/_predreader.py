"""Reading an endpoint's stored prediction log without serving it (no model is loaded).

The log is a list of :class:`PredictionBatch` records, each pointing to a Parquet blob
and carrying its rows' time span. The newest rows are found from the newest batches:
their records are read from the end of the log (a page at a time) and only the blobs
that can hold one of the newest ``limit`` rows are fetched, so the cost follows the
rows asked for, not the length of the log.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.storage.logs import last_seq
from mlops_kit.deploy._records import PredictionBatch
from mlops_kit.deploy._state import predictions_log

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.storage import Storage

__all__ = ["check_since", "stored_predictions"]

_PAGE = 64  # batch records read per request when walking back from the end of the log
_SKEW = dt.timedelta(minutes=1)  # writers' clocks and append delays agree within this


def check_since(since: object) -> dt.datetime | None:
    """``since=`` of a prediction-log read: ``None`` or a timezone-aware datetime."""
    if since is not None and (not isinstance(since, dt.datetime) or since.tzinfo is None):
        raise ConfigError(
            f"since= must be a timezone-aware datetime (the log is in UTC), got {since!r}; "
            "for example datetime.now(timezone.utc) - timedelta(hours=1)."
        )
    return since


def stored_predictions(
    storage: Storage, endpoint: str, since: dt.datetime | None = None, limit: int | None = None
) -> pd.DataFrame:
    """The flushed rows of ``endpoint``'s prediction log, oldest first (see
    :meth:`LocalDeployer.predictions`)."""
    import pandas as pd

    from mlops_kit.deploy._logframe import combine

    prefix = predictions_log(endpoint)
    batches = _wanted(storage, prefix, since, limit)
    frames = [pd.read_parquet(io.BytesIO(storage.get_blob(b.blob))) for b in batches]
    frame = combine(frames, since)
    if limit is not None:
        # Batches of several processes may overlap in time: order rows by time, keep the newest.
        frame = frame.sort_values("time", kind="stable").tail(limit)
    return frame.reset_index(drop=True)


def _wanted(
    storage: Storage, prefix: str, since: dt.datetime | None, limit: int | None
) -> list[PredictionBatch]:
    """The batches that can hold a wanted row, oldest first."""
    if limit is None and since is None:
        return [e.record for e in storage.read_log(prefix, PredictionBatch)]
    chosen: list[PredictionBatch] = []
    rows = 0
    cutoff = since  # wanted rows are at or after it
    upto = last_seq(storage, prefix)
    while upto > 0:
        after = max(0, upto - _PAGE)
        for entry in reversed(storage.read_log(prefix, PredictionBatch, after=after, upto=upto)):
            batch = entry.record
            if cutoff is not None and _older_before(batch, cutoff):
                return chosen[::-1]
            if cutoff is not None and batch.last_at < cutoff:
                continue  # a slow writer's batch, appended late: older ones may still be wanted
            chosen.append(batch)
            rows += batch.n_rows
            if limit is not None and rows >= limit:  # the newest `limit` rows are all at or after this
                bound = min(b.first_at for b in chosen)
                cutoff = bound if cutoff is None else max(cutoff, bound)
        upto = after
    return chosen[::-1]


def _older_before(batch: PredictionBatch, cutoff: dt.datetime) -> bool:
    """Whether every batch before ``batch`` in the log holds only rows before ``cutoff``.

    Batches of several writers (replicas) arrive out of time order: a writer flushing
    every few seconds appends rows older than the batch before it. Every earlier batch
    was appended before this one, so its rows are no newer than this one's append
    (``flushed_at``; ``last_at`` for batches written before it was recorded), give or
    take the writers' clock skew and append delay, taken as at most ``_SKEW``.
    """
    return (batch.flushed_at or batch.last_at) + _SKEW < cutoff
