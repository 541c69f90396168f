"""``Decision``: what one step of the loop saw, did, and why — the audit trail of model changes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from mlops_kit.automation._gate import GateResult
from mlops_kit.core.record import Record
from mlops_kit.core.storage.catalog import Catalog

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = [
    "DECISIONS_ROOT",
    "Decision",
    "DriftSummary",
    "RolloutAction",
    "RolloutCounts",
    "decision_catalog",
    "decisions_log",
]

RolloutAction = Literal["none", "deployed", "canary", "shadow", "promoted", "rolled_back", "deploy_failed"]


class DriftSummary(Record):
    """The part of the drift report a decision keeps."""

    drifted: bool
    dataset_drift: bool
    drift_share: float
    drifted_columns: tuple[str, ...] = ()
    decayed: bool | None = None
    reasons: tuple[str, ...] = ()
    summary: str = ""


class RolloutCounts(Record):
    """The candidate's traffic as the step judged it, by every process serving the endpoint.

    ``errors`` are the candidate's own failures, judged against ``max_error_rate`` over the
    requests it answered or failed (``requests - client_errors``); ``client_errors`` are
    requests refused for bad input, the client's mistake, never held against it.
    """

    candidate: str
    requests: int
    errors: int
    client_errors: int = 0

    @property
    def judged(self) -> int:
        """The requests the candidate's model handled: every request but the refused ones."""
        return self.requests - self.client_errors

    @property
    def error_rate(self) -> float:
        """``errors / judged`` (0 before any request was judged)."""
        return self.errors / self.judged if self.judged else 0.0


class Decision(Record):
    """One step of :class:`ContinuousTraining`, persisted in its append-only log.

    Attributes
    ----------
    number : int
        The step's sequence number in the loop's log (1, 2, ...).
    loop, endpoint, model : str
        Which loop, endpoint and registered model.
    at : datetime
        When the step ran.
    batch_rows, labelled_rows : int
        The batch's size, and how many rows carried a label.
    drift : DriftSummary or None
        What the monitor found (``None`` when the step only tended a rollout).
    retrained : bool
        Whether the pipeline ran.
    run_id : str or None
        The pipeline run that trained the challenger.
    champion : str or None
        ``"model:version"`` serving before the step.
    candidate_version : int or None
        The challenger's registry version (registered only when the gate passed).
    gate : GateResult or None
        Both scores and the verdict.
    rollout : RolloutCounts or None
        The candidate's requests, own errors and refused requests, when the step tended
        a rollout.
    action : str
        ``"none"``, ``"deployed"`` (replace), ``"canary"``, ``"shadow"``,
        ``"promoted"``, ``"rolled_back"`` or ``"deploy_failed"``.
    primary : str or None
        ``"model:version"`` serving after the step.
    candidate : str or None
        ``"model:version"`` being rolled out after the step (canary or shadow).
    reasons : tuple of str
        The story of the step, in words.
    done : tuple of str
        The changes the step made, in order (``"promoted churn:2"``, ...).
    error : str or None
        What failed, when the step stopped part-way (``done`` says what it did before);
        the exception was raised to the caller after this decision was stored.
    """

    SCHEMA_VERSION = 2

    number: int
    loop: str
    endpoint: str
    model: str
    at: dt.datetime
    batch_rows: int
    labelled_rows: int = 0
    drift: DriftSummary | None = None
    retrained: bool = False
    run_id: str | None = None
    champion: str | None = None
    candidate_version: int | None = None
    gate: GateResult | None = None
    rollout: RolloutCounts | None = None
    action: RolloutAction = "none"
    primary: str | None = None
    candidate: str | None = None
    reasons: tuple[str, ...] = ()
    done: tuple[str, ...] = ()
    error: str | None = None

    @property
    def changed(self) -> bool:
        """Whether production traffic changed (a deploy, canary, promote or rollback)."""
        return self.action not in ("none", "deploy_failed")

    @property
    def failed(self) -> bool:
        """Whether the step stopped part-way (see ``error`` and ``done``)."""
        return self.error is not None

    def __str__(self) -> str:
        head = f"decision {self.number} on {self.endpoint!r} at {self.at:%Y-%m-%d %H:%M:%S}: {self.action}"
        if self.error is not None:
            head += f" (failed: {self.error})"
        return "\n".join([head, *(f"  - {reason}" for reason in self.reasons)])


DECISIONS_ROOT = "automation"


def decisions_log(loop: str) -> str:
    """The log of a loop's decisions: ``automation/<loop>/decisions``."""
    return f"{DECISIONS_ROOT}/{loop}/decisions"


def decision_catalog(storage: Storage) -> Catalog:
    """The names of the loops that decided something in ``storage``."""
    return Catalog(storage, DECISIONS_ROOT, "decisions")
