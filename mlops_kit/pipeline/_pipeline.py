"""``Pipeline``: a DAG of steps inferred from parameter names; runs are recorded and cached."""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mlops_kit.core.arguments import StorageLike, check_storage, check_tags
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock, current_user
from mlops_kit.core.errors import ConfigError, PipelineError
from mlops_kit.core.heartbeat import Heartbeat, Pulse
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.pipeline._codefp import code_fingerprint
from mlops_kit.pipeline._datafp import fingerprint
from mlops_kit.pipeline._draw import describe, to_mermaid, to_svg
from mlops_kit.pipeline._graph import Binding, Graph
from mlops_kit.pipeline._records import RunRecord
from mlops_kit.pipeline._result import RunResult
from mlops_kit.pipeline._runlist import RunList, heartbeat_key, pipeline_catalog, pipeline_names, runs_log
from mlops_kit.pipeline._runners import Runner, SequentialRunner
from mlops_kit.pipeline._state import RunState
from mlops_kit.pipeline._step import Step
from mlops_kit.pipeline._task import UNSET, CacheWarning, Slot, StepTask

__all__ = ["Pipeline"]


class Pipeline:
    """Steps wired by name into a DAG; runs are cached by content and recorded.

    The graph is inferred: a step parameter named like another step's output
    receives that output. The order of ``steps`` does not matter. Duplicate
    outputs and cycles are rejected here; missing inputs and unknown params are
    rejected by :meth:`run` before any step executes.

    Parameters
    ----------
    steps : list of Step
        The steps (functions decorated with :func:`step`; plain functions are
        wrapped).
    name : str
        The pipeline's name; runs are recorded under it.
    storage : Storage, str or None
        Default storage for :meth:`run` and :meth:`runs` (else ``$MLOPS_KIT_STORAGE``
        or ``./.mlops``).
    clock : Clock, optional
        Source of timestamps and durations (a fake clock in tests).

    Raises
    ------
    PipelineError
        On duplicate step names, duplicate outputs, or a cycle.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def features(raw: list) -> list:
    ...     return [2 * x for x in raw]
    >>> @mk.step(outputs=("model", "score"))
    ... def train(features: list, C: float = 1.0):
    ...     mk.log_metric("auc", 0.9)
    ...     return {"weights": [C * f for f in features]}, 0.9
    >>> pipe = mk.Pipeline([train, features], name="demo")
    >>> print(pipe.describe())
    Pipeline 'demo': 2 steps
      inputs: raw
      params: C=1.0
      1. features(raw) -> features
      2. train(features, C) -> model, score
    >>> store = mk.MemoryStorage()
    >>> run = pipe.run(inputs={"raw": [1, 2]}, params={"C": 0.5}, storage=store, progress=False)
    >>> run.status, run.outputs["model"], run.metrics
    ('succeeded', {'weights': [1.0, 2.0]}, {'auc': 0.9})
    >>> again = pipe.run(inputs={"raw": [1, 2]}, params={"C": 0.5}, storage=store, progress=False)
    >>> [s.cache_hit for s in again.steps]
    [True, True]
    >>> [r.id for r in pipe.runs(storage=store)] == [again.id, run.id]
    True
    """

    def __init__(
        self,
        steps: Iterable[Step | Callable[..., Any]],
        *,
        name: str = "pipeline",
        storage: StorageLike = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = check_name(name, "pipeline name")
        self.graph = Graph(steps)
        self.steps: tuple[Step, ...] = self.graph.order
        self.storage = check_storage(storage)  # opened by each run
        self.clock = clock or SYSTEM_CLOCK
        self._log = runs_log(self.name)

    def __repr__(self) -> str:
        return f"Pipeline({[s.name for s in self.steps]}, name={self.name!r})"

    @property
    def inputs(self) -> list[str]:
        """The names the pipeline needs as ``inputs=`` (taken by steps, produced by none, no default)."""
        return self.graph.required_inputs()

    @property
    def params(self) -> dict[str, Any]:
        """The parameters that have defaults, with those defaults (overridable with ``params=``)."""
        return self.graph.parameters()

    @property
    def outputs(self) -> list[str]:
        """Every output name, in step order."""
        return [out for s in self.steps for out in s.outputs]

    # -- running -------------------------------------------------------------------

    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        storage: StorageLike = None,
        runner: Runner | None = None,
        cache: bool = True,
        progress: bool = True,
        tags: Mapping[str, str] | None = None,
        heartbeat: float = 30.0,
    ) -> RunResult:
        """Run the pipeline and record the run.

        A step is skipped when a result for the same code, inputs and params is in
        the cache. A failed step stops the steps that depend on it; the others still
        run (and are cached), so re-running after a fix executes only the failed step
        and what depends on it.

        Parameters
        ----------
        inputs : dict, optional
            Values for the names no step produces (data, typically).
        params : dict, optional
            Values overriding step parameters' defaults (configuration, typically).
        storage : Storage, str or None
            Where the run record, the cache and cached outputs live; defaults to the
            pipeline's ``storage``, else ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
        runner : Runner, optional
            :class:`SequentialRunner` (default), :class:`ThreadRunner`,
            :class:`ProcessRunner` or :class:`DaskRunner`.
        cache : bool
            ``False`` neither reads nor writes the cache (and stores no outputs).
        progress : bool
            Show a progress bar (only in a terminal or a notebook, never in CI).
        tags : dict of str to str, optional
            Labels stored on the run record.
        heartbeat : float
            Seconds between the heartbeats this process writes while the run goes on;
            readers show the run as ``unfinished`` after three missed heartbeats plus a
            minute (the process was killed), never as running forever.

        Returns
        -------
        RunResult
            The finished run: its persisted :class:`RunRecord` (``run.record``, whose
            attributes ``run.status``, ``run.metrics``... read through) and its
            outputs (``run.outputs[name]``).

        Raises
        ------
        PipelineError
            Before any step runs: unknown inputs or params, missing inputs. After: a
            step failed (the original exception is chained; ``error.run`` holds the
            failed run's :class:`RunResult`).
        KeyboardInterrupt
            Re-raised after the run is recorded as failed.
        """
        if not isinstance(cache, bool):
            raise ConfigError(f"cache= must be True or False, got {cache!r}.")
        if (
            isinstance(heartbeat, bool)
            or not isinstance(heartbeat, int | float)
            or not 0 < heartbeat < math.inf
        ):
            raise ConfigError(f"heartbeat= must be a positive number of seconds, got {heartbeat!r}.")
        runner = SequentialRunner() if runner is None else runner
        if not isinstance(runner, Runner):
            raise ConfigError(
                f"runner= must be a Runner (SequentialRunner(), ThreadRunner(), ProcessRunner(), "
                f"DaskRunner(client)), got {runner!r}."
            )
        tags = check_tags(tags)
        runner.check()
        binding = Binding(self.graph, inputs or {}, params or {})
        store = resolve_storage(storage if storage is not None else self.storage)
        clock = self.clock
        started = clock.now().astimezone(dt.UTC)
        start = clock.monotonic()
        run_id = f"{started:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"
        slots = self._value_slots(binding, inputs or {}, cache)
        tasks = self._tasks(binding, cache)
        record = RunRecord(
            id=run_id,
            pipeline=self.name,
            status="running",
            params={k: _jsonable(v) for k, v in binding.params.items()},
            inputs={k: slots[k].fingerprint for k in (inputs or {})},
            tags=tags,
            started_at=started,
            runner=type(runner).__name__,
            cache=cache,
            created_by=current_user(),
            heartbeat_s=float(heartbeat),
        )
        pipeline_catalog(store).add(self.name, lambda: store.append(self._log, record))
        state = RunState(self.graph, tasks, slots, store if cache else None, run_id, clock, progress)
        beat = heartbeat_key(self.name, run_id)
        pulse = Pulse(
            lambda: store.put_record(beat, Heartbeat(at=clock.now().astimezone(dt.UTC))),
            float(heartbeat),
            f"mlops-kit-heartbeat-{run_id}",
        )
        pulse.start()
        interrupted: BaseException | None = None
        try:
            runner.run(state)
        except BaseException as exc:  # Ctrl-C included: the record must not stay "running"
            interrupted = exc
        finally:
            pulse.stop()
            state.close()
        final = state.final_record(record, interrupted, start)
        try:
            store.append(self._log, final)
        except BaseException:
            if interrupted is not None:
                raise interrupted  # noqa: B904 (what stopped the run matters most; the storage error stays its context)
            raise
        values = {
            n: s.value for o in state.outcomes.values() for n, s in o.slots.items() if s.value is not UNSET
        }
        result = RunResult(final, store, {**values, **state.deferred})
        if interrupted is not None:
            raise interrupted
        if final.status == "failed":
            cause = state.outcomes[final.failed_step].cause if final.failed_step in state.outcomes else None
            error = PipelineError(
                f"{final.error} Run {final.id} of pipeline {self.name!r} is recorded as failed."
            )
            error.run = result  # type: ignore[attr-defined]
            raise error from cause
        return result

    def _value_slots(self, binding: Binding, inputs: Mapping[str, Any], cache: bool) -> dict[str, Slot]:
        slots = {}
        for name, value in binding.values.items():
            # Inputs are always fingerprinted (lineage); params and defaults only for the cache.
            fp = fingerprint(value) if cache or name in inputs else None
            slots[name] = Slot(value, fp)
            if cache and fp is None:
                users = [s for s, pairs in binding.sources.items() if any(src == name for _, src in pairs)]
                warnings.warn(
                    f"Value {name!r} ({type(value).__qualname__}) cannot be fingerprinted (it is not "
                    f"picklable), so steps {users} are not cached in this run.",
                    CacheWarning,
                    stacklevel=3,
                )
        return slots

    def _tasks(self, binding: Binding, cache: bool) -> dict[str, StepTask]:
        memo: dict[int, str] = {}
        tasks = {}
        for s in self.steps:
            cacheable = cache and s.cache
            tasks[s.name] = StepTask(
                step=s,
                bindings=binding.sources[s.name],
                code=code_fingerprint(s.func, memo) if cacheable else None,
                cacheable=cacheable,
                fingerprints=cache,
                retries=s.retries,
            )
        return tasks

    # -- history -------------------------------------------------------------------

    def runs(self, storage: StorageLike = None, *, limit: int | None = None, offset: int = 0) -> RunList:
        """The runs of this pipeline, newest first, each in its latest state.

        Parameters
        ----------
        storage : Storage, str or None
            Where to look; defaults to the pipeline's ``storage``.
        limit, offset : int, optional
            A page: skip the ``offset`` newest runs, return at most ``limit``. A page reads
            the run log from its end, so it costs about the same however many runs there are.

        Returns
        -------
        RunList
            A list of :class:`RunRecord`; ``.to_frame()`` compares their params and
            metrics side by side.
        """
        return RunList.read(
            storage if storage is not None else self.storage, pipeline=self.name, limit=limit, offset=offset
        )

    @staticmethod
    def names(storage: StorageLike = None) -> list[str]:
        """The names of the pipelines with at least one recorded run in ``storage``, sorted.

        See Also
        --------
        RunList.read : the runs of every pipeline, or of one by name, without its code.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> @mk.step
        ... def one() -> int:
        ...     return 1
        >>> store = mk.MemoryStorage()
        >>> _ = mk.Pipeline([one], name="nightly").run(storage=store, progress=False)
        >>> mk.Pipeline.names(store)
        ['nightly']
        """
        return pipeline_names(resolve_storage(storage))

    # -- serving -------------------------------------------------------------------

    def as_model(
        self,
        output: str = "model",
        *,
        preprocess: Sequence[Step | str],
        input: str | None = None,
        features: str | None = None,
        name: str | None = None,
    ) -> Pipeline:
        """This pipeline, with ``output`` a :class:`ModelWithSteps` that takes raw input.

        The step that trains the model now outputs ``<output>_fitted`` (steps that took
        ``output`` take that instead), and a new, never-cached step
        ``<output>_with_steps`` bundles it with the ``preprocess`` steps and the
        parameter values of the run. So what the run outputs as ``output`` predicts on
        the raw data, and registers, serves, is monitored and is retrained by
        :class:`~mlops_kit.ContinuousTraining` on raw columns.

        Parameters
        ----------
        output : str
            The output holding the fitted model.
        preprocess : list of Step or str
            The steps (or their names) that prepare the model's input from raw data;
            they must not depend on the model.
        input : str, optional
            The name receiving the raw data, when the steps take several inputs.
        features : str, optional
            The preprocessing output the model takes, when that is ambiguous.
        name : str, optional
            The new pipeline's name (default: this one's, so runs stay together).

        Returns
        -------
        Pipeline
            A new pipeline; this one is unchanged.

        Raises
        ------
        PipelineError
            If ``output`` or a step is unknown, a preprocessing step depends on the
            model or on a step left out, or the raw input or the features are ambiguous.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.linear_model import LogisticRegression
        >>> import mlops_kit as mk
        >>> @mk.step
        ... def features(data: pd.DataFrame) -> pd.DataFrame:
        ...     return data.assign(big=(data["spend"] > 40).astype(int))
        >>> @mk.step
        ... def model(features: pd.DataFrame) -> LogisticRegression:
        ...     return LogisticRegression().fit(features[["spend", "big"]], features["y"])
        >>> pipe = mk.Pipeline([features, model], name="train").as_model(preprocess=[features])
        >>> pipe.steps
        (Step('features', ...), Step('model', ...), Step('model_with_steps', inputs=('model_fitted',), outputs=('model',)))
        >>> raw = pd.DataFrame({"spend": [10.0, 80.5, 5.2, 42.0], "y": [0, 1, 0, 1]})
        >>> run = pipe.run(inputs={"data": raw}, storage=mk.MemoryStorage(), progress=False)
        >>> run.outputs["model"].predict(raw[["spend"]]).tolist()
        [0, 1, 0, 1]
        """
        from mlops_kit.pipeline._as_model import servable_steps

        steps = servable_steps(self.graph, output, preprocess, input=input, features=features)
        return Pipeline(
            steps, name=self.name if name is None else name, storage=self.storage, clock=self.clock
        )

    # -- drawing -------------------------------------------------------------------

    def describe(self) -> str:
        """A text summary: inputs, params, and each step with its inputs and outputs."""
        return describe(self.name, self.graph)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart (renders on GitHub, in many notebooks and docs).

        Examples
        --------
        >>> import mlops_kit as mk
        >>> @mk.step
        ... def clean(raw: list) -> list:
        ...     return raw
        >>> print(mk.Pipeline([clean], name="p").to_mermaid())
        flowchart LR
          v0(["raw"])
          s0["clean"]
          v0 --> s0
          o0(["clean"])
          s0 --> o0
        """
        return to_mermaid(self.graph)

    def to_svg(self) -> str:
        """The graph drawn as a standalone SVG image (no Graphviz needed)."""
        return to_svg(self.graph)

    def _repr_html_(self) -> str:
        return f"<div><b>Pipeline {self.name}</b><br>{self.to_svg()}</div>"


def _jsonable(value: Any) -> Any:
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)
    return value
