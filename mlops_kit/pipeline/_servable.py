"""``ModelWithSteps``: a fitted model that carries the pipeline steps preparing its input."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mlops_kit.core.errors import PipelineError, SchemaError
from mlops_kit.pipeline._codefp import _global_names, code_fingerprint, is_user_module
from mlops_kit.pipeline._graph import Graph
from mlops_kit.pipeline._step import Step

__all__ = ["ModelWithSteps", "PreprocessingError"]


class PreprocessingError(PipelineError):
    """A step of a :class:`ModelWithSteps` failed at predict time; ``step`` names it."""

    def __init__(self, message: str, step: str) -> None:
        super().__init__(message)
        self.step = step


class ModelWithSteps:
    """A fitted model and the steps that turn raw input into the model's features.

    ``predict``, ``predict_proba`` and ``decision_function`` run the steps on the raw
    input, then the model's method on the result, so the model registers, deploys,
    serves and is monitored on raw columns: its signature (from an input example) is
    the raw input. When the model records the columns it was fit on (scikit-learn's
    ``feature_names_in_``), the prepared frame is narrowed to them in that order, so a
    step may keep the label or helper columns. It pickles with cloudpickle; the code
    fingerprint of each step is in :attr:`code` (the registry records it).

    Build one by hand, or from a training pipeline with :meth:`Pipeline.as_model`.

    Parameters
    ----------
    steps : list of Step
        The preprocessing steps (plain functions are wrapped), wired by name as in a
        :class:`Pipeline`.
    model : object
        The fitted model: it has ``predict`` (and maybe ``predict_proba``).
    input : str, optional
        The step parameter that receives the raw input; needed only when the steps
        take more than one name without a default.
    output : str, optional
        The step output passed to the model; needed only when several outputs are
        left unconsumed by the other steps.
    values : dict, optional
        Values for the other names the steps take (parameters used at training, a
        lookup table...); parameters not given keep their defaults.

    Attributes
    ----------
    code : Mapping of str to str
        Each step's code fingerprint (sha256 of its normalized code and the user code
        it references; see :func:`step`).
    packages : tuple of str
        Top-level packages the steps' code references (besides the standard library
        and the user's own modules), plus the model's.

    Raises
    ------
    PipelineError
        If the steps do not form a graph, the input or output is ambiguous or
        unknown, or a name the steps need has no value.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def features(raw: pd.DataFrame, cap: float = 50.0) -> pd.DataFrame:
    ...     return raw.assign(spend_capped=raw["spend"].clip(upper=cap))
    >>> raw = pd.DataFrame({"age": [25, 40, 61, 33], "spend": [10.0, 80.5, 5.2, 42.0]})
    >>> fitted = LogisticRegression().fit(features(raw)[["age", "spend_capped"]], [0, 1, 0, 1])
    >>> model = mk.ModelWithSteps([features], fitted)
    >>> model
    ModelWithSteps([features] -> LogisticRegression)
    >>> model.predict(raw).tolist()
    [0, 1, 0, 1]
    >>> mv = mk.Registry(mk.MemoryStorage()).register("churn", model, input_example=raw.head(2))
    >>> mv.flavor, mv.signature.inputs.names, list(mv.code)
    ('steps', ['age', 'spend'], ['features'])
    """

    def __init__(
        self,
        steps: Iterable[Step | Callable[..., Any]],
        model: Any,
        *,
        input: str | None = None,
        output: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        graph = Graph(steps)
        if not callable(getattr(model, "predict", None)):
            raise PipelineError(
                f"ModelWithSteps needs a fitted model with a predict method, got {type(model).__name__}."
            )
        self.steps: tuple[Step, ...] = graph.order
        self.model = model
        self.input = raw_input_of(graph, input)
        self.output = fed_output_of(graph, output)
        self.values: dict[str, Any] = _check_values(graph, self.input, dict(values or {}))
        memo: dict[int, str] = {}
        self.code: dict[str, str] = {s.name: code_fingerprint(s.func, memo) for s in self.steps}
        self.packages: tuple[str, ...] = _packages(self.steps, model)

    def __repr__(self) -> str:
        return f"ModelWithSteps([{', '.join(s.name for s in self.steps)}] -> {type(self.model).__name__})"

    def transform(self, data: Any) -> Any:
        """Run the steps on raw ``data``; return what the model receives.

        Raises
        ------
        PreprocessingError
            If a step raises; the message names the step, the original error is chained.
        SchemaError
            If the prepared frame lacks columns the model was fit on.
        """
        known: dict[str, Any] = {**self.values, self.input: data}
        for s in self.steps:
            kwargs = {p: known[p] if p in known else s.defaults[p] for p in s.inputs}
            try:
                known.update(zip(s.outputs, s.split(s.func(**kwargs)), strict=True))
            except Exception as exc:
                n = len(data) if hasattr(data, "__len__") else None
                rows = "" if n is None else f" on {n:,} row{'' if n == 1 else 's'}"
                raise PreprocessingError(
                    f"Step {s.name!r} of the model's preprocessing failed at predict time{rows}: "
                    f"{type(exc).__name__}: {exc}",
                    s.name,
                ) from exc
        return self._narrow(known[self.output])

    def predict(self, data: Any) -> Any:
        """The model's ``predict`` on the steps' output for raw ``data``."""
        return self.model.predict(self.transform(data))

    @property
    def predict_proba(self) -> Callable[[Any], Any]:
        """The model's ``predict_proba`` after the steps (absent if the model has none)."""
        return self._method("predict_proba")

    @property
    def decision_function(self) -> Callable[[Any], Any]:
        """The model's ``decision_function`` after the steps (absent if the model has none)."""
        return self._method("decision_function")

    @property
    def classes_(self) -> Any:
        """The model's classes (absent if the model has none)."""
        return self.model.classes_

    def _method(self, name: str) -> Callable[[Any], Any]:
        method = getattr(self.model, name)  # AttributeError: hasattr() tells the truth

        def call(data: Any) -> Any:
            return method(self.transform(data))

        return call

    def _narrow(self, prepared: Any) -> Any:
        names = getattr(self.model, "feature_names_in_", None)
        columns = getattr(prepared, "columns", None)
        if names is None or columns is None:
            return prepared
        wanted = [str(n) for n in names]
        missing = [n for n in wanted if n not in columns]
        if missing:
            raise SchemaError(
                f"The output {self.output!r} of the preprocessing steps lacks the columns {missing} the "
                f"model was fit on; it has {list(columns)}. Make the steps produce them from raw input."
            )
        return prepared[wanted]

    def __mlops_kit_servable__(self) -> dict[str, Any]:
        """What the registry records about this model (see ``docs/registry.md``)."""
        return {"model": self.model, "code": dict(self.code), "packages": list(self.packages)}


