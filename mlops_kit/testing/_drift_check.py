"""``check_drift_method``: the contract the monitor's drift methods pass, runnable on a user's one."""

from __future__ import annotations

import math
from typing import Any

from mlops_kit.monitor import ColumnPair, DriftMethod, MethodResult, Monitor

__all__ = ["check_drift_method"]

_KINDS = frozenset({"numeric", "categorical"})
_N = 2000  # large enough that every method of ours sees a 3-std or 60-point shift


def check_drift_method(method: DriftMethod) -> None:
    """Run the contract every drift method of mlops_kit passes on ``method``.

    For each column kind the method handles: the class attributes are well formed;
    ``compute`` returns a :class:`~mlops_kit.monitor.MethodResult` with a finite
    statistic and a p-value in [0, 1] (or ``None`` when ``uses_p_value`` is false),
    the same twice for the same data; a sample compared with itself is not drift and a
    large shift is (with raw values, and from profiles alone unless
    ``requires_values``); and a :class:`~mlops_kit.Monitor` using it agrees.

    Parameters
    ----------
    method : DriftMethod
        An instance of a :class:`~mlops_kit.monitor.DriftMethod` subclass.

    Raises
    ------
    AssertionError
        If the method breaks the contract; the message says which part and how.

    Examples
    --------
    >>> from mlops_kit.monitor import KolmogorovSmirnov
    >>> from mlops_kit.testing import check_drift_method
    >>> check_drift_method(KolmogorovSmirnov())
    """
    label = f"check_drift_method({type(method).__name__})"
    if not isinstance(method, DriftMethod):
        raise AssertionError(f"{label}: expected an instance of a DriftMethod subclass.")
    _attributes(method, label)
    for kind in sorted(method.kinds):
        same, shifted = _samples(kind)
        for raw in (True, False) if not method.requires_values else (True,):
            how = "with raw values" if raw else "from profiles only"
            calm = _result(method, label, _pair(same, same, raw), f"{kind} data against itself {how}")
            if method.drifted(calm.statistic, calm.p_value, method.threshold):
                raise AssertionError(
                    f"{label}: {kind} data compared with itself {how} is reported as drift: {calm}."
                )
            moved = _result(method, label, _pair(same, shifted, raw), f"a shifted {kind} sample {how}")
            if not method.drifted(moved.statistic, moved.p_value, method.threshold):
                raise AssertionError(f"{label}: a large shift of {kind} data {how} is not reported: {moved}.")
        _monitor_agrees(method, label, same, shifted)


def _attributes(method: DriftMethod, label: str) -> None:
    name, kinds = getattr(method, "name", None), getattr(method, "kinds", None)
    if not (isinstance(name, str) and name and name != "auto"):
        raise AssertionError(f"{label}: name must be a non-empty string other than 'auto', got {name!r}.")
    if not (isinstance(kinds, frozenset) and kinds and kinds <= _KINDS):
        raise AssertionError(
            f"{label}: kinds must be a non-empty frozenset of {sorted(_KINDS)}, got {kinds!r}."
        )
    if not isinstance(getattr(method, "uses_p_value", None), bool):
        raise AssertionError(f"{label}: uses_p_value must be True or False.")
    threshold = getattr(method, "threshold", None)
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold > 0):
        raise AssertionError(f"{label}: threshold must be a positive finite number, got {threshold!r}.")
    if method.uses_p_value and not threshold < 1:
        raise AssertionError(f"{label}: a p-value threshold must be below 1, got {threshold!r}.")


def _samples(kind: str) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    if kind == "numeric":
        base = rng.normal(0.0, 1.0, _N)
        return pd.Series(base), pd.Series(base + 3.0)
    return (
        pd.Series(rng.choice(["a", "b"], _N, p=[0.8, 0.2])),
        pd.Series(rng.choice(["a", "b"], _N, p=[0.2, 0.8])),
    )


def _pair(reference: Any, current: Any, raw: bool) -> ColumnPair:
    import numpy as np
    import pandas as pd

    from mlops_kit.core.profile import Profile

    ref, cur = (Profile.of(pd.DataFrame({"x": s})).columns["x"] for s in (reference, current))
    if not raw:
        return ColumnPair("x", ref, cur)
    return ColumnPair("x", ref, cur, lambda: np.asarray(reference), lambda: np.asarray(current))


def _result(method: DriftMethod, label: str, pair: ColumnPair, what: str) -> MethodResult:
    try:
        first, second = method.compute(pair), method.compute(pair)
    except Exception as exc:
        raise AssertionError(f"{label}: compute() on {what} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(first, MethodResult):
        raise AssertionError(
            f"{label}: compute() on {what} returned {type(first).__name__}, expected MethodResult."
        )
    if not (isinstance(first.statistic, float) and math.isfinite(first.statistic)):
        raise AssertionError(
            f"{label}: compute() on {what} gave statistic {first.statistic!r}, expected a finite float."
        )
    p = first.p_value
    if method.uses_p_value and not (isinstance(p, float) and 0.0 <= p <= 1.0):
        raise AssertionError(f"{label}: compute() on {what} gave p_value {p!r}, expected a float in [0, 1].")
    if first != second:
        raise AssertionError(
            f"{label}: compute() on {what} gave {first} then {second}; it must be deterministic."
        )
    return first


def _monitor_agrees(method: DriftMethod, label: str, same: Any, shifted: Any) -> None:
    import pandas as pd

    monitor = Monitor(reference=pd.DataFrame({"x": same}), method=method)
    try:
        calm = monitor.check(pd.DataFrame({"x": same})).columns["x"]
        moved = monitor.check(pd.DataFrame({"x": shifted})).columns["x"]
    except Exception as exc:
        raise AssertionError(
            f"{label}: a Monitor using the method raised {type(exc).__name__}: {exc}"
        ) from exc
    if calm.drifted or not moved.drifted or moved.method != method.name:
        raise AssertionError(
            f"{label}: a Monitor using the method reports drifted={calm.drifted} on unchanged data and "
            f"drifted={moved.drifted} (method {moved.method!r}) on shifted data; expected False and True."
        )
