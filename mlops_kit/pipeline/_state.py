"""The driver's view of one run while it executes (slots, outcomes, progress), and its final record."""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import Clock
from mlops_kit.pipeline._cache import run_here
from mlops_kit.pipeline._graph import Graph
from mlops_kit.pipeline._records import RunRecord
from mlops_kit.pipeline._task import Outcome, Slot, StepMeta, StepTask, emit_warnings

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["RunState"]


class RunState:
    """What runners read (tasks, argument slots) and report to (outcomes).

    Runners call :meth:`starting` before a step runs and :meth:`record` with its
    outcome, always from the driver's thread. Steps whose upstream failed are
    :meth:`blocked`; runners :meth:`skip` them. :meth:`execute` gives a step's
    outcome (cache lookup, call, store) and may run on any thread.

    :meth:`Pipeline.run` builds it; a runner receives it in :meth:`Runner.run`.
    """

    def __init__(
        self,
        graph: Graph,
        tasks: dict[str, StepTask],
        slots: dict[str, Slot],
        storage: Storage | None,
        run_id: str,
        clock: Clock,
        progress: bool,
    ) -> None:
        self.graph = graph
        self.tasks = tasks
        self.slots = slots
        self.storage = storage  # None when caching is off: nothing is read or written
        self.run_id = run_id
        self.clock = clock
        self.outcomes: dict[str, Outcome] = {}
        self.deferred: dict[str, Any] = {}  # output name -> Deferred (values left on a cluster)
        self._blocked: set[str] = set()
        self._bar = _progress_bar(len(tasks)) if progress else None

    def args(self, name: str) -> list[Slot]:
        """The slots a step receives, in parameter order."""
        slots = self.slots
        return [slots[source] for _, source in self.tasks[name].bindings]

    def execute(self, name: str) -> Outcome:
        """Run step ``name`` in this process (or answer from the cache) and return its outcome.

        Safe to call from worker threads; pass the outcome to :meth:`record` on the driver's thread.
        """
        return run_here(self.tasks[name], self.args(name), self.storage, self.run_id, self.clock)

    def skip(self, name: str) -> None:
        """Record that step ``name`` did not run (an upstream step failed)."""
        self.record(name, Outcome(StepMeta(name, "skipped"), {}))

    def blocked(self, name: str) -> bool:
        """Whether a step must not run because a step it depends on failed."""
        return name in self._blocked

    def starting(self, name: str) -> None:
        """Note that a step starts (shown on the progress bar)."""
        if self._bar is not None:
            self._bar.set_description_str(name, refresh=False)

    def advance(self, name: str) -> None:
        """Count a finished step on the progress bar (for runners that record later)."""
        if self._bar is not None:
            self._bar.set_description_str(name, refresh=False)
            self._bar.update(1)

    def record(self, name: str, outcome: Outcome, *, advance: bool = True) -> None:
        """Take a step's outcome: publish its output slots, or block its dependents."""
        self.outcomes[name] = outcome
        if outcome.meta.warnings:
            emit_warnings(outcome.meta)
        if outcome.meta.status == "succeeded":
            self.slots.update(outcome.slots)
        else:
            self._blocked |= self.graph.downstream_of(name)
        if advance and self._bar is not None:
            self._bar.update(1)

    def final_record(self, record: RunRecord, interrupted: BaseException | None, start: float) -> RunRecord:
        """``record`` (the "running" one) completed with every step's outcome."""
        # Plain dicts validated once by pydantic-core: the cheapest way to build many step records.
        steps = [_step_data(s.name, self.outcomes.get(s.name), interrupted) for s in self.graph.order]
        failed = next((s for s in steps if s["status"] == "failed"), None)
        metrics: dict[str, float] = {}
        for s in steps:
            for point in s.get("metrics", ()):
                metrics[point.name] = point.value
        if interrupted is not None:
            error: str | None = f"The run was interrupted ({type(interrupted).__name__}: {interrupted})."
        elif failed is not None:
            error = f"Step {failed['name']!r} failed: {failed['error']}"
        else:
            error = None
        data = dict(record)
        data.update(
            status="failed" if error else "succeeded",
            steps=steps,
            metrics=metrics,
            ended_at=self.clock.now().astimezone(dt.UTC),
            duration_s=self.clock.monotonic() - start,
            error=error,
            failed_step=failed["name"] if failed else None,
        )
        return RunRecord.model_validate(data)

    def close(self) -> None:
        """Close the progress bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _step_data(name: str, outcome: Outcome | None, interrupted: BaseException | None) -> dict[str, Any]:
    if outcome is None:
        return {
            "name": name,
            "status": "skipped",
            "error": "The run was interrupted." if interrupted else None,
        }
    meta = outcome.meta
    data: dict[str, Any] = {
        "name": name,
        "status": meta.status,
        "started_at": meta.started_at,
        "duration_s": meta.duration_s,
        "attempts": meta.attempts,
        "outputs": {
            out: slot.ref if slot.ref is not None else {"fingerprint": slot.fingerprint}
            for out, slot in outcome.slots.items()
        },
    }
    if meta.cache_hit:
        data["cache_hit"] = True
    if meta.cache_key is not None:
        data["cache_key"] = meta.cache_key
    if meta.metrics:
        data["metrics"] = meta.metrics
    if meta.error is not None:
        data["error"], data["traceback"] = meta.error, meta.traceback
    return data


def _progress_bar(total: int) -> Any:
    if not _interactive():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="step", leave=False, dynamic_ncols=True)


def _interactive() -> bool:
    """A terminal or a notebook, and not CI."""
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
