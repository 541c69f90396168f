"""The step graph: inferred from parameter names, checked before anything runs."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mlops_kit.core.errors import PipelineError
from mlops_kit.pipeline._step import Step

__all__ = ["Binding", "Graph"]


class Graph:
    """Steps, who produces each name, and a deterministic topological order.

    Raises
    ------
    PipelineError
        On duplicate step names, duplicate outputs, or a cycle.
    """

    def __init__(self, steps: Iterable[Step | Callable[..., Any]]) -> None:
        if callable(steps):  # a single step instead of a list
            steps = [steps]
        items = [s if isinstance(s, Step) else _as_step(s) for s in steps]
        if not items:
            raise PipelineError("A pipeline needs at least one step; got an empty list.")
        self.steps: dict[str, Step] = {}
        self.producer: dict[str, str] = {}
        for item in items:
            if item.name in self.steps:
                raise PipelineError(
                    f"Two steps are named {item.name!r}; step names must be unique. "
                    f"Rename one with step(func, name=...)."
                )
            self.steps[item.name] = item
            for out in item.outputs:
                other = self.producer.get(out)
                if other is not None:
                    raise PipelineError(
                        f"Output {out!r} is produced by both step {other!r} and step {item.name!r}; "
                        "each name must have one producer. Rename one with outputs=."
                    )
                self.producer[out] = item.name
        self.deps: dict[str, tuple[str, ...]] = {
            name: tuple(dict.fromkeys(self.producer[p] for p in s.inputs if p in self.producer))
            for name, s in self.steps.items()
        }
        self.consumers: dict[str, list[str]] = {name: [] for name in self.steps}
        for name, deps in self.deps.items():
            for dep in deps:
                self.consumers[dep].append(name)
        self.order: tuple[Step, ...] = self._sorted()
        # Names no step produces: pipeline inputs, run parameters or defaults.
        self.free: dict[str, list[str]] = {}
        for s in self.order:
            for p in s.inputs:
                if p not in self.producer:
                    self.free.setdefault(p, []).append(s.name)

    def _sorted(self) -> tuple[Step, ...]:
        position = {name: i for i, name in enumerate(self.steps)}
        waiting = {name: len(deps) for name, deps in self.deps.items()}
        ready = [(position[n], n) for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:  # Kahn's algorithm; ties keep the order the steps were given in
            _, name = heapq.heappop(ready)
            order.append(self.steps[name])
            for consumer in self.consumers[name]:
                waiting[consumer] -= 1
                if waiting[consumer] == 0:
                    heapq.heappush(ready, (position[consumer], consumer))
        if len(order) < len(self.steps):
            raise PipelineError(self._cycle_message({n for n, c in waiting.items() if c > 0}))
        return tuple(order)

    def _cycle_message(self, stuck: set[str]) -> str:
        # Walk upstream from a stuck step until a step repeats: that is a cycle.
        path = [min(stuck)]
        while True:
            upstream = next(d for d in self.deps[path[-1]] if d in stuck)
            if upstream in path:
                cycle = [*path[path.index(upstream) :], upstream][::-1]
                break
            path.append(upstream)
        needs = [
            f"{b!r} needs {sorted(set(self.steps[b].inputs) & set(self.steps[a].outputs))} from {a!r}"
            for a, b in itertools.pairwise(cycle)
        ]
        return (
            f"Steps form a cycle: {' -> '.join(cycle)} ({'; '.join(needs)}). "
            "A step cannot depend, directly or not, on its own output."
        )

    def upstream_of(self, name: str) -> set[str]:
        """The steps ``name`` depends on, transitively."""
        seen: set[str] = set()
        todo = list(self.deps[name])
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(self.deps[dep])
        return seen

    def downstream_of(self, name: str) -> set[str]:
        """The steps that depend on ``name``, transitively."""
        seen: set[str] = set()
        todo = list(self.consumers[name])
        while todo:
            consumer = todo.pop()
            if consumer not in seen:
                seen.add(consumer)
                todo.extend(self.consumers[consumer])
        return seen

    def required_inputs(self) -> list[str]:
        """Free names without a default in at least one step that takes them."""
        return [n for n, users in self.free.items() if any(n not in self.steps[u].defaults for u in users)]

    def parameters(self) -> dict[str, Any]:
        """Free names every taker has a default for, with the first default seen."""
        required = set(self.required_inputs())
        return {n: self.steps[users[0]].defaults[n] for n, users in self.free.items() if n not in required}


class Binding:
    """Where each step parameter's value comes from in one run.

    ``sources[step][i]`` is ``(parameter, value name)``: an output name, an input or
    param name, or ``"<step>.<param>"`` for a default.
    """

    def __init__(self, graph: Graph, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        _check_names(graph, inputs, params)
        self.values: dict[str, Any] = {**inputs, **params}
        self.params: dict[str, Any] = dict(params)
        self.sources: dict[str, tuple[tuple[str, str], ...]] = {}
        missing: list[str] = []
        for s in graph.order:
            pairs = []
            for p in s.inputs:
                if p in graph.producer or p in self.values:
                    pairs.append((p, p))
                elif p in s.defaults:
                    slot = f"{s.name}.{p}"
                    self.values[slot] = s.defaults[p]
                    pairs.append((p, slot))
                    self.params.setdefault(p if _same_default(graph, p) else slot, s.defaults[p])
                else:
                    missing.append(f"step {s.name!r} needs {p!r}")
            self.sources[s.name] = tuple(pairs)
        if missing:
            raise PipelineError(
                f"Missing inputs: {'; '.join(missing)}, which no step produces. Pass them with "
                f"inputs={{...}} or params={{...}}. {_available(graph)}"
            )


def _same_default(graph: Graph, name: str) -> bool:
    defaults = [graph.steps[u].defaults.get(name, _NONE) for u in graph.free.get(name, [])]
    return all(d is defaults[0] or _equal(d, defaults[0]) for d in defaults)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and frames have no single truth value
        return False


_NONE = object()


def _check_names(graph: Graph, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    for kind, given in (("inputs", inputs), ("params", params)):
        if not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given):
            raise PipelineError(f"{kind}= must be a dict of names to values, got {given!r}.")
    both = sorted(set(inputs) & set(params))
    if both:
        raise PipelineError(f"{both} given both in inputs= and params=; give each name once.")
    for kind, given in (("input", inputs), ("param", params)):
        for name in given:
            if name in graph.producer:
                raise PipelineError(
                    f"Unknown {kind} {name!r}: it is the output of step {graph.producer[name]!r}, so it "
                    f"cannot also be given. {_available(graph)}"
                )
            if name not in graph.free:
                raise PipelineError(
                    f"Unknown {kind} {name!r}: no step takes a parameter by that name. {_available(graph)}"
                )


def _available(graph: Graph) -> str:
    inputs = graph.required_inputs()
    params = sorted(graph.parameters())
    return (
        f"Inputs the steps take: {inputs or 'none'}; parameters with defaults: {params or 'none'}; "
        f"outputs of steps: {sorted(graph.producer)}."
    )


def _as_step(obj: Any) -> Step:
    if callable(obj):
        return Step(obj)
    raise PipelineError(
        f"Pipeline steps must be functions decorated with @step, got {obj!r} ({type(obj).__name__})."
    )
