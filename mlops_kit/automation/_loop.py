"""``ContinuousTraining``: monitor -> retrain -> gate -> register -> roll out -> promote or roll back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.automation import _retrain, _rollout
from mlops_kit.automation._decision import Decision, decision_catalog, decisions_log
from mlops_kit.automation._gate import Gate
from mlops_kit.automation._notes import StepNotes
from mlops_kit.automation._protocols import DeployerLike, MonitorLike, PipelineLike, check_like
from mlops_kit.automation._rows import drift_sentence, features, summary
from mlops_kit.automation._settings import Rollout, rollout_settings
from mlops_kit.core.arguments import StorageLike, check_storage
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock
from mlops_kit.core.dtypes import check_frame
from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.core.listing import NameList, RecordList
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.core.storage.logs import read_named_page
from mlops_kit.datasets import Dataset, DatasetLink, DatasetVersion
from mlops_kit.deploy import EndpointStatus
from mlops_kit.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.monitor import DriftReport
    from mlops_kit.pipeline import Runner

__all__ = ["ContinuousTraining"]

RetrainOn = Literal["drift", "decay", "always"]


class ContinuousTraining:
    """The level-2 loop: retrain on drift, gate the challenger, roll it out, promote or roll back.

    Each :meth:`step` takes a batch of fresh data (with labels when they are
    known), and:

    1. tends a rollout in progress: promotes the candidate after the rollout's
       ``promote_after`` healthy requests, or rolls it back when its own error rate
       exceeds ``max_error_rate`` or, on labelled data, it scores worse than the primary;
    2. checks the batch for drift (and decay, when labels are present) with the
       monitor; columns the monitor does not watch, such as the label, are ignored;
    3. when retraining is due (``retrain_on``), runs the pipeline on the training
       share of the batch (as the input named ``data_input``) and scores champion
       and challenger on the same held-out rows with the gate;
    4. when the gate passes, registers the challenger with its lineage (the run,
       the gate's score) and deploys it with ``rollout``. A failed gate deploys
       nothing.

    Every step returns and stores a :class:`Decision`: the audit trail of why the
    production model changed. A step that fails part-way stores one too (what it did,
    what failed) before the exception reaches the caller.

    Parameters
    ----------
    monitor : Monitor or MonitorLike
        Drift detection against the training reference: anything with ``check``,
        ``with_reference``, ``columns``, ``target`` and ``prediction``.
    pipeline : Pipeline or PipelineLike
        Retrains the model: takes the batch as ``data_input`` and has an output named
        ``model``; anything with ``run``, ``name``, ``inputs`` and ``outputs``.
    registry : Registry
        Where challengers are registered.
    deployer : Deployer or DeployerLike
        Serves the endpoint: anything with ``deploy``, ``promote``, ``rollback``,
        ``status`` and ``endpoints``.
    endpoint : str
        The endpoint whose primary is the champion (it must exist).
    model : str
        The registered model's name.
    gate : Gate
        How champion and challenger are compared.
    rollout : Canary, Shadow or Replace
        How a challenger that passed the gate reaches traffic, and when it is promoted
        or rolled back (default ``Canary(0.1)``: ``promote_after=100``,
        ``max_error_rate=0.05``, ``min_requests=20``, ``metric_tolerance=0``).
    data_input : str
        The pipeline input that receives the training data.
    retrain_on : {"drift", "decay", "always"}
        ``"drift"``: when the monitor reports drift or decay; ``"decay"``: only on
        performance decay; ``"always"``: on every batch.
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
    promote_after, max_error_rate, min_requests, metric_tolerance
        Deprecated: set them on the rollout (``Canary(0.1, promote_after=200)``). Given
        here they warn and are applied to the rollout.

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
        monitor: MonitorLike,
        pipeline: PipelineLike,
        registry: Registry,
        deployer: DeployerLike,
        endpoint: str,
        model: str,
        gate: Gate,
        rollout: Rollout | None = None,
        data_input: str = "data",
        retrain_on: RetrainOn = "drift",
        alias: str | None = "production",
        dataset: str | None = None,
        params: Mapping[str, Any] | None = None,
        runner: Runner | None = None,
        storage: StorageLike = None,
        name: str | None = None,
        clock: Clock | None = None,
        promote_after: int | None = None,
        max_error_rate: float | None = None,
        min_requests: int | None = None,
        metric_tolerance: float | None = None,
    ) -> None:
        self.monitor = check_like(monitor, "monitor")
        self.pipeline = check_like(pipeline, "pipeline")
        self.deployer = check_like(deployer, "deployer")
        _expect(registry, Registry, "registry")
        _expect(gate, Gate, "gate")
        legacy = {
            "promote_after": promote_after,
            "max_error_rate": max_error_rate,
            "min_requests": min_requests,
            "metric_tolerance": metric_tolerance,
        }
        self.rollout, self._judged = rollout_settings(rollout, legacy)
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
        self.registry, self.gate = registry, gate
        self.endpoint = check_name(endpoint, "endpoint name")
        self.model = check_name(model, "model name")
        self.alias = None if alias is None else check_name(alias, "alias")
        self.data_input, self.retrain_on = data_input, retrain_on
        self.params = dict(params or {})
        self.runner = runner
        self.storage = registry.storage if storage is None else resolve_storage(storage)
        self.name = check_name(name if name is not None else self.endpoint, "loop name")
        self.clock = clock or SYSTEM_CLOCK
        self.dataset = check_name(dataset if dataset is not None else f"{self.name}-training", "dataset name")
        self._log = decisions_log(self.name)
        self._reference: DatasetLink | None = None

    def __repr__(self) -> str:
        return f"ContinuousTraining(endpoint={self.endpoint!r}, model={self.model!r}, gate={self.gate!r})"

    # The rollout's settings, read where the loop kept them before they moved onto it.
    @property
    def promote_after(self) -> int:
        """The rollout's ``promote_after`` (see :class:`~mlops_kit.Canary`)."""
        return self._judged.promote_after

    @property
    def max_error_rate(self) -> float:
        """The rollout's ``max_error_rate``."""
        return self._judged.max_error_rate

    @property
    def min_requests(self) -> int:
        """The rollout's ``min_requests``."""
        return self._judged.min_requests

    @property
    def metric_tolerance(self) -> float:
        """The rollout's ``metric_tolerance``."""
        return self._judged.metric_tolerance

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
            If retraining failed. This and any other failure part-way is raised after a
            decision saying what the step did and what failed is stored.
        """
        batch = check_frame(batch, "the batch")
        if batch.empty:
            raise SchemaError("The batch is empty; a step needs rows to check and, maybe, to train on.")
        labelled = self._labelled(batch)
        status = self._status()
        note = StepNotes(self, batch, labelled, status)
        try:
            return self._step(batch, labelled, status, note)
        except Exception as exc:
            note.fail(exc)
            try:
                note.save(self._status_or(status))
            except Exception as lost:  # the caller still learns what failed first
                exc.add_note(f"The decision recording this failure could not be stored either: {lost}")
            raise

    @staticmethod
    def names(storage: StorageLike = None) -> NameList:
        """The loops that recorded a decision in ``storage``, sorted."""
        return NameList(decision_catalog(resolve_storage(check_storage(storage))).names())

    @staticmethod
    def stored_decisions(
        storage: StorageLike,
        name: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> RecordList[Decision]:
        """A page of the decisions of the loop ``name``, without building the loop.

        For readers that have the store but not the loop's blocks (the UI, an audit).

        Raises
        ------
        NotFoundError
            If no loop of that name recorded a decision.
        """
        name = check_name(name, "loop name")
        store = resolve_storage(check_storage(storage))
        missing = f"No loop named {name!r} recorded a decision in {store.url}."
        page = read_named_page(
            store, decisions_log(name), Decision, limit=limit, offset=offset,
            newest_first=newest_first, missing=missing,
        )  # fmt: skip
        return RecordList(e.record for e in page)

    def decisions(self) -> RecordList[Decision]:
        """Every decision of this loop, oldest first; ``.to_frame()`` tabulates them."""
        return RecordList(e.record for e in self.storage.read_log(self._log, Decision))

    def _step(
        self, batch: pd.DataFrame, labelled: pd.Series | None, status: EndpointStatus, note: StepNotes
    ) -> Decision:
        decisions = self.decisions()
        _rollout.catch_up(self, decisions[-1] if decisions else None, status, note)
        if status.candidate is not None:
            note.stage = "tending the rollout"
            _rollout.tend(self, status, batch, labelled, note)
            status = self._status()
        note.stage = "checking drift"
        self._follow_primary(status, note)
        report = self.monitor.check(self._with_predictions(batch, status))
        note.drift = summary(report)
        note.say(drift_sentence(report))
        if note.action != "none":
            note.say("retraining, if due, waits for the next batch: production just changed")
        elif not self._due(report):
            note.say(f"retraining is not due (retrain_on={self.retrain_on!r})")
        elif status.candidate is not None:
            note.say(f"retraining waits: candidate {status.candidate} is still being rolled out")
        else:
            return _retrain.retrain(self, batch, labelled, status, note)
        return note.save(status)

    # -- helpers -------------------------------------------------------------------

    def _follow_primary(self, status: EndpointStatus, note: StepNotes) -> None:
        """Measure drift against the training data of the serving model, when the loop trained it.

        The rows are read from the loop's storage and handed to the monitor as a frame: the
        monitor's own storage (``./.mlops`` when it was built without one) need not hold them.
        """
        primary = self.registry.get(status.primary)  # type: ignore[arg-type]
        link = primary.dataset
        if link is None or link.name != self.dataset or link == self._reference:
            return
        dataset = Dataset(link.name, storage=self.storage)
        version: DatasetVersion = dataset.get(link.version)
        wanted = set(self.monitor.columns)
        columns = [c for c in version.schema.names if c in wanted]
        self.monitor = self.monitor.with_reference(dataset.load(link.version, columns=columns))
        self._reference = link
        note.say(f"the monitor now measures drift against {link}, the training data of {primary.ref}")

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

    def _status_or(self, fallback: EndpointStatus) -> EndpointStatus:
        try:
            return self._status()
        except Exception:  # the deployer's failure is what is being recorded
            return fallback

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
        columns = features(mv, batch, self._label_columns())
        return batch.assign(**{column: self.registry.load(mv.ref).predict(batch[columns])})

    def _due(self, report: DriftReport) -> bool:
        decayed = bool(report.performance and report.performance.decayed)
        if self.retrain_on == "always":
            return True
        if self.retrain_on == "decay":
            return decayed
        return bool(report.drifted or decayed)


def _expect(value: object, kind: type, what: str) -> None:
    if not isinstance(value, kind):
        raise ConfigError(f"{what} must be a {kind.__name__}, got {type(value).__name__}.")
