"""Pipelines: plain functions wired by name, cached by content, run anywhere from a loop to Dask."""

from mlops_kit.core.exports import publish
from mlops_kit.pipeline._dask import DaskRunner
from mlops_kit.pipeline._lazy_outputs import register_lazy_outputs
from mlops_kit.pipeline._materializers import (
    JsonMaterializer,
    Materializer,
    NumpyMaterializer,
    ParquetMaterializer,
    PickleMaterializer,
    StorageMaterializer,
    register_materializer,
)

# For mlops_kit.tracking (not public): where mk.log_metric goes outside a step.
from mlops_kit.pipeline._metrics import MetricPoint, log_metric

# For mlops_kit.tracking, not public: where mk.log_metric goes outside a step.
from mlops_kit.pipeline._metrics import check_metric_step as check_metric_step
from mlops_kit.pipeline._metrics import route_outside_steps as route_outside_steps
from mlops_kit.pipeline._metrics import stop_routing as stop_routing
from mlops_kit.pipeline._pipeline import Pipeline
from mlops_kit.pipeline._process import ProcessRunner
from mlops_kit.pipeline._records import OutputRecord, RunRecord, StepRecord
from mlops_kit.pipeline._result import RunOutputs, RunResult
from mlops_kit.pipeline._runlist import RunList

# For mlops_kit.tracking, not public: the pipelines' run logs, which mk.runs reads pages of.
from mlops_kit.pipeline._runlist import judge as judge
from mlops_kit.pipeline._runlist import pipeline_catalog as pipeline_catalog
from mlops_kit.pipeline._runners import Runner, SequentialRunner, ThreadRunner
from mlops_kit.pipeline._servable import ModelWithSteps, PreprocessingError
from mlops_kit.pipeline._state import RunState
from mlops_kit.pipeline._step import Step, step
from mlops_kit.pipeline._task import CacheWarning

__all__ = [
    "CacheWarning",
    "DaskRunner",
    "JsonMaterializer",
    "Materializer",
    "MetricPoint",
    "ModelWithSteps",
    "NumpyMaterializer",
    "OutputRecord",
    "ParquetMaterializer",
    "PickleMaterializer",
    "Pipeline",
    "PreprocessingError",
    "ProcessRunner",
    "RunList",
    "RunOutputs",
    "RunRecord",
    "RunResult",
    "RunState",
    "Runner",
    "SequentialRunner",
    "Step",
    "StepRecord",
    "StorageMaterializer",
    "ThreadRunner",
    "log_metric",
    "register_materializer",
    "step",
]

register_lazy_outputs()

# Last: every name above is bound.
publish(__name__, __all__, globals())
