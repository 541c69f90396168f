"""``start_run``: begin a tracked run of an experiment."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Mapping
from typing import Any

from mlops_kit.core.arguments import StorageLike, check_params, check_storage, check_tags
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock, current_user
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.tracking import _store
from mlops_kit.tracking._records import TrackedRun
from mlops_kit.tracking._run import ActiveRun

__all__ = ["start_run"]


def start_run(
    experiment: str,
    *,
    storage: StorageLike = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    heartbeat: float = 30.0,
    clock: Clock | None = None,
) -> ActiveRun:
    """Start a tracked run of ``experiment``: params, metrics, tags and artifacts from any code.

    Use it as a context manager: the run ends ``finished`` when the block ends, or
    ``failed`` with the exception's message (the exception propagates). Inside the
    block, :func:`mlops_kit.log_metric` records on the run too (and :func:`mlops_kit.autolog`
    logs scikit-learn fits). Tracked runs and pipeline runs are listed together by
    :func:`mlops_kit.runs`.

    Parameters
    ----------
    experiment : str
        What the run belongs to (runs of one experiment are compared together).
    storage : Storage, str or None
        Where the run is recorded; default ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
    params : dict of str to scalar, optional
        Configuration of the run (str, int, float, bool or None values).
    tags : dict of str to str, optional
        Labels.
    heartbeat : float
        Seconds between the signs of life the run's process records. Metrics are
        buffered and written at each heartbeat (or every 1,000 values, and at the
        end), so a process killed mid-run loses at most that much of its metrics;
        readers show the run as ``unfinished`` after three missed heartbeats plus a
        minute.
    clock : Clock, optional
        Source of timestamps (a fake clock in tests).

    Returns
    -------
    ActiveRun
        The live run; its record is already stored with status ``running``.

    Raises
    ------
    InvalidNameError
        If ``experiment``, a param name or a tag key breaks the name rule. Nothing is written.
    ConfigError
        If a param or tag value, ``heartbeat`` or ``storage`` is of the wrong kind.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> store = mk.MemoryStorage()
    >>> with mk.start_run("churn-exp", storage=store, params={"C": 0.5}, tags={"team": "crm"}) as run:
    ...     for epoch in range(3):
    ...         run.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    ...     mk.log_metric("auc", 0.91)  # records on the current run
    ...     _ = run.log_dict({"threshold": 0.4}, "config.json")
    >>> stored = mk.runs(store, experiment="churn-exp")[0]
    >>> stored.status, dict(stored.metrics), sorted(stored.artifacts)
    ('finished', {'loss': 0.333..., 'auc': 0.91}, ['config.json'])
    >>> [p.value for p in stored.metric_history("loss")]
    [1.0, 0.5, 0.333...]
    """
    name = check_name(experiment, "experiment name")
    checked_params, checked_tags = check_params(params), check_tags(tags)
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int | float) or not 0 < heartbeat < math.inf:
        raise ConfigError(f"heartbeat= must be a positive number of seconds, got {heartbeat!r}.")
    store = resolve_storage(check_storage(storage))
    clock = clock or SYSTEM_CLOCK
    started = clock.now().astimezone(dt.UTC)
    record = TrackedRun(
        id=f"{started:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}",  # the form of pipeline run ids: they sort together
        experiment=name,
        status="running",
        params=checked_params,
        tags=checked_tags,
        started_at=started,
        heartbeat_s=float(heartbeat),
        created_by=current_user(),
    )
    _store.experiment_catalog(store).add(name, lambda: store.append(_store.runs_log(name), record))
    return ActiveRun(record, store, clock)
