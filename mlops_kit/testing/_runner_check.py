"""``check_runner``: the contract every runner of ours passes, runnable on a user's runner."""

from __future__ import annotations

from typing import Any

from mlops_kit.core.errors import PipelineError
from mlops_kit.core.storage import MemoryStorage
from mlops_kit.pipeline import Pipeline, Runner, log_metric, step

__all__ = ["check_runner"]


# Module-level steps, so process and cluster runners can pickle them by reference.
@step
def source(n: int) -> list[int]:
    return list(range(n))


@step
def total(source: list[int]) -> int:
    log_metric("total", sum(source))
    return sum(source)


@step
def squares(source: list[int]) -> list[int]:
    return [x * x for x in source]


@step(outputs=("combined", "size"))
def join(total: int, squares: list[int]) -> tuple[int, int]:
    return total + sum(squares), len(squares)


@step
def fails(source: list[int]) -> int:
    raise ValueError("this step fails on purpose")


@step
def after_failure(fails: int) -> int:
    return fails


_DIAMOND = Pipeline([source, total, squares, join], name="check-runner")
_FAILING = Pipeline([source, total, fails, after_failure], name="check-runner-failing")


def check_runner(runner: Runner) -> None:
    """Run the contract every runner of mlops_kit passes on ``runner``.

    The runner runs a diamond of steps, then runs it again (every step must come
    from the cache), then runs it without caching, then runs a pipeline whose step
    fails (its dependent must be skipped, the independent branch must still run).
    Outputs, statuses and metrics must equal :class:`SequentialRunner`'s.

    Parameters
    ----------
    runner : Runner
        The runner to check (a subclass of :class:`mlops_kit.pipeline.Runner`).

    Raises
    ------
    AssertionError
        If the runner breaks the contract; the message says which part and how.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> from mlops_kit.testing import check_runner
    >>> check_runner(mk.ThreadRunner(max_workers=2))
    """
    name = type(runner).__name__
    _expect(isinstance(runner, Runner), name, f"is not a mlops_kit.pipeline.Runner ({type(runner).__mro__})")
    store, reference_store = MemoryStorage(), MemoryStorage()
    run = _run(runner, _DIAMOND, store, "the diamond pipeline")
    reference = _DIAMOND.run(inputs={"n": 4}, storage=reference_store, progress=False)
    _expect(run.status == "succeeded", name, f"recorded the run as {run.status!r}: {run.error}")
    _expect(run.runner == name, name, f"is recorded as runner {run.runner!r}")
    _same(name, "the steps", _shape(run), _shape(reference))
    outputs = {out: run.outputs[out] for out in reference.outputs}
    _same(name, "the outputs", outputs, dict(reference.outputs))
    _same(name, "the run's metrics", dict(run.metrics), dict(reference.metrics))
    again = _run(runner, _DIAMOND, store, "the diamond pipeline a second time")
    _same(
        name,
        "the cache hits of a repeated run",
        [s.cache_hit for s in again.steps],
        [True] * len(reference.steps),
    )
    _same(name, "the outputs from the cache", again.outputs["combined"], reference.outputs["combined"])
    uncached = _run(runner, _DIAMOND, MemoryStorage(), "the diamond pipeline with cache=False", cache=False)
    _same(name, "the outputs with cache=False", uncached.outputs["combined"], reference.outputs["combined"])
    try:
        _FAILING.run(inputs={"n": 4}, storage=MemoryStorage(), runner=runner, progress=False)
    except PipelineError as exc:
        failed = getattr(exc, "run", None)
    except Exception as exc:
        raise AssertionError(
            f"check_runner({name}): a failing step must end the run with PipelineError, "
            f"but the runner raised {type(exc).__name__}: {exc}"
        ) from exc
    else:
        raise AssertionError(f"check_runner({name}): a failing step did not make the run fail.")
    statuses = {s.name: s.status for s in failed.steps} if failed is not None else None
    expected = {"source": "succeeded", "total": "succeeded", "fails": "failed", "after_failure": "skipped"}
    _same(name, "the step statuses when a step fails", statuses, expected)


def _run(runner: Runner, pipe: Pipeline, store: MemoryStorage, what: str, cache: bool = True) -> Any:
    try:
        return pipe.run(inputs={"n": 4}, storage=store, runner=runner, cache=cache, progress=False)
    except Exception as exc:
        raise AssertionError(
            f"check_runner({type(runner).__name__}): running {what} raised {type(exc).__name__}: {exc}"
        ) from exc


def _shape(run: Any) -> list[tuple[Any, ...]]:
    return [
        (s.name, s.status, s.cache_hit, sorted(s.outputs), [(p.name, p.value) for p in s.metrics])
        for s in run.steps
    ]


def _same(name: str, what: str, got: Any, expected: Any) -> None:
    _expect(got == expected, name, f"gives {what} {got!r}, expected {expected!r} (as SequentialRunner)")


def _expect(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise AssertionError(f"check_runner({name}): the runner {problem}.")
