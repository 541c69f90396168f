"""A loaded model version ready to serve: the model, its input checker, its health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.deploy._inputs import InputChecker

if TYPE_CHECKING:
    from mlops_kit.registry import ModelVersion, Registry

__all__ = ["METHODS", "ModelFailed", "Served", "load_served", "output_columns"]

METHODS = ("predict", "predict_proba")
_PREFIX = {"predict": "prediction", "predict_proba": "proba"}


class ModelFailed(Exception):
    """The model itself raised (or returned something unusable); carries the original error."""

    def __init__(self, label: str, error: BaseException) -> None:
        super().__init__(f"Model {label} raised {type(error).__name__}: {error}")
        self.label = label
        self.error = error


@dataclass(frozen=True, eq=False)
class Served:
    """One model version in memory, shared by every snapshot that routes to it."""

    mv: ModelVersion
    model: Any
    checker: InputChecker
    label: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", f"{self.mv.name}:{self.mv.version}")

    def has(self, method: str) -> bool:
        """Whether the model has ``method`` (``predict`` or ``predict_proba``)."""
        return callable(getattr(self.model, method, None))

    def call(self, method: str, inputs: pd.DataFrame) -> Any:
        """Run the model; its own errors come out as :class:`ModelFailed`."""
        try:
            output = getattr(self.model, method)(inputs)
        except Exception as exc:
            raise ModelFailed(self.label, exc) from exc
        n = _length(output)
        if n != len(inputs):
            raise ModelFailed(
                self.label, ValueError(f"{method} returned {n} results for {len(inputs)} input rows")
            )
        return output


def load_served(registry: Registry, mv: ModelVersion) -> Served:
    """Load a version and prove it works: predict on its input example (warm-up + health check).

    Raises whatever loading raises, :class:`~mlops_kit.SchemaError` if the example
    does not fit the signature, :class:`ModelFailed` if the model fails on it.
    """
    model = registry.load(mv)
    if not callable(getattr(model, "predict", None)):
        raise ModelFailed(
            f"{mv.name}:{mv.version}",
            TypeError(f"a {mv.model_class} has no predict method; only models with predict can be served"),
        )
    inputs = mv.signature.inputs if mv.signature is not None else None
    served = Served(mv, model, InputChecker(inputs, f"{mv.name}:{mv.version}"))
    example = registry.input_example(mv)
    if example is not None:
        prepared = served.checker.prepare(example)
        served.call("predict", prepared)  # the health check
        served.call("predict", prepared.iloc[:1])  # warm the one-row path too
    return served


def _length(output: Any) -> int:
    if isinstance(output, pd.DataFrame | pd.Series | np.ndarray):
        return len(output)
    try:
        return len(np.asarray(output))
    except TypeError:
        return -1


def output_columns(output: Any, method: str, shadow: bool = False) -> dict[str, Any]:
    """Model output as named 1-D columns: ``prediction``, ``prediction_0``..., ``proba_0``..."""
    prefix = ("shadow_" if shadow else "") + _PREFIX.get(method, method)
    if isinstance(output, pd.DataFrame):
        return {f"{prefix}_{c}": output[c].to_numpy() for c in output.columns}
    array = output.to_numpy() if isinstance(output, pd.Series) else np.asarray(output)
    if array.ndim == 1:
        return {prefix: array}
    if array.ndim == 2:
        return {f"{prefix}_{i}": array[:, i] for i in range(array.shape[1])}
    return {prefix: list(array)}
