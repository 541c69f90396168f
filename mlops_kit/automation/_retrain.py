"""Retraining, when it is due: train on the batch, judge against the champion, register, roll out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlops_kit.automation import _rollout
from mlops_kit.automation._notes import first_line
from mlops_kit.automation._rows import features, finite, number, scalar, split
from mlops_kit.core.errors import PipelineError
from mlops_kit.datasets import Dataset
from mlops_kit.deploy import DeploymentError, Replace

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.automation._decision import Decision
    from mlops_kit.automation._gate import GateResult
    from mlops_kit.automation._loop import ContinuousTraining
    from mlops_kit.automation._notes import StepNotes
    from mlops_kit.automation._protocols import RunLike
    from mlops_kit.deploy import EndpointStatus
    from mlops_kit.registry import ModelVersion

__all__ = ["judge", "retrain"]


def retrain(
    loop: ContinuousTraining,
    batch: pd.DataFrame,
    labelled: pd.Series | None,
    status: EndpointStatus,
    note: StepNotes,
) -> Decision:
    """Train a challenger on the batch and, if it passes the gate, register and roll it out."""
    champion = loop.registry.get(status.primary)  # type: ignore[arg-type]
    columns = features(champion, batch, loop._label_columns())
    if labelled is not None:
        train, holdout = split(batch[labelled.to_numpy()], loop.gate.holdout, loop.gate.seed)
    else:
        train, holdout = batch, None
    run = _train(loop, train, note)
    note.stage = "gating"
    result = judge(loop, run.outputs["model"], champion, run.metrics, holdout, columns)
    note.gate = result
    note.say(("gate passed: " if result.passed else "gate failed: ") + result.reason)
    if not result.passed:
        note.say("nothing was registered or deployed")
        return note.save(status)
    note.stage = "registering the challenger"
    example = (holdout if holdout is not None else train)[columns].head(5)
    mv = _register(loop, run, train, result, example, note)
    note.stage = "deploying the challenger"
    return _roll_out(loop, mv, status, note)


def _train(loop: ContinuousTraining, train: pd.DataFrame, note: StepNotes) -> RunLike:
    note.retrained = True
    note.stage = "retraining"
    try:
        run = loop.pipeline.run(
            inputs={loop.data_input: train},
            params=loop.params,
            storage=loop.storage,
            runner=loop.runner,
            progress=False,
            tags={"loop": loop.name, "endpoint": loop.endpoint},
        )
    except PipelineError as exc:
        note.run_id = getattr(getattr(exc, "run", None), "id", None)
        note.error = f"retraining failed: {first_line(exc)}"
        note.say(f"retraining failed, nothing changed: {first_line(exc)}")
        raise
    note.run_id = run.id
    note.say(f"retrained on {len(train):,} rows: pipeline run {run.id} ({run.status})")
    return run


def judge(
    loop: ContinuousTraining,
    challenger: Any,
    champion_mv: ModelVersion,
    run_metrics: Mapping[str, float],
    holdout: pd.DataFrame | None,
    columns: list[str],
) -> GateResult:
    """The gate's verdict: both models on the held-out rows, else the recorded metrics."""
    gate = loop.gate
    if holdout is not None:
        champion = loop.registry.load(champion_mv.ref)
        result = gate.compare(
            gate.score(champion, holdout, columns),
            gate.score(challenger, holdout, columns),
            mode="holdout",
            n_holdout=len(holdout),
        )
        # Both scores are on this batch, not on the champion's training-time test data.
        return result.evolve(reason=f"on {len(holdout):,} held-out rows of this batch, {result.reason}")
    result = gate.compare(
        number(champion_mv.metrics.get(gate.metric)), number(run_metrics.get(gate.metric)), mode="recorded"
    )
    why = (
        f"the batch has no labels, so the run's logged {gate.metric} was compared with "
        f"{champion_mv.ref}'s recorded {gate.metric}; {result.reason}"
    )
    return result.evolve(reason=why)


def _register(
    loop: ContinuousTraining,
    run: RunLike,
    train: pd.DataFrame,
    result: GateResult,
    example: pd.DataFrame,
    note: StepNotes,
) -> ModelVersion:
    """Version the training rows, then register the challenger with its lineage to them and the run."""
    training = Dataset(loop.dataset, storage=loop.storage, clock=loop.clock).save(
        train, tags={"loop": loop.name, "run": run.id}, description=f"training data of run {run.id}"
    )
    scores = {k: float(v) for k, v in run.metrics.items() if finite(v)}
    if result.challenger is not None:
        scores[f"gate_{result.metric}"] = result.challenger
    mv = loop.registry.register(
        loop.model,
        run.outputs["model"],
        metrics=scores,
        params={k: v for k, v in run.params.items() if scalar(v)},
        tags={"loop": loop.name, "trigger": loop.retrain_on, "gate": result.mode},
        description=f"retrained by loop {loop.name!r}: {result.reason}",
        run=run,
        dataset=training,
        input_example=example,
    )
    note.candidate_version = mv.version
    note.did(
        f"registered {mv.ref}",
        f"registered {mv.ref} with lineage to run {run.id} and training data {training}",
    )
    return mv


def _roll_out(
    loop: ContinuousTraining, mv: ModelVersion, status: EndpointStatus, note: StepNotes
) -> Decision:
    try:
        loop.deployer.deploy(
            mv.ref, endpoint=loop.endpoint, strategy=loop.rollout, reason="continuous training"
        )
    except DeploymentError as exc:
        note.action = "deploy_failed"
        note.say(f"deploying {mv.ref} failed its health check and was rolled back: {exc}")
        return note.save(loop._status())
    limits, rollout = loop._judged, loop.rollout
    if isinstance(rollout, Replace):
        note.action = "deployed"
        note.did(f"deployed {mv.ref}", f"{mv.ref} replaced {status.primary} on {loop.endpoint!r}")
        _rollout.move_alias(loop, mv.version, note)
        loop._follow_primary(loop._status(), note)
    elif rollout.kind == "canary":
        note.action = "canary"
        note.did(
            f"deployed {mv.ref} as a canary",
            f"{mv.ref} gets {getattr(rollout, 'weight', 0):.0%} of traffic as a canary; promoted after "
            f"{limits.promote_after} healthy requests, rolled back above a {limits.max_error_rate:.0%} error rate",
        )
    else:
        note.action = "shadow"
        note.did(
            f"deployed {mv.ref} as a shadow",
            f"{mv.ref} sees mirrored traffic as a shadow; promoted after {limits.promote_after} healthy requests",
        )
    return note.save(loop._status())
