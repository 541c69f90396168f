"""What a model is (its flavor) and what it takes and returns (its signature)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import SchemaError
from mlops_kit.core.schema import Schema
from mlops_kit.registry._records import Signature

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["flavor_of", "infer_signature", "model_class", "servable_parts", "top_package"]


def servable_parts(model: Any) -> dict[str, Any] | None:
    """What a model shipping with its steps says about itself (``__mlops_kit_servable__``), else ``None``.

    The registry reads it without importing the pipeline block: ``{"model": the fitted
    model, "code": {step: fingerprint}, "packages": [top-level package, ...]}``.
    """
    hook = getattr(type(model), "__mlops_kit_servable__", None)
    return hook(model) if callable(hook) else None


def flavor_of(model: Any) -> str:
    """``"steps"`` (a model with its preprocessing steps), ``"sklearn-pipeline"``, ``"sklearn"``,
    ``"python"`` (has ``predict``) or ``"object"``."""
    if servable_parts(model) is not None:
        return "steps"
    # An sklearn model can only exist if sklearn was imported: never import it here.
    if "sklearn" in sys.modules:
        from sklearn.base import BaseEstimator
        from sklearn.pipeline import Pipeline

        if isinstance(model, Pipeline):
            return "sklearn-pipeline"
        if isinstance(model, BaseEstimator):
            return "sklearn"
    if callable(getattr(model, "predict", None)):
        return "python"
    return "object"


def model_class(model: Any) -> str:
    """The qualified class name, such as ``sklearn.linear_model.LogisticRegression``.

    A model with steps is named with the model it wraps: ``mlops_kit.ModelWithSteps(sklearn...)``.
    """
    parts = servable_parts(model)
    if parts is not None:
        return f"mlops_kit.{type(model).__qualname__}({model_class(parts['model'])})"
    cls = type(model)
    module = cls.__module__
    if module.startswith("sklearn."):  # the public path, not sklearn.linear_model._logistic
        module = ".".join(part for part in module.split(".") if not part.startswith("_"))
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def top_package(model: Any) -> str | None:
    """The top-level package defining the model's class (``"xgboost"``), if not builtin."""
    root = type(model).__module__.split(".")[0]
    return None if root in {"builtins", "__main__", "sklearn", "mlops_kit"} else root


def infer_signature(model: Any, example: pd.DataFrame) -> Signature:
    """Infer input and output schemas from an example and the model's prediction on it.

    The input schema is deliberately loose (every column nullable, no ranges, no
    category sets): a handful of example rows says which columns and types the
    model takes, not which values it will ever see.

    Raises
    ------
    SchemaError
        If the example is not a DataFrame with supported columns, or ``predict``
        fails on it.
    """
    inputs = Schema.infer(example, ranges=False, categories=False, nullable=True)
    predict = getattr(model, "predict", None)
    if not callable(predict):
        return Signature(inputs=inputs)
    try:
        prediction = predict(example)
    except Exception as exc:
        raise SchemaError(
            f"model.predict(input_example) failed with {type(exc).__name__}: {exc}. The input example "
            f"must be data the model accepts (columns {list(example.columns)}); nothing was registered."
        ) from exc
    return Signature(inputs=inputs, outputs=_output_schema(prediction))


def _output_schema(prediction: Any) -> Schema:
    import numpy as np
    import pandas as pd

    if isinstance(prediction, pd.DataFrame):
        frame = prediction.rename(columns=str)
    elif isinstance(prediction, pd.Series):
        frame = prediction.to_frame(str(prediction.name) if prediction.name is not None else "prediction")
    else:
        array = np.asarray(prediction)
        if array.ndim == 1:
            frame = pd.DataFrame({"prediction": array})
        elif array.ndim == 2:
            frame = pd.DataFrame(array, columns=[f"prediction_{i}" for i in range(array.shape[1])])
        else:
            raise SchemaError(
                f"model.predict(input_example) returned an array of shape {array.shape}; expected a "
                "DataFrame, a Series or a 1-D or 2-D array."
            )
    try:
        return Schema.infer(frame, ranges=False, categories=False, nullable=True)
    except SchemaError as exc:
        raise SchemaError(f"Cannot describe the output of model.predict(input_example): {exc}") from exc
