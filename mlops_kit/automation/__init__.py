"""Automation: the level-2 loop composed from the blocks below it."""

from mlops_kit.automation._decision import Decision, DriftSummary, RolloutCounts
from mlops_kit.automation._gate import METRICS, Gate, GateResult
from mlops_kit.automation._loop import ContinuousTraining

__all__ = ["METRICS", "ContinuousTraining", "Decision", "DriftSummary", "Gate", "GateResult", "RolloutCounts"]
