"""``log_metric``: metrics recorded from inside a running step.

The runner sets a context variable around each step call, so a metric lands on the
step that logged it whatever thread, process or Dask worker runs the step; the
metrics travel back to the driver with the step's result.
"""

from __future__ import annotations

import contextvars
import numbers

from mlops_kit.core.arguments import check_metric
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record

__all__ = ["MetricPoint", "log_metric"]


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


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric on the pipeline run from inside a step.

    The metric is stored on the step's record and on the run (``run.metrics`` holds
    the last value of each name). Called outside a running step (for example when
    the decorated function is called directly), it does nothing, so steps stay
    usable as plain functions.

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
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0):
        raise ConfigError(f"The step of metric {name!r} must be a non-negative integer, got {step!r}.")
    sink = _SINK.get()
    if sink is None:
        return
    # NaN and infinities are kept: the record's JSON stores them as NaN / Infinity.
    sink[1].append(
        MetricPoint(name=name, value=number, step=None if step is None else int(step), pipeline_step=sink[0])
    )


def collect_into(
    step_name: str, points: list[MetricPoint]
) -> contextvars.Token[tuple[str, list[MetricPoint]] | None]:
    """Route ``log_metric`` calls of the current context to ``points`` (runner use)."""
    return _SINK.set((step_name, points))


def stop_collecting(token: contextvars.Token[tuple[str, list[MetricPoint]] | None]) -> None:
    """Undo :func:`collect_into`."""
    _SINK.reset(token)
