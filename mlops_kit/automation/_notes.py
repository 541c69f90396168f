"""``StepNotes``: what one step of the loop has found and done so far; stored as its Decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.automation._decision import (
    Decision,
    DriftSummary,
    RolloutAction,
    RolloutCounts,
    decision_catalog,
)
from mlops_kit.automation._gate import GateResult

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.automation._loop import ContinuousTraining
    from mlops_kit.deploy import EndpointStatus

__all__ = ["StepNotes", "first_line"]


class StepNotes:
    """The findings, changes and reasons of one step, in order; :meth:`save` makes the Decision.

    Every change is told with :meth:`did` as it is made, so that a step failing part-way
    (:meth:`fail`) still records what it had done.
    """

    def __init__(
        self, loop: ContinuousTraining, batch: pd.DataFrame, labelled: Any, status: EndpointStatus
    ) -> None:
        self.loop = loop
        self.batch_rows = len(batch)
        self.labelled_rows = 0 if labelled is None else int(labelled.sum())
        self.champion = status.primary
        self.drift: DriftSummary | None = None
        self.retrained = False
        self.run_id: str | None = None
        self.candidate_version: int | None = None
        self.gate: GateResult | None = None
        self.rollout: RolloutCounts | None = None
        self.action: RolloutAction = "none"
        self.reasons: list[str] = []
        self.done: list[str] = []
        self.stage = "starting"
        self.error: str | None = None

    def say(self, text: str) -> None:
        self.reasons.append(text)

    def did(self, effect: str, text: str) -> None:
        """Record a change the step made (kept in ``Decision.done``) and tell it."""
        self.done.append(effect)
        self.say(text)

    def fail(self, exc: BaseException) -> None:
        """Record that the step stopped at its current stage, and what it had done by then."""
        if self.error is not None:  # the stage already said what failed
            return
        self.error = f"{self.stage} failed: {first_line(exc)}"
        before = f"done before the failure: {'; '.join(self.done)}" if self.done else "nothing was changed"
        self.say(f"the step stopped: {self.error}; {before}")

    def save(self, status: EndpointStatus) -> Decision:
        """Append the Decision (numbered by the log) with ``status`` as the endpoint after the step."""
        loop = self.loop
        at = loop.clock.now()

        def make(seq: int) -> Decision:
            return Decision(
                number=seq,
                loop=loop.name,
                endpoint=loop.endpoint,
                model=loop.model,
                at=at,
                batch_rows=self.batch_rows,
                labelled_rows=self.labelled_rows,
                drift=self.drift,
                retrained=self.retrained,
                run_id=self.run_id,
                champion=self.champion,
                candidate_version=self.candidate_version,
                gate=self.gate,
                rollout=self.rollout,
                action=self.action,
                primary=status.primary,
                candidate=status.candidate,
                reasons=tuple(self.reasons),
                done=tuple(self.done),
                error=self.error,
            )

        number = decision_catalog(loop.storage).add(loop.name, lambda: loop.storage.append(loop._log, make))
        return loop.storage.read_entry(loop._log, number, Decision)


def first_line(exc: BaseException) -> str:
    """``"TypeName: first line of the message"``."""
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
