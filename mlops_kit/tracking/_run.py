"""``ActiveRun``: the live handle of a tracked run, made by ``start_run``."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from mlops_kit.core.arguments import check_metric, check_params, check_tags
from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.heartbeat import Heartbeat, Pulse
from mlops_kit.core.lineage import RunLink
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import Storage
from mlops_kit.pipeline import MetricPoint, check_metric_step, route_outside_steps, stop_routing
from mlops_kit.tracking import _artifacts, _context, _store
from mlops_kit.tracking._records import Artifact, RunEvents, TrackedRun

__all__ = ["ActiveRun"]

_FLUSH_POINTS = 1_000  # buffered metric values that trigger a write before the next heartbeat


class ActiveRun:
    """A tracked run in progress: log on it, then end it (a ``with`` block ends it for you).

    Made by :func:`start_run`. Every ``log_*`` method checks its arguments before
    writing anything; after the run has ended they raise :class:`ConfigError`.
    Safe to use from several threads.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> run = mk.start_run("exp", storage=mk.MemoryStorage(), params={"C": 1.0})
    >>> run.log_metric("auc", 0.9)
    >>> run.status, run.metrics
    ('running', {'auc': 0.9})
    >>> run.end().status
    'finished'
    >>> run.log_metric("auc", 0.95)
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: Run ... of experiment 'exp' has ended (finished); ...
    """

    def __init__(self, record: TrackedRun, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        self._start = record
        self._start_monotonic = clock.monotonic()
        self._params, self._tags = dict(record.params), dict(record.tags)
        self._metrics: dict[str, float] = {}
        self._artifacts: dict[str, Artifact] = {}
        self._pending: list[MetricPoint] = []
        self._lock = threading.RLock()
        self._final: TrackedRun | None = None
        self._tokens: list[tuple[Any, Any]] = []
        self._pulse = Pulse(self._beat, record.heartbeat_s, f"mlops-kit-heartbeat-{record.id}")
        self._pulse.start()

    # -- identity and current state ---------------------------------------------

    @property
    def id(self) -> str:
        """The run's id."""
        return self._start.id

    @property
    def experiment(self) -> str:
        """The experiment's name."""
        return self._start.experiment

    @property
    def link(self) -> RunLink:
        """A link for lineage: ``registry.register(..., run=run)`` records it."""
        return self._start.link

    @property
    def status(self) -> str:
        """``running`` until the run ends, then ``finished`` or ``failed``."""
        return self._final.status if self._final is not None else "running"

    @property
    def record(self) -> TrackedRun:
        """The run as it stands, as a frozen record (the stored end record once it has ended)."""
        with self._lock:
            if self._final is not None:
                return self._final
            current = self._start.evolve(
                params=self._params, tags=self._tags, metrics=self._metrics, artifacts=self._artifacts
            )
            current._storage = self.storage  # artifacts and history read from the run's storage
            return current

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the params logged so far."""
        with self._lock:
            return dict(self._params)

    @property
    def metrics(self) -> dict[str, float]:
        """A copy of the last value of each metric logged so far."""
        with self._lock:
            return dict(self._metrics)

    @property
    def tags(self) -> dict[str, str]:
        """A copy of the tags set so far."""
        with self._lock:
            return dict(self._tags)

    # -- logging -----------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params (str, int, float, bool or None values); a name logged again takes the new value."""
        checked = check_params(params)
        self._write(params=checked)

    def set_tag(self, key: str, value: str) -> None:
        """Set tag ``key`` to ``value`` (a string)."""
        checked = check_tags({key: value})
        self._write(tags=checked)

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record a value of a metric (NaN and infinities included), optionally at a ``step``.

        Raises
        ------
        InvalidNameError
            If ``name`` breaks the name rule.
        ConfigError
            If ``value`` is not a real number, or ``step`` not a non-negative integer.
        """
        number = check_metric(name, value, finite=False)
        point = MetricPoint(name=name, value=number, step=check_metric_step(name, step))
        with self._lock:
            self._check_active()
            self._pending.append(point)
            self._metrics[name] = number
            if len(self._pending) >= _FLUSH_POINTS:
                self._flush()

    def log_artifact(self, data: str | Any, name: str | None = None) -> Artifact:
        """Store a file (a path) or bytes as an artifact of the run.

        The bytes go to a content-addressed blob (identical content is stored once)
        and are verified on every read. A name logged again points to the new content.

        Parameters
        ----------
        data : str, os.PathLike or bytes
            A path to an existing file, or the bytes themselves.
        name : str, optional
            The artifact's name; default the file's name. Required for bytes.

        Raises
        ------
        NotFoundError
            If the path is not an existing file. Nothing is written.
        InvalidNameError, ConfigError
            If the name is invalid or missing, or ``data`` is neither a path nor bytes.
        """
        self._check_active()
        artifact = _artifacts.store_artifact(self.storage, data, name)
        self._write(artifacts=(artifact,))
        return artifact

    def log_figure(self, figure: Any, name: str = "figure.png") -> Artifact:
        """Store a matplotlib figure as an image artifact (the format follows the name: png, svg, pdf)."""
        self._check_active()
        name = check_name(name, "artifact name")
        return self.log_artifact(_artifacts.figure_bytes(figure, name), name)

    def log_dict(self, value: dict[str, Any], name: str) -> Artifact:
        """Store a JSON-able dict as a JSON artifact called ``name``."""
        self._check_active()
        name = check_name(name, "artifact name")
        return self.log_artifact(_artifacts.dict_bytes(value, name), name)

    def metric_history(self, name: str | None = None) -> list[MetricPoint]:
        """Every value logged so far (of ``name`` only, if given), in logging order (flushes first)."""
        self.flush()
        return self.record.metric_history(name)

    def flush(self) -> None:
        """Write the buffered metric values now (the heartbeat and :meth:`end` also do)."""
        with self._lock:
            if self._pending:
                self._flush()

    # -- ending ------------------------------------------------------------------

    def end(self, error: BaseException | None = None) -> TrackedRun:
        """End the run: ``finished``, or ``failed`` with ``error``'s message; return the stored record.

        Ending twice returns the same record.
        """
        with self._lock:
            if self._final is not None:
                return self._final
        self._pulse.stop()
        with self._lock:
            if self._pending:
                self._flush()
            message = None if error is None else f"{type(error).__name__}: {error}"
            final = self.record.evolve(
                status="failed" if error is not None else "finished",
                ended_at=self.clock.now().astimezone(dt.UTC),
                duration_s=self.clock.monotonic() - self._start_monotonic,
                error=message,
            )
            self.storage.append(_store.runs_log(self.experiment), final)
            final._storage = self.storage
            self._final = final
            return final

    def __enter__(self) -> ActiveRun:
        self._tokens.append((route_outside_steps(self.log_metric), _context.CURRENT.set(self)))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        routing, current = self._tokens.pop()
        _context.CURRENT.reset(current)
        stop_routing(routing)
        self.end(error)

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, experiment={self.experiment!r}, status={self.status!r})"

    # -- internals ---------------------------------------------------------------

    def _check_active(self) -> None:
        if self._final is not None:
            raise ConfigError(
                f"Run {self.id} of experiment {self.experiment!r} has ended ({self._final.status}); "
                "start a new run with mk.start_run(...) to log more."
            )

    def _write(self, **changes: Any) -> None:
        """Append one event batch (with the buffered metrics, so the log keeps logging order)."""
        with self._lock:
            self._check_active()
            self._flush(**changes)
            self._params.update(changes.get("params", {}))
            self._tags.update(changes.get("tags", {}))
            self._artifacts.update({a.name: a for a in changes.get("artifacts", ())})

    def _flush(self, **changes: Any) -> None:
        batch = RunEvents(at=self.clock.now().astimezone(dt.UTC), metrics=tuple(self._pending), **changes)
        self.storage.append(_store.events_log(self.id), batch)
        self._pending.clear()  # only once stored: a failed write keeps them for the next try

    def _beat(self) -> None:
        with self._lock:
            if self._final is not None:
                return
            if self._pending:
                self._flush()
        self.storage.put_record(
            _store.heartbeat_key(self.id), Heartbeat(at=self.clock.now().astimezone(dt.UTC))
        )
