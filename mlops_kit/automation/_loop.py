"""``ContinuousTraining``: monitor -> retrain -> gate -> register -> roll out -> promote or roll back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.automation._decision import Decision, DriftSummary, RolloutAction, RolloutCounts
from mlops_kit.automation._gate import Gate, GateResult
from mlops_kit.core.arguments import StorageLike, check_positive_int
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock
from mlops_kit.core.dtypes import check_frame
from mlops_kit.core.errors import ConfigError, NotFoundError, PipelineError, SchemaError
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.datasets import Dataset, DatasetLink
from mlops_kit.deploy import Canary, Deployer, DeploymentError, EndpointStatus, Replace, Shadow
from mlops_kit.monitor import DriftReport, Monitor
from mlops_kit.pipeline import Pipeline, Runner
from mlops_kit.registry import ModelVersion, Registry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ContinuousTraining"]

RetrainOn = Literal["drift", "decay", "always"]


class ContinuousTraining:
    """The level-2 loop: retrain on drift, gate the challenger, roll it out, promote or roll back.

    Each :meth:`step` takes a batch of fresh data (with labels when they are
    known), and:

    1. tends a rollout in progress: promotes the candidate after ``promote_after``
       healthy requests, or rolls it back when its error rate exceeds
       ``max_error_rate`` or, on labelled data, it scores worse than the primary;
    2. checks the batch for drift (and decay, when labels are present) with the
       monitor; columns the monitor does not watch, such as the label, are ignored;
    3. when retraining is due (``retrain_on``), runs the pipeline on the training
       share of the batch (as the input named ``data_input``) and scores champion
       and challenger on the same held-out rows with the gate;
    4. when the gate passes, registers the challenger with its lineage (the run,
       the gate's score) and deploys it with ``rollout``. A failed gate deploys
       nothing.

    Every step returns and stores a :class:`Decision`: the audit trail of why the
    production model changed.

    Parameters
    ----------
    monitor : Monitor
        Drift detection against the training reference.
    pipeline : Pipeline
        Retrains the model: takes the batch as ``data_input`` and has an output named
        ``model``.
    registry : Registry
        Where challengers are registered.
    deployer : Deployer
        Serves the endpoint.
    endpoint : str
        The endpoint whose primary is the champion (it must exist).
    model : str
        The registered model's name.
    gate : Gate
        How champion and challenger are compared.
    rollout : Canary, Shadow or Replace
        How a challenger that passed the gate reaches traffic (default ``Canary(0.1)``).
    data_input : str
        The pipeline input that receives the training data.
    retrain_on : {"drift", "decay", "always"}
        ``"drift"``: when the monitor reports drift or decay; ``"decay"``: only on
        performance decay; ``"always"``: on every batch.
    promote_after : int
        Healthy candidate requests before an automatic promote.
    max_error_rate : float
        A candidate erring more often (after ``min_requests``) is rolled back.
    min_requests : int
        Requests before the error rate is judged.
    metric_tolerance : float
        How much worse than the primary a candidate may score on a labelled batch.
    alias : str or None
        Registry alias moved to every model that becomes primary (``None``: no alias).
    dataset : str, optional
        The dataset where each training batch is versioned, for lineage (default
        ``"<loop name>-training"``). When a model trained by the loop becomes primary,
        the monitor's reference moves to its training data.
    params : dict, optional
        Pipeline parameters for every retraining run.
    runner : Runner, optional
        The pipeline runner (default sequential).
    storage : Storage, optional
        Where decisions (and pipeline runs) are stored; default the registry's.
    name : str, optional
        The loop's name (default: the endpoint's).
    clock : Clock, optional
        Time source.

    Raises
    ------
    ConfigError
        If the pipeline has no output named ``model`` or no input named
        ``data_input``, or an argument is invalid. Nothing is touched.

    Examples
    --------
    See ``docs/automation.md`` and ``examples/quickstart.py``.
    """

    def __init__(
        self,
        *,
        monitor: Monitor,
        pipeline: Pipeline,
        registry: Registry,
        deployer: Deployer,
        endpoint: str,
        model: str,
        gate: Gate,
        rollout: Canary | Shadow | Replace | None = None,
        data_input: str = "data",
        retrain_on: RetrainOn = "drift",
        promote_after: int = 100,
        max_error_rate: float = 0.05,
        min_requests: int = 20,
        metric_tolerance: float = 0.0,
        alias: str | None = "production",
        dataset: str | None = None,
        params: Mapping[str, Any] | None = None,
        runner: Runner | None = None,
        storage: StorageLike = None,
        name: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        _expect(monitor, Monitor, "monitor")
        _expect(pipeline, Pipeline, "pipeline")
        _expect(registry, Registry, "registry")
        _expect(deployer, Deployer, "deployer")
        _expect(gate, Gate, "gate")
        self.rollout = Canary(0.1) if rollout is None else rollout
        _expect(self.rollout, (Canary, Shadow, Replace), "rollout")
        if "model" not in pipeline.outputs:
            raise ConfigError(
                f"Pipeline {pipeline.name!r} has no output named 'model' (it has {pipeline.outputs}); "
                "name the training step 'model' (its output is named after it) or give it outputs=('model',)."
            )
        if data_input not in pipeline.inputs:
            raise ConfigError(
                f"Pipeline {pipeline.name!r} has no input named {data_input!r} for the batch; its inputs "
                f"are {pipeline.inputs}. Pass data_input= with one of them."
            )
        if retrain_on not in ("drift", "decay", "always"):
            raise ConfigError(f"retrain_on must be 'drift', 'decay' or 'always', got {retrain_on!r}.")
        check_positive_int(promote_after, "promote_after")
        check_positive_int(min_requests, "min_requests")
        if not 0.0 <= max_error_rate < 1.0:
            raise ConfigError(f"max_error_rate must be in [0, 1), got {max_error_rate!r}.")
        if not (math.isfinite(metric_tolerance) and metric_tolerance >= 0):
            raise ConfigError(f"metric_tolerance must be a non-negative number, got {metric_tolerance!r}.")
        self.monitor, self.pipeline, self.registry, self.deployer, self.gate = (
            monitor,
            pipeline,
            registry,
            deployer,
            gate,
        )
        self.endpoint = check_name(endpoint, "endpoint name")
        self.model = check_name(model, "model name")
        self.alias = None if alias is None else check_name(alias, "alias")
        self.data_input, self.retrain_on = data_input, retrain_on
        self.promote_after, self.min_requests = promote_after, min_requests
        self.max_error_rate, self.metric_tolerance = float(max_error_rate), float(metric_tolerance)
        self.params = dict(params or {})
        self.runner = runner
        self.storage = registry.storage if storage is None else resolve_storage(storage)
        self.name = check_name(name if name is not None else self.endpoint, "loop name")
        self.clock = clock or SYSTEM_CLOCK
        self.dataset = check_name(dataset if dataset is not None else f"{self.name}-training", "dataset name")
        self._log = f"automation/{self.name}/decisions"
        self._reference: DatasetLink | None = None

    def __repr__(self) -> str:
        return f"ContinuousTraining(endpoint={self.endpoint!r}, model={self.model!r}, gate={self.gate!r})"

    # -- the loop ------------------------------------------------------------------

    def step(self, batch: pd.DataFrame) -> Decision:
        """Process one batch of fresh data; return (and store) what was decided and why.

        Raises
        ------
        SchemaError
            If the batch is not a DataFrame, is empty, or lacks the gate's target column.
        NotFoundError
            If the endpoint does not exist (deploy a first model before starting the loop).
        PipelineError
            If retraining failed (the decision is stored first).
        """
        batch = check_frame(batch, "the batch")
        if batch.empty:
            raise SchemaError("The batch is empty; a step needs rows to check and, maybe, to train on.")
        labelled = self._labelled(batch)
        status = self._status()
        note = _Notes(self, batch, labelled, status)
        try:
            return self._step(batch, labelled, status, note)
        except Exception as exc:
            note.fail(exc)
            try:
                note.save(self._status_or(status))
            except Exception as lost:  # the caller still learns what failed first
                exc.add_note(f"The decision recording this failure could not be stored either: {lost}")
            raise

    def _step(
        self, batch: pd.DataFrame, labelled: pd.Series | None, status: EndpointStatus, note: _Notes
    ) -> Decision:
        self._catch_up(status, note)
        if status.candidate is not None:
            note.stage = "tending the rollout"
            self._tend_rollout(status, batch, labelled, note)
            status = self._status()
        note.stage = "checking drift"
        self._follow_primary(status, note)
        report = self.monitor.check(self._with_predictions(batch, status))
        note.drift = _summary(report)
        due = self._due(report)
        note.say(_drift_sentence(report))
        if note.action != "none":
            note.say("retraining, if due, waits for the next batch: production just changed")
            return note.save(status)
        if not due:
            note.say(f"retraining is not due (retrain_on={self.retrain_on!r})")
            return note.save(status)
        if status.candidate is not None:
            note.say(f"retraining waits: candidate {status.candidate} is still being rolled out")
            return note.save(status)
        return self._retrain(batch, labelled, status, note)

    def decisions(self) -> list[Decision]:
        """Every decision of this loop, oldest first."""
        return [e.record for e in self.storage.read_log(self._log, Decision)]

    # -- the parts -----------------------------------------------------------------

    def _retrain(
        self, batch: pd.DataFrame, labelled: pd.Series | None, status: EndpointStatus, note: _Notes
    ) -> Decision:
        champion_mv = self.registry.get(status.primary)  # type: ignore[arg-type]
        features = _features(champion_mv, batch, self._label_columns())
        if labelled is not None:
            train, holdout = _split(batch[labelled.to_numpy()], self.gate.holdout, self.gate.seed)
        else:
            train, holdout = batch, None
        note.retrained = True
        note.stage = "retraining"
        try:
            run = self.pipeline.run(
                inputs={self.data_input: train},
                params=self.params,
                storage=self.storage,
                runner=self.runner,
                progress=False,
                tags={"loop": self.name, "endpoint": self.endpoint},
            )
        except PipelineError as exc:
            note.run_id = getattr(getattr(exc, "run", None), "id", None)
            note.error = f"retraining failed: {_first_line(exc)}"
            note.say(f"retraining failed, nothing changed: {_first_line(exc)}")
            raise
        note.run_id = run.id
        note.say(f"retrained on {len(train):,} rows: pipeline run {run.id} ({run.status})")
        challenger = run.outputs["model"]
        note.stage = "gating"
        result = self._judge(challenger, champion_mv, run.metrics, holdout, features)
        note.gate = result
        note.say(("gate passed: " if result.passed else "gate failed: ") + result.reason)
        if not result.passed:
            note.say("nothing was registered or deployed")
            return note.save(status)
        note.stage = "registering the challenger"
        training = Dataset(self.dataset, storage=self.storage, clock=self.clock).save(
            train, tags={"loop": self.name, "run": run.id}, description=f"training data of run {run.id}"
        )
        scores = {k: float(v) for k, v in run.metrics.items() if _finite(v)}
        if result.challenger is not None:
            scores[f"gate_{result.metric}"] = result.challenger
        example = (holdout if holdout is not None else train)[features].head(5)
        mv = self.registry.register(
            self.model,
            challenger,
            metrics=scores,
            params={k: v for k, v in run.params.items() if _scalar(v)},
            tags={"loop": self.name, "trigger": self.retrain_on, "gate": result.mode},
            description=f"retrained by loop {self.name!r}: {result.reason}",
            run=run,
            dataset=training,
            input_example=example,
        )
        note.candidate_version = mv.version
        note.did(
            f"registered {mv.ref}",
            f"registered {mv.ref} with lineage to run {run.id} and training data {training}",
        )
        note.stage = "deploying the challenger"
        try:
            self.deployer.deploy(
                mv.ref, endpoint=self.endpoint, strategy=self.rollout, reason="continuous training"
            )
        except DeploymentError as exc:
            note.action = "deploy_failed"
            note.say(f"deploying {mv.ref} failed its health check and was rolled back: {exc}")
            return note.save(self._status())
        if isinstance(self.rollout, Replace):
            note.action = "deployed"
            note.did(f"deployed {mv.ref}", f"{mv.ref} replaced {status.primary} on {self.endpoint!r}")
            self._move_alias(mv.version, note)
            self._follow_primary(self._status(), note)
        elif isinstance(self.rollout, Canary):
            note.action = "canary"
            note.did(
                f"deployed {mv.ref} as a canary",
                f"{mv.ref} gets {self.rollout.weight:.0%} of traffic as a canary; promoted after "
                f"{self.promote_after} healthy requests, rolled back above a {self.max_error_rate:.0%} error rate",
            )
        else:
            note.action = "shadow"
            note.did(
                f"deployed {mv.ref} as a shadow",
                f"{mv.ref} sees mirrored traffic as a shadow; promoted after {self.promote_after} healthy requests",
            )
        return note.save(self._status())

    def _judge(
        self,
        challenger: Any,
        champion_mv: ModelVersion,
        run_metrics: Mapping[str, float],
        holdout: pd.DataFrame | None,
        features: list[str],
    ) -> GateResult:
        gate = self.gate
        if holdout is not None:
            champion = self.registry.load(champion_mv.ref)
            result = gate.compare(
                gate.score(champion, holdout, features),
                gate.score(challenger, holdout, features),
                mode="holdout",
                n_holdout=len(holdout),
            )
            # Both scores are on this batch, not on the champion's training-time test data.
            return result.evolve(reason=f"on {len(holdout):,} held-out rows of this batch, {result.reason}")
        result = gate.compare(
            _number(champion_mv.metrics.get(gate.metric)),
            _number(run_metrics.get(gate.metric)),
            mode="recorded",
        )
        why = (
            f"the batch has no labels, so the run's logged {gate.metric} was compared with "
            f"{champion_mv.ref}'s recorded {gate.metric}; {result.reason}"
        )
        return result.evolve(reason=why)

    def _tend_rollout(
        self, status: EndpointStatus, batch: pd.DataFrame, labelled: pd.Series | None, note: _Notes
    ) -> None:
        candidate = status.candidate
        if candidate is None:
            return
        # a shadow's counts are those of the mirrored requests, listed as "<version> (shadow)"
        stats = status.versions.get(f"{candidate} (shadow)" if status.strategy == "shadow" else candidate)
        counts = RolloutCounts(
            candidate=str(candidate),
            requests=stats.requests if stats else 0,
            errors=stats.errors if stats else 0,
            client_errors=stats.client_errors if stats else 0,
        )
        note.rollout = counts
        judged, rate = counts.judged, counts.error_rate
        if counts.client_errors:
            note.say(
                f"{counts.client_errors} requests refused for bad input reached {candidate}: the clients' "
                f"mistakes, not counted against it ({counts.errors} of its {judged} other requests failed)"
            )
        if judged >= self.min_requests and rate > self.max_error_rate:
            self._roll_back(
                candidate,
                f"candidate {candidate} erred on {rate:.1%} of the {judged} requests it answered "
                f"(limit {self.max_error_rate:.0%})",
                note,
            )
            return
        if labelled is not None and labelled.any():
            breach = self._metric_breach(status, batch[labelled.to_numpy()])
            if breach:
                self._roll_back(candidate, breach, note)
                return
        if judged >= self.promote_after:
            self.deployer.promote(self.endpoint, reason="continuous training: healthy canary")
            note.action = "promoted"
            note.did(
                f"promoted {candidate}",
                f"promoted {candidate}: {judged} requests answered, error rate {rate:.1%}",
            )
            self._move_alias(candidate.version, note)
            return
        note.say(
            f"candidate {candidate} has answered {judged} of the {self.promote_after} requests needed to promote"
        )

    def _metric_breach(self, status: EndpointStatus, labelled_rows: pd.DataFrame) -> str | None:
        primary_mv = self.registry.get(status.primary)  # type: ignore[arg-type]
        features = _features(primary_mv, labelled_rows, self._label_columns())
        gate = self.gate
        primary = gate.score(self.registry.load(primary_mv.ref), labelled_rows, features)
        candidate = gate.score(self.registry.load(status.candidate), labelled_rows, features)  # type: ignore[arg-type]
        worse = (primary - candidate) if gate.better_is_higher else (candidate - primary)
        if worse > self.metric_tolerance:
            return (
                f"candidate {status.candidate} scores {gate.metric} {candidate:.4f} on the labelled batch, "
                f"worse than primary {status.primary}'s {primary:.4f} beyond the tolerance {self.metric_tolerance:g}"
            )
        return None

    def _roll_back(self, candidate: object, why: str, note: _Notes) -> None:
        self.deployer.rollback(self.endpoint, reason=f"continuous training: {why}")
        note.action = "rolled_back"
        note.did(f"rolled back {candidate}", f"rolled back: {why}")

    def _move_alias(self, version: int, note: _Notes) -> None:
        if self.alias is not None:
            self.registry.set_alias(self.model, self.alias, version)
            note.did(
                f"moved {self.model}@{self.alias} to {version}",
                f"alias {self.model}@{self.alias} now points to version {version}",
            )

    # -- helpers -------------------------------------------------------------------

    def _follow_primary(self, status: EndpointStatus, note: _Notes) -> None:
        """Measure drift against the training data of the serving model, when the loop trained it.

        The rows are read from the loop's storage and handed to the monitor as a frame: the
        monitor's own storage (``./.mlops`` when it was built without one) need not hold them.
        """
        primary = self.registry.get(status.primary)  # type: ignore[arg-type]
        link = primary.dataset
        if link is None or link.name != self.dataset or link == self._reference:
            return
        dataset = Dataset(link.name, storage=self.storage)
        wanted = set(self.monitor.columns)
        columns = [c for c in dataset.get(link.version).schema.names if c in wanted]
        self.monitor = self.monitor.with_reference(dataset.load(link.version, columns=columns))
        self._reference = link
        note.say(f"the monitor now measures drift against {link}, the training data of {primary.ref}")

    def _catch_up(self, status: EndpointStatus, note: _Notes) -> None:
        """Notice what the last step could not record, and finish what it left half-done."""
        last = self._last_decision()
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
            and self.alias is not None
            and last.action in ("promoted", "deployed")
            and status.primary is not None
            and status.primary.name == self.model
            and self.registry.aliases(self.model).get(self.alias) != status.primary.version
        ):
            self._move_alias(status.primary.version, note)
            note.say(f"caught up: decision {last.number} failed before moving {self.model}@{self.alias}")

    def _last_decision(self) -> Decision | None:
        entries = self.storage.read_log(self._log, Decision)
        return entries[-1].record if entries else None

    def _status_or(self, fallback: EndpointStatus) -> EndpointStatus:
        try:
            return self._status()
        except Exception:  # the deployer's failure is what is being recorded
            return fallback

    def _status(self) -> EndpointStatus:
        try:
            status = self.deployer.status(self.endpoint)
        except NotFoundError:
            status = None
        if status is None or status.primary is None:
            known = self.deployer.endpoints()
            raise NotFoundError(
                f"Endpoint {self.endpoint!r} does not exist or serves nothing; the loop needs a champion. "
                f"Deploy a first model with deployer.deploy('{self.model}@...', endpoint={self.endpoint!r}). "
                f"Endpoints: {known or 'none'}."
            )
        return status

    def _label_columns(self) -> set[str]:
        cols = {self.gate.target, self.monitor.target, self.monitor.prediction}
        return {c for c in cols if c}

    def _labelled(self, batch: pd.DataFrame) -> pd.Series | None:
        """A mask of labelled rows, or ``None`` when the batch carries no labels."""
        target = self.gate.target
        if target is None:
            return batch.index.to_series().notna() if self.gate.evaluate is not None else None
        if target not in batch.columns:
            raise SchemaError(
                f"The batch has no column {target!r}, the gate's target; it has {list(batch.columns)}. "
                "Send labels in that column (null where not yet known), or build the Gate without target=."
            )
        mask = batch[target].notna()
        return mask if mask.any() else None

    def _with_predictions(self, batch: pd.DataFrame, status: EndpointStatus) -> pd.DataFrame:
        """Add the champion's predictions when the monitor watches predictions the batch lacks."""
        column = self.monitor.prediction
        if not column or column in batch.columns:
            return batch
        mv = self.registry.get(status.primary)  # type: ignore[arg-type]
        features = _features(mv, batch, self._label_columns())
        return batch.assign(**{column: self.registry.load(mv.ref).predict(batch[features])})

    def _due(self, report: DriftReport) -> bool:
        decayed = bool(report.performance and report.performance.decayed)
        if self.retrain_on == "always":
            return True
        if self.retrain_on == "decay":
            return decayed
        return bool(report.drifted or decayed)


