"""Adaptive batching: the HTTP requests waiting for the same model share one call to it.

A one-row ``predict`` of a scikit-learn model spends nearly all its time checking
its input, not computing, so sixteen one-row requests cost about as much as one
sixteen-row request. The model runs in a worker thread, so the event loop keeps
reading requests while it is busy; those wait in a queue, and the next model call
takes all of them that go to the same version, method and column types, and each
request gets its own rows of the output. A lone request runs at once: nothing waits
for a batch to fill, so batching adds no latency at low load and grows with the load.
The one wait: right after a round of model calls, if fewer calls wait than were in
flight during it, the next round waits a little for the others (see
:meth:`Batcher._linger`), so that clients that send again as soon as they are answered
(batch jobs) keep sharing calls rather than alternate between one call and the rest.

Each request is still routed, checked, counted and logged on its own (see
:class:`~mlops_kit.deploy._live.Live`); only the model call is shared. If the model
fails on a batch, each request of it is run alone, so only a request the model
really fails on gets the error.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import SchemaError
from mlops_kit.deploy._inputs import as_frame
from mlops_kit.deploy._served import ModelFailed

if TYPE_CHECKING:
    from mlops_kit.deploy._calls import Call, Outcome
    from mlops_kit.deploy._live import Live

__all__ = ["Batcher"]

_MAX_LINGER = 0.05  # seconds: the longest a round waits for more calls, however slow the model

_Waiting = tuple["Call", "asyncio.Future[Outcome]"]
_Result = tuple["asyncio.Future[Outcome]", "Outcome | None", "BaseException | None"]


@dataclass
class _Queue:
    """The calls waiting on one event loop, and how the last round of model calls went."""

    waiting: list[_Waiting] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None  # the task running model calls for this loop
    arrived: asyncio.Future[None] | None = None  # set by the next call queued, while the drain lingers
    running: int = 0  # calls in the round of model calls under way
    peak: int = 0  # the most calls running and waiting at once since the last round began
    last_seconds: float = 0.0  # how long the last round's model calls took
    last_end: float = float("-inf")  # when it ended (loop time)


class Batcher:
    """Runs the calls of concurrent requests in batches, on the event loop that awaits them.

    Parameters
    ----------
    live : Live
        The endpoint whose calls these are.
    max_rows : int
        The most rows one model call takes; requests are never split, so a request
        with more rows runs alone.
    """

    def __init__(self, live: Live, max_rows: int) -> None:
        self.live = live
        self.max_rows = max_rows
        self.batches = 0  # model calls made, and the calls they answered (for tests and tuning)
        self.calls = 0
        # One queue per event loop: an app may be driven by several loops over its life
        # (a test client starts one per request), and a future belongs to one loop.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def waiting(self) -> int:
        """Calls queued for a model call that has not started yet (for tests and tuning)."""
        return sum(len(queue.waiting) for queue in list(self._queues.values()))

    @property
    def running(self) -> int:
        """Calls in the rounds of model calls under way (for tests and tuning)."""
        return sum(queue.running for queue in list(self._queues.values()))

    async def run(self, call: Call) -> Outcome:
        """The outcome of ``call``, once a model call that includes it has run.

        Raises
        ------
        ModelFailed
            If the model fails on this request's rows.
        """
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[Outcome] = loop.create_future()
        queue.waiting.append((call, future))
        queue.peak = max(queue.peak, queue.running + len(queue.waiting))
        if queue.arrived is not None and not queue.arrived.done():
            queue.arrived.set_result(None)
        if queue.drain is None:
            queue.drain = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue) -> None:
        """Run model calls until nothing waits; requests that arrive meanwhile join the next one."""
        from starlette.concurrency import run_in_threadpool

        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(0)  # the requests read in this turn of the loop join the first call
            while queue.waiting:
                await self._linger(queue)
                waiting, queue.waiting = queue.waiting, []
                queue.running = queue.peak = len(waiting)
                started = loop.time()
                for batch in self._batches(waiting):
                    try:
                        results = await run_in_threadpool(self._run, batch)
                    except BaseException as exc:  # a bug: fail these requests, never leave one hanging
                        results = [(future, None, exc) for _, future in batch]
                        if not isinstance(exc, Exception):
                            _settle(results)
                            raise
                    _settle(results)
                queue.running, queue.last_end = 0, loop.time()
                queue.last_seconds = queue.last_end - started
        finally:
            queue.running = 0
            queue.drain = None
            leftover, queue.waiting = queue.waiting, []
            for _, future in leftover:  # only if this task was cancelled: nothing may hang
                if not future.done():
                    future.cancel()

    async def _linger(self, queue: _Queue) -> None:
        """Wait, at most as long as the last round of model calls took (and 50 ms), until as
        many calls wait as were running and waiting at once during that round (or
        ``max_rows`` rows).

        Clients that each wait for their answer before sending again (batch jobs, load
        generators) come back one after the other; without this, the first of them would
        run alone while the others are still being read, and the rounds would alternate
        between a few calls and the rest, each round paying the model's cost per call.
        A round that ended longer ago than it lasted (traffic paused), or a queue that
        holds as many calls as then, makes nobody wait.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        target = queue.peak
        if len(queue.waiting) >= target or now - queue.last_end > queue.last_seconds:
            return
        deadline = now + min(queue.last_seconds, _MAX_LINGER)
        while len(queue.waiting) < target and sum(c.rows for c, _ in queue.waiting) < self.max_rows:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            arrived = queue.arrived = loop.create_future()
            timer = loop.call_later(remaining, _wake, arrived)
            try:
                await arrived
            finally:
                timer.cancel()
                queue.arrived = None

    def _batches(self, waiting: list[_Waiting]) -> list[list[_Waiting]]:
        """Groups of calls one model call can answer, in arrival order, each within ``max_rows``.

        Calls made from plain parsed columns (``inputs`` not made yet) group by version
        and method; others also by their inputs' columns and dtypes, so that joining
        them changes no column's type.
        """
        if len(waiting) == 1:
            return [waiting]
        groups: dict[tuple[Any, ...], list[list[_Waiting]]] = {}
        sizes: dict[tuple[Any, ...], int] = {}
        for item in waiting:
            call = item[0]
            inputs = call.inputs
            if inputs is None:
                key: tuple[Any, ...] = (id(call.target), call.method)
            else:
                key = (id(call.target), call.method, tuple(inputs.columns), tuple(inputs.dtypes))
            batches = groups.setdefault(key, [[]])
            if batches[-1] and sizes[key] + call.rows > self.max_rows:
                batches.append([])
                sizes[key] = 0
            batches[-1].append(item)
            sizes[key] = sizes.get(key, 0) + call.rows
        return [batch for batches in groups.values() for batch in batches]

    def _run(self, batch: list[_Waiting]) -> list[_Result]:
        """One model call for ``batch`` (in a worker thread): each request's outcome or error."""
        live = self.live
        parts: list[Any] | None = None
        if len(batch) > 1:
            calls = [call for call, _ in batch]
            first = calls[0]
            try:
                output = first.target.call(first.method, _joined(calls))
            except (ModelFailed, SchemaError, ValueError, TypeError):
                parts = None  # find the request(s) it fails on: each runs alone below
            else:
                parts = _slices(output, [call.rows for call in calls])
            self.batches += 1
            self.calls += len(batch)
        results: list[_Result] = []
        for index, (call, future) in enumerate(batch):
            try:
                if parts is not None:
                    output = parts[index]
                else:
                    output = live.predict(call)
                    self.batches += 1
                    self.calls += 1
                results.append((future, live.finish(call, output), None))
            except Exception as exc:
                results.append((future, None, exc))
        return results


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle(results: list[_Result]) -> None:
    """Hand each waiting request its outcome, on the event loop (futures are not thread-safe)."""
    for future, outcome, exc in results:
        if future.done():  # the caller has gone (cancelled)
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]


def _joined(calls: list[Call]) -> pd.DataFrame:
    """The model's input for a batch: the calls' rows, in order."""
    if calls[0].inputs is not None:
        return pd.concat([call.inputs for call in calls], ignore_index=True)
    names = list(calls[0].raw)  # type: ignore[arg-type]
    columns = {name: list(chain.from_iterable(call.raw[name] for call in calls)) for name in names}  # type: ignore[index]
    return calls[0].target.checker.prepare(as_frame(columns), plain=True)


def _slices(output: Any, sizes: list[int]) -> list[Any] | None:
    """``output`` cut into consecutive parts of ``sizes`` rows; ``None`` if it cannot be cut."""
    bounds = np.cumsum([0, *sizes]).tolist()
    spans = list(zip(bounds[:-1], bounds[1:]))
    if isinstance(output, pd.DataFrame | pd.Series):
        return [output.iloc[a:b].reset_index(drop=True) for a, b in spans]
    if isinstance(output, np.ndarray) and output.ndim >= 1:
        return [output[a:b] for a, b in spans]
    if isinstance(output, list):
        return [output[a:b] for a, b in spans]
    return None
