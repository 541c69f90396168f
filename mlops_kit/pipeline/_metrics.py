"""``log_metric``: metrics recorded from inside a running step.

The runner sets a context variable around each step call, so a metric lands on the
step that logged it whatever thread, process or Dask worker runs the step; the
metrics travel back to the driver with the step's result.
"""

from __future__ import annotations

import contextvars
import numbers
from collections.abc import Callable

from mlops_kit.core.arguments import check_metric
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record

__all__ = ["MetricPoint", "check_metric_step", "log_metric"]


class MetricPoint(Record):
    """One logged value of a metric.

    Attributes
    ----------
    name : str
        The metric's name.
    value : float
        The value.
    step : int or None
        The iteration (epoch, boosting round...) it belongs to, if any.
    pipeline_step : str
        The name of the pipeline step that logged it.
    """

    name: str
    value: float
    step: int | None = None
    pipeline_step: str = ""


# The list the current step's metrics go to; None outside a running step.
_SINK: contextvars.ContextVar[tuple[str, list[MetricPoint]] | None] = contextvars.ContextVar(
    "mlops_kit_metric_sink", default=None
)

# Where metrics logged outside a step go: a tracked run (mk.start_run) sets it.
_OUTSIDE: contextvars.ContextVar[Callable[[str, float, int | None], None] | None] = contextvars.ContextVar(
    "mlops_kit_metric_outside_steps", default=None
)


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric on the pipeline run from inside a step.

    The metric is stored on the step's record and on the run (``run.metrics`` holds
    the last value of each name). Outside a running step it records on the tracked
    run of :func:`mlops_kit.start_run`, if one is active in this context; otherwise
    (for example when the decorated function is called directly) it does nothing,
    so steps stay usable as plain functions.

    Parameters
    ----------
    name : str
        The metric's name (``"auc"``, ``"val.loss"``), under the name rule of every
        block (letters, digits, '.', '_', '-'), so the registry can record it too.
    value : float
        A real number (NaN and infinities are recorded as they are).
    step : int, optional
        The iteration the value belongs to, for learning curves.

    Raises
    ------
    InvalidNameError
        If ``name`` breaks the name rule.
    ConfigError
        If ``value`` is not a real number, or ``step`` is not a non-negative integer.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def score(n: int = 3) -> float:
    ...     for epoch in range(n):
    ...         mk.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    ...     mk.log_metric("auc", 0.91)
    ...     return 0.91
    >>> run = mk.Pipeline([score], name="demo").run(storage=mk.MemoryStorage(), progress=False)
    >>> run.metrics
    {'loss': 0.333..., 'auc': 0.91}
    >>> score()  # a plain call: the metrics are ignored
    0.91
    """
    number = check_metric(name, value, finite=False)
    checked_step = check_metric_step(name, step)
    sink = _SINK.get()
    if sink is None:
        outside = _OUTSIDE.get()
        if outside is not None:
            outside(name, number, checked_step)
        return
    # NaN and infinities are kept: the record's JSON stores them as NaN / Infinity.
    sink[1].append(MetricPoint(name=name, value=number, step=checked_step, pipeline_step=sink[0]))


def check_metric_step(name: str, step: object) -> int | None:
    """The ``step=`` of a metric: ``None`` or a non-negative integer (numpy ones too), never a bool.

    Raises
    ------
    ConfigError
        If ``step`` is anything else.

    Examples
    --------
    >>> check_metric_step("loss", 3), check_metric_step("loss", None)
    (3, None)
    """
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ConfigError(f"The step of metric {name!r} must be a non-negative integer, got {step!r}.")
    return int(step)


def collect_into(
    step_name: str, points: list[MetricPoint]
) -> contextvars.Token[tuple[str, list[MetricPoint]] | None]:
    """Route ``log_metric`` calls of the current context to ``points`` (runner use)."""
    return _SINK.set((step_name, points))


def stop_collecting(token: contextvars.Token[tuple[str, list[MetricPoint]] | None]) -> None:
    """Undo :func:`collect_into`."""
    _SINK.reset(token)


def route_outside_steps(
    record: Callable[[str, float, int | None], None],
) -> contextvars.Token[Callable[[str, float, int | None], None] | None]:
    """Send ``log_metric`` calls made outside a step to ``record(name, value, step)`` (tracking use)."""
    return _OUTSIDE.set(record)


def stop_routing(token: contextvars.Token[Callable[[str, float, int | None], None] | None]) -> None:
    """Undo :func:`route_outside_steps`."""
    _OUTSIDE.reset(token)