class _Notes:
    """What a step has found and done so far; becomes the :class:`Decision`."""

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

    def fail(self, exc: Exception) -> None:
        """Record that the step stopped at its current stage, and what it had done by then."""
        if self.error is not None:  # the stage already said what failed
            return
        self.error = f"{self.stage} failed: {_first_line(exc)}"
        before = f"done before the failure: {'; '.join(self.done)}" if self.done else "nothing was changed"
        self.say(f"the step stopped: {self.error}; {before}")

    def save(self, status: EndpointStatus) -> Decision:
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

        number = loop.storage.append(loop._log, make)
        return loop.storage.read_entry(loop._log, number, Decision)


def _summary(report: DriftReport) -> DriftSummary:
    perf = report.performance
    return DriftSummary(
        drifted=report.drifted,
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drifted_columns=tuple(report.drifted_columns),
        decayed=None if perf is None else perf.decayed,
        reasons=report.reasons,
        summary=report.summary(),
    )


def _drift_sentence(report: DriftReport) -> str:
    columns = report.drifted_columns
    if not report.drifted:
        return f"no drift: {len(columns)} of {len(report.columns)} columns moved (share {report.drift_share:.0%})"
    what = "; ".join(report.reasons) if report.reasons else "drift detected"
    listed = f" in {', '.join(columns[:5])}" + ("..." if len(columns) > 5 else "") if columns else ""
    return f"drift{listed}: {what}"


def _features(mv: ModelVersion, batch: pd.DataFrame, labels: set[str]) -> list[str]:
    """The model's input columns: its signature's, else every batch column but the labels."""
    if mv.signature is not None:
        missing = [c for c in mv.signature.inputs.names if c not in batch.columns]
        if missing:
            raise SchemaError(
                f"The batch lacks {mv.ref}'s input columns {missing}; it has {list(batch.columns)}."
            )
        return list(mv.signature.inputs.names)
    return [c for c in batch.columns if c not in labels]


def _split(rows: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    import numpy as np

    n = len(rows)
    n_holdout = int(math.ceil(n * share))
    if n < 2 or n_holdout >= n:
        raise SchemaError(
            f"The batch has {n} labelled rows: too few to hold out {share:.0%} for the gate and train on the rest."
        )
    order = np.random.default_rng(seed).permutation(n)
    return rows.iloc[np.sort(order[n_holdout:])], rows.iloc[np.sort(order[:n_holdout])]


def _expect(value: object, kind: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{what} must be a {names}, got {type(value).__name__}.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: object) -> float | None:
    return float(value) if _finite(value) else None  # type: ignore[arg-type]


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
