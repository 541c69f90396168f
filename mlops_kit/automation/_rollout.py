"""Tending a rollout in progress: promote a healthy candidate, roll back a failing one, and
finish what a step that failed part-way left undone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.automation._decision import Decision, RolloutCounts
from mlops_kit.automation._rows import features

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.automation._loop import ContinuousTraining
    from mlops_kit.automation._notes import StepNotes
    from mlops_kit.deploy import EndpointStatus

__all__ = ["catch_up", "move_alias", "tend"]


def tend(
    loop: ContinuousTraining,
    status: EndpointStatus,
    batch: pd.DataFrame,
    labelled: pd.Series | None,
    note: StepNotes,
) -> None:
    """Promote the candidate, roll it back, or say how far it has come."""
    candidate = status.candidate
    if candidate is None:
        return
    limits = loop._judged
    counts = _counts(status)
    note.rollout = counts
    judged, rate = counts.judged, counts.error_rate
    if counts.client_errors:
        note.say(
            f"{counts.client_errors} requests refused for bad input reached {candidate}: the clients' "
            f"mistakes, not counted against it ({counts.errors} of its {judged} other requests failed)"
        )
    if judged >= limits.min_requests and rate > limits.max_error_rate:
        why = (
            f"candidate {candidate} erred on {rate:.1%} of the {judged} requests it answered "
            f"(limit {limits.max_error_rate:.0%})"
        )
        _roll_back(loop, str(candidate), why, note)
        return
    if labelled is not None and labelled.any():
        breach = _metric_breach(loop, status, batch[labelled.to_numpy()])
        if breach:
            _roll_back(loop, str(candidate), breach, note)
            return
    if judged >= limits.promote_after:
        loop.deployer.promote(loop.endpoint, reason="continuous training: healthy canary")
        note.action = "promoted"
        note.did(
            f"promoted {candidate}",
            f"promoted {candidate}: {judged} requests answered, error rate {rate:.1%}",
        )
        move_alias(loop, candidate.version, note)
        return
    note.say(
        f"candidate {candidate} has answered {judged} of the {limits.promote_after} requests needed to promote"
    )


def _counts(status: EndpointStatus) -> RolloutCounts:
    candidate = status.candidate
    # a shadow's counts are those of the mirrored requests, listed as "<version> (shadow)"
    stats = status.versions.get(f"{candidate} (shadow)" if status.strategy == "shadow" else str(candidate))
    return RolloutCounts(
        candidate=str(candidate),
        requests=stats.requests if stats else 0,
        errors=stats.errors if stats else 0,
        client_errors=stats.client_errors if stats else 0,
    )


def _metric_breach(loop: ContinuousTraining, status: EndpointStatus, rows: pd.DataFrame) -> str | None:
    """Why the candidate scores too far below the primary on labelled rows, if it does."""
    primary_mv = loop.registry.get(status.primary)  # type: ignore[arg-type]
    columns = features(primary_mv, rows, loop._label_columns())
    gate, tolerance = loop.gate, loop._judged.metric_tolerance
    primary = gate.score(loop.registry.load(primary_mv.ref), rows, columns)
    candidate = gate.score(loop.registry.load(status.candidate), rows, columns)  # type: ignore[arg-type]
    worse = (primary - candidate) if gate.better_is_higher else (candidate - primary)
    if worse > tolerance:
        return (
            f"candidate {status.candidate} scores {gate.metric} {candidate:.4f} on the labelled batch, "
            f"worse than primary {status.primary}'s {primary:.4f} beyond the tolerance {tolerance:g}"
        )
    return None


def _roll_back(loop: ContinuousTraining, candidate: str, why: str, note: StepNotes) -> None:
    loop.deployer.rollback(loop.endpoint, reason=f"continuous training: {why}")
    note.action = "rolled_back"
    note.did(f"rolled back {candidate}", f"rolled back: {why}")


def move_alias(loop: ContinuousTraining, version: int, note: StepNotes) -> None:
    """Point the loop's alias (if any) at ``version``."""
    if loop.alias is not None:
        loop.registry.set_alias(loop.model, loop.alias, version)
        note.did(
            f"moved {loop.model}@{loop.alias} to {version}",
            f"alias {loop.model}@{loop.alias} now points to version {version}",
        )


def catch_up(
    loop: ContinuousTraining, last: Decision | None, status: EndpointStatus, note: StepNotes
) -> None:
    """Notice what the last step could not record, and finish what it left half-done."""
    if last is None:
        return
    candidate = None if status.candidate is None else str(status.candidate)
    # Decisions stored before ``candidate`` was recorded leave it None during a rollout.
    known_candidate = last.candidate is not None or last.action not in ("canary", "shadow")
    if str(status.primary) != last.primary or (known_candidate and candidate != last.candidate):
        note.say(
            f"since decision {last.number} the endpoint changed without a decision recording it: "
            f"primary {status.primary} (was {last.primary}), candidate {candidate} (was {last.candidate})"
        )
    if (
        last.failed
        and loop.alias is not None
        and last.action in ("promoted", "deployed")
        and status.primary is not None
        and status.primary.name == loop.model
        and loop.registry.aliases(loop.model).get(loop.alias) != status.primary.version
    ):
        move_alias(loop, status.primary.version, note)
        note.say(f"caught up: decision {last.number} failed before moving {loop.model}@{loop.alias}")
