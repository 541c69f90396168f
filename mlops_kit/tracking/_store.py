"""Where tracked runs live, and how a reader sees them (live events folded in, liveness judged).

- ``experiments/<experiment>/runs``: the log of run records (one when a run starts,
  one when it ends); its fold is each run's latest record.
- ``tracking/<run id>/events``: the log of what the run logged, in batches.
- ``tracking/<run id>/heartbeat.json``: when the run's process was last alive.

Keeping events and heartbeats out of ``experiments/`` keeps the listing of experiments
(one listing of that prefix) as small as the number of run records.
"""

from __future__ import annotations

import datetime as dt

from mlops_kit.core.heartbeat import STALE_MARGIN, STALE_PERIODS, stale_message
from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.catalog import Catalog
from mlops_kit.core.storage.logstate import Fold, LogState
from mlops_kit.tracking._records import RunEvents, TrackedRun

__all__ = [
    "STALE_MARGIN",
    "STALE_PERIODS",
    "apply_events",
    "attach",
    "events_log",
    "experiment_catalog",
    "experiment_names",
    "experiment_runs",
    "heartbeat_key",
    "judge",
    "read_events",
    "runs_log",
]

_ROOT = "experiments"


def runs_log(experiment: str) -> str:
    """The log prefix of an experiment's run records."""
    return f"{_ROOT}/{experiment}/runs"


def events_log(run_id: str) -> str:
    """The log prefix of one run's events."""
    return f"tracking/{run_id}/events"


def heartbeat_key(run_id: str) -> str:
    """The key of one run's heartbeat."""
    return f"tracking/{run_id}/heartbeat.json"


def experiment_catalog(storage: Storage) -> Catalog:
    """The names of a storage's experiments (a catalog log: no listing)."""
    return Catalog(storage, _ROOT, "runs")


def experiment_names(storage: Storage) -> list[str]:
    """Names of the experiments with at least one tracked run."""
    return experiment_catalog(storage).names()


def _latest(runs: dict[str, TrackedRun], seq: int, record: TrackedRun) -> dict[str, TrackedRun]:
    runs[record.id] = record  # a run's end record follows its start record
    return runs


_RUNS: Fold[dict[str, TrackedRun], TrackedRun] = Fold("tracked-runs", TrackedRun, initial=dict, apply=_latest)


def experiment_runs(storage: Storage, experiment: str) -> dict[str, TrackedRun]:
    """The latest stored record of each run of ``experiment`` (caught up with the log)."""
    return LogState.shared(storage, runs_log(experiment), _RUNS).read(dict)


def read_events(storage: Storage, run_id: str) -> list[RunEvents]:
    """Every batch of events the run logged, in order."""
    return [entry.record for entry in storage.read_log(events_log(run_id), RunEvents)]


def apply_events(record: TrackedRun, events: list[RunEvents]) -> TrackedRun:
    """``record`` (a start record) with what the run logged since folded in."""
    params, tags = dict(record.params), dict(record.tags)
    metrics, artifacts = dict(record.metrics), dict(record.artifacts)
    for batch in events:
        params.update(batch.params)
        tags.update(batch.tags)
        metrics.update({p.name: p.value for p in batch.metrics})
        artifacts.update({a.name: a for a in batch.artifacts})
    return record.evolve(params=params, tags=tags, metrics=metrics, artifacts=artifacts)


def judge(storage: Storage, record: TrackedRun, now: dt.datetime) -> TrackedRun:
    """How a reader sees a stored record: a running one gets its events, and is ``unfinished``
    if its process has not sent a heartbeat for ``STALE_PERIODS`` periods (plus a margin).

    A record that has ended is returned as it is (the log's cached object: do not change it).
    """
    if record.status != "running":
        return record
    seen = apply_events(record, read_events(storage, record.id))
    why = stale_message(storage, heartbeat_key(record.id), record.started_at, record.heartbeat_s, now)
    return seen if why is None else seen.evolve(status="unfinished", error=why)


def attach(storage: Storage, record: TrackedRun) -> TrackedRun:
    """A copy of ``record`` that reads its artifacts and history from ``storage``."""
    copy = record.model_copy()  # the log's cached record stays untouched
    copy._storage = storage
    return copy