def raw_input_of(graph: Graph, given: str | None) -> str:
    required = graph.required_inputs()
    if given is not None:
        if given not in graph.free:
            raise PipelineError(
                f"input={given!r} is not a name the steps take; they take {sorted(graph.free)}."
            )
        return given
    if len(required) != 1:
        raise PipelineError(
            f"The steps take {len(required)} names without a default ({required}); say which one "
            "receives the raw input with input=, and pass the others in values=."
        )
    return required[0]


def fed_output_of(graph: Graph, given: str | None) -> str:
    if given is not None:
        if given not in graph.producer:
            raise PipelineError(
                f"output={given!r} is not an output of the steps; they produce {sorted(graph.producer)}."
            )
        return given
    consumed = {p for s in graph.order for p in s.inputs}
    last = [out for s in graph.order for out in s.outputs if out not in consumed]
    if len(last) != 1:
        raise PipelineError(
            f"The steps leave {len(last)} outputs unconsumed ({last}); say which one the model takes with output=."
        )
    return last[0]


def _check_values(graph: Graph, raw: str, values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(graph.free) | ({raw} & set(values)))
    if unknown:
        raise PipelineError(
            f"values= has {unknown}, which the steps do not take as parameters (or is the raw input "
            f"{raw!r}); they take {sorted(set(graph.free) - {raw})}."
        )
    missing = [n for n in graph.required_inputs() if n != raw and n not in values]
    if missing:
        raise PipelineError(f"The steps need {missing}, which have no default; pass them in values=.")
    return values


def _packages(steps: Iterable[Step], model: Any) -> tuple[str, ...]:
    """Installed top-level packages the steps' code names, and the model's, in first-seen order."""
    found: dict[str, None] = {}
    for s in steps:
        func = s.func
        code = getattr(func, "__code__", None)
        scope = getattr(func, "__globals__", {})
        names = _global_names(code) if code is not None else set()
        for name in sorted(names):
            value = scope.get(name)
            module = (
                value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
            )
            _add(found, module)
    _add(found, type(model).__module__)
    return tuple(found)


def _add(found: dict[str, None], module: object) -> None:
    if not isinstance(module, str) or not module:
        return
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in ("builtins", "mlops_kit") or is_user_module(module):
        return
    found[top] = None
