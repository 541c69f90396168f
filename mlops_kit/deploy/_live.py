"""The live state of one endpoint in this process, shared by all its handles.

One :class:`Live` exists per (storage, endpoint) in a process. It holds the routing
snapshot, the request statistics and the prediction log, and runs one daemon thread
that polls the endpoint's events log (to follow deploys made by other processes) and
flushes the prediction log. Deploys made through a deployer in this process refresh
it directly, so every handle sees them at once.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.deploy._inputs import as_frame, cast_like
from mlops_kit.deploy._predlog import Entry, PredictionLog
from mlops_kit.deploy._records import DeploymentEvent
from mlops_kit.deploy._routing import Snapshot, canary_mask, stitch
from mlops_kit.deploy._served import ModelFailed, Served
from mlops_kit.deploy._state import EndpointState, events_log, fold
from mlops_kit.deploy._stats import Stats

if TYPE_CHECKING:
    from mlops_kit.deploy._deployer import LocalDeployer

__all__ = ["Live", "Outcome", "attach", "detach", "find"]

_log = logging.getLogger("mlops_kit.deploy")
_SHADOW_QUEUE = 1_000
# Request ids unique across processes and restarts, without a uuid per request.
_ID_PREFIX = f"{os.urandom(6).hex()}-"
_IDS = itertools.count(1)


@dataclass(frozen=True)
class Outcome:
    """The answer to one request."""

    output: Any
    version: str  # the answering version, or "a,b" when a keyed canary split the rows
    versions: np.ndarray | None  # per-row versions when split
    request_id: str
    latency_ms: float


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
        self._shadow: queue.Queue[tuple[Served, pd.DataFrame, str, Entry] | None] = queue.Queue(_SHADOW_QUEUE)
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
            entries = _new_entries(self.storage, self.name, current.state.tail)
            if not entries and current.state.tail:
                return current
            state = fold(current.state, entries)
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
        snap = self.snapshot  # the only read of the snapshot in this request
        start = time.perf_counter()
        primary = snap.primary
        if primary is None:
            raise NotFoundError(
                f"Endpoint {self.name!r} serves no model: nothing was deployed, or it was undeployed. "
                f"Deploy one with deployer.deploy('model@alias', endpoint={self.name!r})."
            )
        frame = as_frame(data)
        request_id = request_id or f"{_ID_PREFIX}{next(_IDS)}"
        target: Served = primary
        mask: np.ndarray | None = None
        candidate = snap.candidate
        if version is not None:
            live = snap.live
            if version not in live:
                raise NotFoundError(
                    f"Version {version!r} is not live on endpoint {self.name!r}; live: {sorted(live)}."
                )
            target = live[version]
        elif candidate is not None and snap.state.strategy == "canary" and candidate.has(method):
            chosen = canary_mask(frame, snap.state.weight or 0.0, snap.state.key, self._rng)
            if isinstance(chosen, bool):
                target = candidate if chosen else primary
            elif chosen.all():
                target = candidate
            elif chosen.any():
                mask = chosen
        if not target.has(method):
            raise ConfigError(f"Model {target.label} ({target.mv.model_class}) has no {method} method.")
        if mask is not None:
            output = self._split(frame, method, mask, candidate, primary, start)  # type: ignore[arg-type]
            versions = np.where(mask, candidate.label, primary.label).astype(object)  # type: ignore[union-attr]
            label = f"{primary.label},{candidate.label}"  # type: ignore[union-attr]
        else:
            output = self._one(target, frame, method, start)
            versions, label = None, target.label
        latency = (time.perf_counter() - start) * 1000.0
        if mask is not None:
            rows = int(mask.sum())
            self.stats.record(candidate.label, rows, latency, ok=True)  # type: ignore[union-attr]
            self.stats.record(primary.label, len(frame) - rows, latency, ok=True)
        else:
            self.stats.record(label, len(frame), latency, ok=True)
        outcome = Outcome(output, label, versions, request_id, latency)
        shadow = candidate if snap.state.strategy == "shadow" and version is None else None
        self._record(frame, raw, method, outcome, shadow)
        return outcome

    def _one(self, target: Served, frame: pd.DataFrame, method: str, start: float) -> Any:
        try:
            return target.call(method, target.checker.prepare(frame))
        except (SchemaError, ModelFailed):
            self.stats.record(target.label, len(frame), 0.0, ok=False)
            raise

    def _split(
        self,
        frame: pd.DataFrame,
        method: str,
        mask: np.ndarray,
        candidate: Served,
        primary: Served,
        start: float,
    ) -> Any:
        chosen = self._one(candidate, frame[mask], method, start)
        rest = self._one(primary, frame[~mask], method, start)
        return stitch(mask, chosen, rest)

    def _record(
        self,
        frame: pd.DataFrame,
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
            n_rows=len(frame),
            inputs=raw if raw is not None else frame.copy(deep=False),
            method=method,
            output=outcome.output,
            version=outcome.versions if outcome.versions is not None else outcome.version,
            latency_ms=outcome.latency_ms,
        )
        if shadow is not None and shadow.has(method):
            self._start_shadow()
            try:
                self._shadow.put_nowait((shadow, frame, method, entry))
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
            served, frame, method, entry = item
            start = time.perf_counter()
            try:
                output = served.call(method, served.checker.prepare(frame))
            except Exception:  # a shadow's failure is counted, never seen by a caller
                self.stats.record(served.label, len(frame), 0.0, ok=False, shadow=True)
            else:
                latency = (time.perf_counter() - start) * 1000.0
                self.stats.record(served.label, len(frame), latency, ok=True, shadow=True)
                entry.shadow_output = output
                entry.shadow_version = served.label
            if self.log is not None:
                self.log.add(entry)

    def _cast_for_log(self, frame: pd.DataFrame) -> pd.DataFrame:
        primary = self.snapshot.primary
        return cast_like(primary.checker if primary else None, frame)


def _new_entries(storage: Any, name: str, tail: int) -> list[tuple[int, DeploymentEvent]]:
    prefix = events_log(name)
    if tail == 0:
        return [(e.seq, e.record) for e in storage.read_log(prefix, DeploymentEvent)]
    entries = []
    while True:  # logs have no gaps: read the next entry until it is missing
        try:
            entries.append((tail + 1, storage.read_entry(prefix, tail + 1, DeploymentEvent)))
        except NotFoundError:
            return entries
        tail += 1


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
