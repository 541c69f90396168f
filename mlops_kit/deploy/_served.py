"""A loaded model version ready to serve: the model, its input checker, its health check."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.deploy._inputs import InputChecker
from mlops_kit.deploy._values import observed_rules

if TYPE_CHECKING:
    from mlops_kit.core.schema import Schema
    from mlops_kit.registry import ModelVersion, Registry

__all__ = [
    "METHODS",
    "FunctionModel",
    "ModelFailed",
    "Served",
    "load_served",
    "output_columns",
    "value_rules",
]

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


def load_served(registry: Registry, mv: ModelVersion, trusted: Sequence[str] = ()) -> Served:
    """Load a version and prove it works: predict on its input example (warm-up + health check).

    A plain function is served as the model's ``predict``. ``trusted`` lists the types
    a ``skops`` artifact may hold beyond skops' defaults. The input example also says
    which values the model takes (see :func:`value_rules`).

    Raises whatever loading raises (:class:`UntrustedTypesError` saying how to pass
    ``trusted``), :class:`~mlops_kit.SchemaError` if the example does not fit the
    signature, :class:`ModelFailed` if the model fails on it.
    """
    label = f"{mv.name}:{mv.version}"
    model = _as_model(_load(registry, mv, trusted), label, mv.model_class)
    inputs = mv.signature.inputs if mv.signature is not None else None
    served = Served(mv, model, InputChecker(inputs, label))
    example = registry.input_example(mv)
    if example is None:
        return served
    prepared = served.checker.prepare(example)
    served.call("predict", prepared)  # the health check
    served.call("predict", prepared.iloc[:1])  # warm the one-row path too
    if inputs is None:
        return served
    complete, finite = value_rules(model, inputs, example, prepared)
    return Served(mv, model, InputChecker(inputs, label, complete=complete, finite=finite))


def value_rules(
    model: Any, inputs: Schema, example: pd.DataFrame, prepared: pd.DataFrame
) -> tuple[list[str], list[str]]:
    """The columns that refuse nulls and those that refuse infinities.

    A column without nulls in the input example refuses them, unless the model
    answered a row with nulls in all such columns (one probe call: models such as
    histogram gradient boosting take missing values); int and bool columns always
    refuse them. A numeric column without infinities in the example refuses them.
    """
    complete, finite = observed_rules(example, inputs)
    nullable = [n for n in complete if inputs.columns[n].dtype not in ("int", "bool")]
    if nullable:
        row = prepared.iloc[:1].copy()
        nothing = np.zeros(len(row), dtype=bool)
        for name in nullable:
            row[name] = row[name].where(nothing)
        try:
            model.predict(row)
        except Exception:  # the model cannot take nulls there: a client's null is the client's mistake
            return complete, finite
        complete = [n for n in complete if n not in nullable]
    return complete, finite


def _load(registry: Registry, mv: ModelVersion, trusted: Sequence[str]) -> Any:
    from mlops_kit.registry import UntrustedTypesError

    if mv.serializer != "skops":
        return registry.load(mv)
    try:
        return registry.load(mv, trusted=list(trusted))
    except UntrustedTypesError as exc:
        names = list(exc.types)
        raise UntrustedTypesError(
            f"The skops artifact of {mv.name}:{mv.version} holds types that are not trusted: {names}. "
            f"Nothing was loaded. Review them, then pass the ones you trust to the deployer: "
            f"deployer.deploy({mv.ref!r}, trusted={names}) (or LocalDeployer(registry, trusted=[...]) "
            f"for every version it serves; from the shell, mlops-kit serve {mv.ref} "
            + " ".join(f"--trusted {n}" for n in names)
            + ").",
            names,
        ) from exc


def _as_model(model: Any, label: str, model_class: str) -> Any:
    if callable(getattr(model, "predict", None)):
        return model
    if inspect.isroutine(model) or isinstance(model, functools.partial):
        return FunctionModel(model)
    raise ModelFailed(
        label,
        TypeError(
            f"a {model_class} has no predict method; only models with predict, and plain "
            "functions (served as predict), can be served"
        ),
    )


class FunctionModel:
    """A plain function registered as a model, served as its ``predict``."""

    def __init__(self, function: Callable[[pd.DataFrame], Any]) -> None:
        self.function = function

    def __repr__(self) -> str:
        return f"FunctionModel({self.function!r})"

    def predict(self, inputs: pd.DataFrame) -> Any:
        """Call the function on the inputs."""
        return self.function(inputs)


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
