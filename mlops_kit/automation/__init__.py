"""Automation: the level-2 loop composed from the blocks below it."""

from mlops_kit.automation._decision import Decision, DriftSummary, RolloutCounts
from mlops_kit.automation._gate import METRICS, Gate, GateResult
from mlops_kit.automation._loop import ContinuousTraining
from mlops_kit.automation._protocols import DeployerLike, MonitorLike, PipelineLike, RunLike
from mlops_kit.core.exports import publish

__all__ = [
    "METRICS",
    "ContinuousTraining",
    "Decision",
    "DeployerLike",
    "DriftSummary",
    "Gate",
    "GateResult",
    "MonitorLike",
    "PipelineLike",
    "RolloutCounts",
    "RunLike",
]

# Last: every name above is bound.
publish(__name__, __all__, globals())
