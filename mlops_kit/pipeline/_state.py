"""The driver's view of one run while it executes: slots, outcomes, progress."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import Clock
from mlops_kit.pipeline._graph import Graph
from mlops_kit.pipeline._task import Outcome, Slot, StepTask, emit_warnings

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["RunState"]


class RunState:
    """What runners read (tasks, argument slots) and report to (outcomes).

    Runners call :meth:`starting` before a step runs and :meth:`record` with its
    outcome, always from the driver's thread. Steps whose upstream failed are
    :meth:`blocked`; runners skip them.
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

    def close(self) -> None:
        """Close the progress bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


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
