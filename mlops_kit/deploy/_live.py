"""The live state of one endpoint in this process, shared by all its handles.

One :class:`Live` exists per (storage, endpoint) in a process. It holds the routing
snapshot, the request statistics and the prediction log, and runs one daemon thread
that polls the endpoint's events log (to follow deploys made by other processes) and
flushes the prediction log. Deploys made through a deployer in this process refresh
it directly, so every handle sees them at once.
"""

from __future__ import annotations

import atexit
import logging
import queue
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.deploy._calls import Call, Outcome, new_request_id
from mlops_kit.deploy._inputs import as_frame, cast_like
from mlops_kit.deploy._predlog import Entry, PredictionLog
from mlops_kit.deploy._routing import Snapshot, canary_mask, stitch
from mlops_kit.deploy._served import ModelFailed, Served
from mlops_kit.deploy._state import EndpointState, endpoint_log
from mlops_kit.deploy._stats import Stats

if TYPE_CHECKING:
    from mlops_kit.deploy._deployer import LocalDeployer

__all__ = ["Live", "attach", "detach", "find"]

_log = logging.getLogger("mlops_kit.deploy")
_SHADOW_QUEUE = 1_000


class Live:
    """An endpoint's routing snapshot, statistics, prediction log and background thread."""

    def __init__(self, deployer: LocalDeployer, name: str) -> None:
        self.deployer = deployer
        self.name = name
        self.storage = deployer.storage
        self.clock = deployer.clock
        self.snapshot = Snapshot(EndpointState())
        self.stats = Stats()
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
                on_full=self._wake,
                cast=self._cast_for_log,
            )
        self._rng = random.Random()
        self._refreshing = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._shadow: queue.Queue[tuple[Served, Any, str, Entry] | None] = queue.Queue(_SHADOW_QUEUE)
        self._shadow_thread: threading.Thread | None = None
        self.shadow_dropped = 0

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
        log = self.log
        if log is None:
            return
        if force or log.due or log.buffered_rows >= log.flush_rows:
            try:
                log.flush()
            except Exception as exc:
                _log.warning(
                    "Endpoint %r: could not flush its prediction log (will retry): %s", self.name, exc
                )

    def close(self) -> None:
        """Stop the threads and flush what is buffered."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        if self._shadow_thread is not None:
            self._shadow.put(None)
            self._shadow_thread.join(timeout=30)
        if self.log is not None:
            self.log.flush()

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
        primary = snap.primary
        if primary is None:
            raise NotFoundError(
                f"Endpoint {self.name!r} serves no model: nothing was deployed, or it was undeployed. "
                f"Deploy one with deployer.deploy('model@alias', endpoint={self.name!r})."
            )
        frame = None if raw is not None else as_frame(data)
        request_id = request_id or new_request_id()
        target: Served = primary
        mask: np.ndarray | None = None
        candidate = snap.candidate
        state = snap.state
        if version is not None:
            live = snap.live
            if version not in live:
                raise NotFoundError(
                    f"Version {version!r} is not live on endpoint {self.name!r}; live: {sorted(live)}."
                )
            target = live[version]
        elif candidate is not None and state.strategy == "canary" and candidate.has(method):
            if state.key is None:
                target = candidate if self._rng.random() < (state.weight or 0.0) else primary
            else:
                frame = as_frame(data) if frame is None else frame
                chosen = canary_mask(frame, state.weight or 0.0, state.key)
                if chosen.all():
                    target = candidate
                elif chosen.any():
                    mask = chosen
        if not target.has(method):
            raise ConfigError(f"Model {target.label} ({target.mv.model_class}) has no {method} method.")
        shadow = candidate if state.strategy == "shadow" and version is None else None
        if frame is None and raw is not None and target.checker.plain(raw):
            rows = len(next(iter(raw.values())))
            return Call(target, method, rows, None, None, raw, request_id, start, shadow)
        frame = as_frame(data) if frame is None else frame
        if mask is not None:
            return self._split(frame, raw, method, mask, candidate, primary, request_id, start, shadow)  # type: ignore[arg-type]
        inputs = self._prepare(target, frame)
        return Call(target, method, len(frame), inputs, frame, raw, request_id, start, shadow)

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
            self.stats.record(target.label, len(frame), 0.0, ok=False)
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
        if shadow is not None and shadow.has(method):
            self._start_shadow()
            try:
                self._shadow.put_nowait((shadow, frame if frame is not None else raw, method, entry))
                return
            except queue.Full:
                self.shadow_dropped += 1
        if self.log is not None:
            self.log.add(entry)

    def _start_shadow(self) -> None:
        if self._shadow_thread is None:
            with self._refreshing:
                if self._shadow_thread is None:
                    self._shadow_thread = threading.Thread(
                        target=self._run_shadow, name=f"mlops-kit-shadow-{self.name}", daemon=True
                    )
                    self._shadow_thread.start()

    def _run_shadow(self) -> None:
        while True:
            item = self._shadow.get()
            if item is None:
                return
            served, data, method, entry = item
            start = time.perf_counter()
            try:
                frame = as_frame(data)
                output = served.call(method, served.checker.prepare(frame))
            except Exception:  # a shadow's failure is counted, never seen by a caller
                self.stats.record(served.label, entry.n_rows, 0.0, ok=False, shadow=True)
            else:
                latency = (time.perf_counter() - start) * 1000.0
                self.stats.record(served.label, entry.n_rows, latency, ok=True, shadow=True)
                entry.shadow_output = output
                entry.shadow_version = served.label
            if self.log is not None:
                self.log.add(entry)

    def _cast_for_log(self, frame: pd.DataFrame) -> pd.DataFrame:
        primary = self.snapshot.primary
        return cast_like(primary.checker if primary else None, frame)


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


@atexit.register
def _close_all() -> None:
    """At interpreter exit: flush every prediction log (nothing logged is lost)."""
    with _LOCK:
        lives = list(_LIVE.values())
        _LIVE.clear()
    for live in lives:
        try:
            live.close()
        except Exception as exc:
            _log.error("Endpoint %r: could not flush its prediction log at exit: %s", live.name, exc)
