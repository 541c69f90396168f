"""``Pipeline.as_model``: the same training, whose model output ships with its preprocessing steps."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from mlops_kit.core.errors import PipelineError
from mlops_kit.pipeline._graph import Graph
from mlops_kit.pipeline._servable import ModelWithSteps, fed_output_of, raw_input_of
from mlops_kit.pipeline._step import Step

__all__ = ["servable_steps"]

_EMPTY = inspect.Parameter.empty


def servable_steps(
    graph: Graph,
    output: str,
    preprocess: Sequence[Step | str],
    *,
    input: str | None = None,
    features: str | None = None,
) -> list[Step]:
    """The steps of ``graph`` rewired so that ``output`` is a :class:`ModelWithSteps`.

    The step producing ``output`` now produces ``<output>_fitted`` (and the steps that
    took ``output`` take that), and a new step ``<output>_with_steps`` bundles the
    fitted model with the ``preprocess`` steps and the values they were run with.
    """
    if not isinstance(output, str) or output not in graph.producer:
        raise PipelineError(
            f"output={output!r} is not an output of the pipeline; its outputs are {sorted(graph.producer)}."
        )
    trainer = graph.producer[output]
    chosen = _chosen(graph, preprocess, trainer)
    sub = Graph(chosen)
    raw = raw_input_of(sub, input)
    fed = fed_output_of(sub, features if features is not None else _consumed_by(sub, graph.steps[trainer]))
    for name in sub.free:
        if name in graph.producer:
            raise PipelineError(
                f"Preprocessing step {sub.free[name][0]!r} takes {name!r} from step {graph.producer[name]!r}, "
                "which is not in preprocess=: at predict time nothing would produce it. Add that step too."
            )
    fitted, bundler = f"{output}_fitted", f"{output}_with_steps"
    for taken in (fitted, bundler):
        if taken in graph.producer or taken in graph.free or taken in graph.steps:
            raise PipelineError(
                f"as_model needs the name {taken!r}, which the pipeline already uses; rename it."
            )
    steps = []
    for s in graph.order:
        if s.name == trainer:
            s = _with_output(s, output, fitted)
        if output in s.inputs:
            s = _with_input(s, output, fitted)
        steps.append(s)
    steps.append(_bundle_step(sub, raw, fed, fitted, bundler, output))
    return steps


def _chosen(graph: Graph, preprocess: Sequence[Step | str], trainer: str) -> list[Step]:
    if isinstance(preprocess, Step | str) or not preprocess:
        raise PipelineError("preprocess= must be a non-empty list of the pipeline's steps (or their names).")
    after = graph.downstream_of(trainer) | {trainer}
    chosen = []
    for item in preprocess:
        name = item.name if isinstance(item, Step) else item
        if name not in graph.steps:
            raise PipelineError(
                f"preprocess= names {name!r}, which is not a step of the pipeline; its steps are {list(graph.steps)}."
            )
        if name in after:
            raise PipelineError(
                f"Step {name!r} runs after (or is) step {trainer!r}, which trains the model: it cannot "
                "prepare the model's input."
            )
        chosen.append(graph.steps[name])
    return chosen


def _consumed_by(sub: Graph, trainer: Step) -> str | None:
    """The preprocessing output the trainer takes, when the steps leave more than one."""
    consumed = {p for s in sub.order for p in s.inputs}
    last = [out for s in sub.order for out in s.outputs if out not in consumed]
    if len(last) <= 1:
        return None
    taken = [out for out in last if out in trainer.inputs]
    return taken[0] if len(taken) == 1 else None


def _with_output(s: Step, old: str, new: str) -> Step:
    outputs: str | tuple[str, ...] = (
        tuple(new if o == old else o for o in s.outputs) if s.unpack_outputs else new
    )
    return Step(s.func, name=s.name, outputs=outputs, retries=s.retries, cache=s.cache, version=s.version)


def _with_input(s: Step, old: str, new: str) -> Step:
    func = s.func

    def renamed(**kwargs: Any) -> Any:
        kwargs[old] = kwargs.pop(new)
        return func(**kwargs)

    signature = inspect.signature(func)
    params = [p.replace(name=new) if p.name == old else p for p in signature.parameters.values()]
    renamed.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    renamed.__name__ = renamed.__qualname__ = getattr(func, "__name__", s.name)
    return Step(
        renamed,
        name=s.name,
        outputs=s.outputs if s.unpack_outputs else s.outputs[0],
        retries=s.retries,
        cache=s.cache,
        version=s.version,
    )


def _bundle_step(sub: Graph, raw: str, fed: str, fitted: str, name: str, output: str) -> Step:
    steps = sub.order
    captured = [n for n in sub.free if n != raw]
    params = [inspect.Parameter(fitted, inspect.Parameter.KEYWORD_ONLY)]
    for n in captured:
        params.append(inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=_default(sub, n)))

    def bundle(**kwargs: Any) -> ModelWithSteps:
        model = kwargs.pop(fitted)
        return ModelWithSteps(steps, model, input=raw, output=fed, values=kwargs)

    bundle.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    bundle.__name__ = bundle.__qualname__ = name
    # Never cached: the bundle is cheap, and its cache key could not see the steps' code.
    return Step(bundle, name=name, outputs=output, cache=False)


def _default(sub: Graph, name: str) -> Any:
    takers = [sub.steps[t] for t in sub.free[name]]
    defaults = [t.defaults.get(name, _EMPTY) for t in takers]
    if any(d is _EMPTY for d in defaults):
        return _EMPTY  # a pipeline input: the run must give it
    first = defaults[0]
    if not all(d is first or _same(d, first) for d in defaults):
        raise PipelineError(
            f"Preprocessing steps {[t.name for t in takers]} give the parameter {name!r} different defaults "
            f"({defaults}); give them one default, so the model's steps run as they were trained."
        )
    return first


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and frames have no single truth value
        return False
