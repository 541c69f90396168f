"""Experiment tracking: runs started from any code (a notebook, a script), listed with pipeline runs."""

from mlops_kit.core.exports import publish
from mlops_kit.tracking._autolog import autolog
from mlops_kit.tracking._context import current_run
from mlops_kit.tracking._listing import AnyRun, RunTable, experiments, runs
from mlops_kit.tracking._records import Artifact, TrackedRun, TrackedStatus
from mlops_kit.tracking._run import ActiveRun
from mlops_kit.tracking._start import start_run

__all__ = [
    "ActiveRun",
    "AnyRun",
    "Artifact",
    "RunTable",
    "TrackedRun",
    "TrackedStatus",
    "autolog",
    "current_run",
    "experiments",
    "runs",
    "start_run",
]

# Last: every name above is bound.
publish(__name__, __all__, globals())
