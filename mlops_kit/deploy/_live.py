"""The live state of one endpoint in this process, shared by all its handles.

One :class:`Live` exists per (storage, endpoint) in a process. It holds the routing
snapshot, the request statistics and the prediction log, and runs one daemon thread
that polls the endpoint's events log (to follow deploys made by other processes) and
flushes the prediction log. Deploys made through a deployer in this process refresh
it directly, so every handle sees them at once.
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401  # its exit hook is registered before ours (see below)
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.deploy._calls import Call, Outcome, new_request_id
from mlops_kit.deploy._inputs import as_frame, cast_like
from mlops_kit.deploy._predlog import Entry, PredictionLog
from mlops_kit.deploy._routing import Snapshot, route, stitch
from mlops_kit.deploy._served import ModelFailed, Served
from mlops_kit.deploy._shadow import ShadowWorker
from mlops_kit.deploy._state import EndpointState, endpoint_log
from mlops_kit.deploy._stats import Stats

if TYPE_CHECKING:
    from mlops_kit.deploy._deployer import LocalDeployer

__all__ = ["Live", "attach", "detach", "find"]

_log = logging.getLogger("mlops_kit.deploy")
_SHADOW_QUEUE = 1_000
_SETTLE_SECONDS = 30.0  # how long predictions() waits for the shadow's queued requests
_RAW_ROWS = 64  # up to this many rows, plain columns stay lists: joined cheaply, in batches and in the log


class Live:
    """An endpoint's routing snapshot, statistics, prediction log and background thread."""

    def __init__(self, deployer: LocalDeployer, name: str) -> None:
        self.deployer = deployer
        self.name = name
        self.storage = deployer.storage
        self.clock = deployer.clock
        self.snapshot = Snapshot(EndpointState())
        self.stats = Stats(
            self.storage,
            name,
            self.clock,
            since=lambda: self.snapshot.state.tail,
            flush_interval=deployer.flush_interval,
        )
        self.handles = 0
        self.log: PredictionLog | None = None
        if deployer.log_predictions:
            self.log = PredictionLog(
                self.storage,
                name,
                self.clock,
                flush_rows=deployer.flush_rows,
                flush_interval=deployer.flush_interval,
                max_rows=deployer.max_buffer_rows,
                max_bytes=deployer.max_buffer_bytes,
                max_extra_columns=deployer.max_extra_columns,
                on_full=self._wake,
                cast=self._cast_for_log,
                signature=self._signature_names,
            )
        self._rng = random.Random()
        self._refreshing = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self.shadow = ShadowWorker(
            name,
            self.stats,
            self._log_entry,
            max_items=_SHADOW_QUEUE,
            max_bytes=deployer.max_buffer_bytes // 4,
        )

    # -- state ---------------------------------------------------------------------

    def refresh(self) -> Snapshot:
        """Catch up with the events log and swap in a new snapshot if anything changed.

        Models are loaded (and health-checked) before the swap; if one fails to load,
        the current snapshot stays and the next poll tries again.
        """
        with self._refreshing:
            current = self.snapshot
            state = endpoint_log(self.storage, self.name).read(lambda s: s)
            if state is current.state and current.state.tail:
                return current
            primary = self.deployer._served(state.primary) if state.primary else None
            candidate = self.deployer._served(state.candidate) if state.candidate else None
            snapshot = Snapshot(state, primary, candidate)
            self.snapshot = snapshot  # one reference assignment: atomic for readers
            return snapshot

    def start(self) -> None:
        """Start the background thread (polling and flushing)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"mlops-kit-endpoint-{self.name}", daemon=True
            )
            self._thread.start()

    def _wake(self) -> None:
        self._wakeup.set()

    def _run(self) -> None:
        interval = self.deployer.poll_interval
        next_poll = time.monotonic() + interval
        while not self._stopping.is_set():
            self._wakeup.wait(max(0.0, next_poll - time.monotonic()))
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + interval
                try:
                    self.refresh()
                except Exception as exc:  # keep serving what we have; retry at the next poll
                    _log.warning("Endpoint %r: could not refresh its deployment state: %s", self.name, exc)
            self._flush_if_needed()

    def _flush_if_needed(self, force: bool = False) -> None:
        if force or self.stats.due:
            try:
                self.stats.flush()
            except Exception as exc:
                _log.warning(
                    "Endpoint %r: could not flush its request counts (will retry): %s", self.name, exc
                )
        log = self.log
        if log is None:
            return
        if force or ((log.due or log.full) and time.monotonic() >= self._retry_at):
            try:
                log.flush()
            except Exception as exc:
                self._retry_at = time.monotonic() + self.deployer.poll_interval  # not on every request
                _log.warning(
                    "Endpoint %r: could not flush its prediction log (will retry): %s", self.name, exc
                )

    def close(self) -> None:
        """Stop the threads and flush what is buffered."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.shadow.close()
        self.flush()

    def flush(self) -> int:
        """Write the request counts and the buffered prediction rows now; return how many rows."""
        self.stats.flush()
        return 0 if self.log is None else self.log.flush()

    # -- requests ------------------------------------------------------------------

    def infer(
        self,
        data: Any,
        method: str = "predict",
        *,
        version: str | None = None,
        request_id: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> Outcome:
        """Route, check, predict, count and log one request.

        Raises
        ------
        NotFoundError
            Nothing is deployed, or ``version`` is not live.
        SchemaError
            The input does not fit the signature.
        ConfigError
            The model has no ``method``.
        ModelFailed
            The model raised.
        """
        call = self.begin(data, method, version=version, request_id=request_id, raw=raw)
        if isinstance(call, Outcome):
            return call
        return self.finish(call, self.predict(call))

    def begin(
        self,
        data: Any,
        method: str = "predict",
        *,
        version: str | None = None,
        request_id: str | None = None,
        raw: dict[str, list[Any]] | None = None,
    ) -> Call | Outcome:
        """Everything before the model runs: route the request and check its input.

        Returns the :class:`Call` to run (alone with :meth:`predict`, or batched with
        other calls to the same version), or the finished :class:`Outcome` of a
        request whose rows a keyed canary split between two versions. ``raw`` is
        ``data`` when it is the request's parsed JSON columns: if they hold exactly
        the signature's columns with plain values
        (:meth:`~mlops_kit.deploy._inputs.InputChecker.plain`), no table is made
        here; the model's input is made later, for this call alone or for a batch.

        Raises
        ------
        Like :meth:`infer`; a request refused here is counted as an error.
        """
        snap = self.snapshot  # the only read of the snapshot in this request
        start = time.perf_counter()
        request_id = request_id or new_request_id()
        made: list[pd.DataFrame] = [] if raw is not None else [as_frame(data)]

        def frame() -> pd.DataFrame:  # the request's table, made at most once
            if not made:
                made.append(as_frame(data))
            return made[0]

        way = route(snap, self.name, method, version, frame, self._rng)
        target = way.target
        if not target.has(method):
            raise ConfigError(f"Model {target.label} ({target.mv.model_class}) has no {method} method.")
        if not made and raw is not None and target.checker.plain(raw):
            rows = len(next(iter(raw.values())))
            if rows <= _RAW_ROWS:
                return Call(target, method, rows, None, None, raw, request_id, start, way.shadow)
            # Many rows: typed columns now, so the log keeps arrays rather than Python objects.
            inputs = target.checker.plain_frame(raw)
            return Call(target, method, rows, inputs, inputs, None, request_id, start, way.shadow)
        if way.mask is not None:
            assert way.candidate is not None
            return self._split(
                frame(), raw, method, way.mask, way.candidate, way.primary, request_id, start, way.shadow
            )
        inputs = self._prepare(target, frame())
        return Call(target, method, len(frame()), inputs, frame(), raw, request_id, start, way.shadow)

    def predict(self, call: Call) -> Any:
        """Run the model of ``call`` on its input alone (a failure is counted as an error).

        Raises
        ------
        SchemaError
            The input of a call made from parsed columns does not fit after all.
        ModelFailed
            The model raised.
        """
        inputs = call.inputs
        if inputs is None:  # made from plain columns (InputChecker.plain)
            inputs = self._prepare(call.target, as_frame(call.raw), plain=True)
        try:
            return call.target.call(call.method, inputs)
        except ModelFailed:
            self.stats.record(call.target.label, call.rows, 0.0, ok=False)
            raise

    def finish(self, call: Call, output: Any) -> Outcome:
        """Count and log a call the model answered with ``output``; its :class:`Outcome`."""
        latency = (time.perf_counter() - call.start) * 1000.0
        label = call.target.label
        self.stats.record(label, call.rows, latency, ok=True)
        outcome = Outcome(output, label, None, call.request_id, latency)
        self._record(call.rows, call.frame, call.raw, call.method, outcome, call.shadow)
        return outcome

    def _prepare(self, target: Served, frame: pd.DataFrame, plain: bool = False) -> pd.DataFrame:
        try:
            return target.checker.prepare(frame, plain=plain)
        except SchemaError:
            self.stats.record(target.label, len(frame), 0.0, ok=False, client=True)
            raise

    def _split(
        self,
        frame: pd.DataFrame,
        raw: dict[str, Any] | None,
        method: str,
        mask: np.ndarray,
        candidate: Served,
        primary: Served,
        request_id: str,
        start: float,
        shadow: Served | None,
    ) -> Outcome:
        """A request whose rows a keyed canary sends to both versions: each predicts its rows."""
        outputs = []
        for target, rows in ((candidate, frame[mask]), (primary, frame[~mask])):
            inputs = self._prepare(target, rows)
            call = Call(target, method, len(rows), inputs, rows, None, request_id, start, None)
            outputs.append(self.predict(call))
        output = stitch(mask, *outputs)
        latency = (time.perf_counter() - start) * 1000.0
        chosen = int(mask.sum())
        self.stats.record(candidate.label, chosen, latency, ok=True)
        self.stats.record(primary.label, len(frame) - chosen, latency, ok=True)
        versions = np.where(mask, candidate.label, primary.label).astype(object)
        outcome = Outcome(output, f"{primary.label},{candidate.label}", versions, request_id, latency)
        self._record(len(frame), frame, raw, method, outcome, shadow)
        return outcome

    def _record(
        self,
        rows: int,
        frame: pd.DataFrame | None,
        raw: dict[str, Any] | None,
        method: str,
        outcome: Outcome,
        shadow: Served | None,
    ) -> None:
        if self.log is None and shadow is None:
            return
        entry = Entry(
            time=self.clock.now(),
            request_id=outcome.request_id,
            n_rows=rows,
            inputs=raw if raw is not None else frame.copy(deep=False),  # type: ignore[union-attr]
            method=method,
            output=outcome.output,
            version=outcome.versions if outcome.versions is not None else outcome.version,
            latency_ms=outcome.latency_ms,
        )
        data = frame if frame is not None else raw
        if shadow is not None and shadow.has(method) and self.shadow.submit(shadow, data, method, entry):
            return  # the worker logs it once the shadow answered
        self._log_entry(entry)

    def _log_entry(self, entry: Entry) -> None:
        if self.log is not None:
            self.log.add(entry)

    def predictions(self, since: Any = None) -> pd.DataFrame:
        """The prediction log, with every request answered so far (the shadow's queued ones
        waited for, up to a limit; past it they are included without the shadow's output)."""
        if self.log is None:
            raise ConfigError(
                f"Endpoint {self.name!r} keeps no prediction log: its deployer has log_predictions=False."
            )
        with self.shadow.settled(_SETTLE_SECONDS) as pending:
            return self.log.read(since, pending)

    def _cast_for_log(self, frame: pd.DataFrame) -> pd.DataFrame:
        primary = self.snapshot.primary
        return cast_like(primary.checker if primary else None, frame)

    def _signature_names(self) -> list[str]:
        primary = self.snapshot.primary
        return list(primary.checker.names) if primary is not None else []


# -- the live endpoints of this process ---------------------------------------------

_LIVE: dict[tuple[str, str], Live] = {}
_LOCK = threading.Lock()


def find(deployer: LocalDeployer, name: str) -> Live | None:
    """The live endpoint for ``name`` on the deployer's storage, if one is attached."""
    return _LIVE.get((deployer.storage.url, name))


def attach(deployer: LocalDeployer, name: str) -> Live:
    """The live endpoint for ``name`` (made, refreshed and started if new); counts a handle."""
    key = (deployer.storage.url, name)
    with _LOCK:
        live = _LIVE.get(key)
        if live is None:
            live = Live(deployer, name)
            live.refresh()
            live.start()
            _LIVE[key] = live
        live.handles += 1
        return live


def detach(live: Live) -> None:
    """Drop a handle; the last one closes the live endpoint (flushing its log)."""
    with _LOCK:
        live.handles -= 1
        if live.handles > 0:
            return
        _LIVE.pop((live.storage.url, live.name), None)
    live.close()


_CLOSED_AT_EXIT: list[Live] = []


def _close_all() -> None:
    """At interpreter exit: flush every prediction log (nothing logged is lost).

    This runs among threading's exit hooks, before concurrent.futures refuses new work
    (a storage client or pyarrow may need a thread pool to write), and again from
    ``atexit`` for anything logged by threads that ran on after the first call.
    """
    with _LOCK:
        lives = list(_LIVE.values())
        _LIVE.clear()
    for live in lives:
        try:
            live.close()
        except Exception as exc:
            _log.error("Endpoint %r: could not flush its prediction log at exit: %s", live.name, exc)
    _CLOSED_AT_EXIT.extend(lives)


def _flush_late() -> None:
    _close_all()
    for live in _CLOSED_AT_EXIT:
        if live.log is not None and live.log.buffered_rows:
            try:
                live.log.flush()
            except Exception as exc:
                _log.error("Endpoint %r: could not flush its prediction log at exit: %s", live.name, exc)


_early = getattr(threading, "_register_atexit", None)  # CPython: runs before thread pools shut down
if _early is not None:
    _early(_close_all)
atexit.register(_flush_late)
