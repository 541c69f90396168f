"""``mk.autolog()``: scikit-learn fits inside a tracked run log themselves.

Each scikit-learn estimator class that defines ``fit`` gets a thin wrapper around it.
Only the outermost fit is logged: a ``Pipeline`` or ``GridSearchCV`` fits many
estimators inside its own ``fit``, and those inner fits are its business.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import warnings
from typing import Any

from mlops_kit.core.errors import ConfigError, MlopsKitError, MlopsKitWarning
from mlops_kit.tracking._context import current_run
from mlops_kit.tracking._run import ActiveRun

__all__ = ["autolog"]

_PATCHED: dict[type, Any] = {}  # class -> its own fit before autolog wrapped it
_LOCK = threading.Lock()
_IN_FIT: contextvars.ContextVar[bool] = contextvars.ContextVar("mlops_kit_autolog_fit", default=False)
_MAX_REPR = 250


def autolog(enable: bool = True) -> None:
    """Log scikit-learn fits made inside a tracked run (off until called).

    Inside ``with mk.start_run(...)``, ``estimator.fit(X, y)`` then records the
    estimator's params (``get_params()``; values that are not scalars as their
    ``repr``), its training score (``estimator.score(X, y)``, as metric
    ``training_score``, when ``y`` is given), the tags ``estimator_name`` and
    ``estimator_class``, and the fitted estimator as the artifact ``model.pkl``
    (cloudpickle). Fits outside a run are left alone. A failure to log warns and
    never fails the fit.

    Parameters
    ----------
    enable : bool
        ``False`` removes the wrappers again.

    Raises
    ------
    ConfigError
        If ``enable`` is not a bool.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> from sklearn.linear_model import LogisticRegression
    >>> mk.autolog()
    >>> store = mk.MemoryStorage()
    >>> with mk.start_run("iris", storage=store):
    ...     _ = LogisticRegression(C=0.5).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> run = mk.runs(store, "iris")[0]
    >>> run.params["C"], run.metrics["training_score"], sorted(run.artifacts)
    (0.5, 1.0, ['model.pkl'])
    >>> mk.autolog(False)
    """
    if not isinstance(enable, bool):
        raise ConfigError(f"autolog(enable) takes True or False, got {enable!r}.")
    with _LOCK:
        if enable:
            for cls in _estimator_classes():
                own = cls.__dict__.get("fit")
                if callable(own) and cls not in _PATCHED:
                    _PATCHED[cls] = own
                    setattr(cls, "fit", _wrap(own))  # noqa: B010 - mypy knows no fit on type
        else:
            for cls, original in _PATCHED.items():
                setattr(cls, "fit", original)  # noqa: B010
            _PATCHED.clear()


def _estimator_classes() -> list[type]:
    """scikit-learn's estimator classes, abstract bases such as ``BaseSearchCV`` included."""
    from sklearn.base import BaseEstimator
    from sklearn.utils import all_estimators

    all_estimators()  # imports every public module, so that every class is defined
    found, todo = [], [BaseEstimator]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c.__module__.startswith("sklearn.") and c not in found)
    return found


def _wrap(fit: Any) -> Any:
    @functools.wraps(fit)
    def logged_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = current_run()
        if run is None or _IN_FIT.get():
            return fit(self, *args, **kwargs)
        token = _IN_FIT.set(True)
        try:
            result = fit(self, *args, **kwargs)
            try:
                _log_fit(run, self, args, kwargs)
            except (MlopsKitError, OSError) as exc:
                warnings.warn(
                    f"autolog could not record the fit of {type(self).__name__}: {exc}",
                    MlopsKitWarning,
                    stacklevel=2,
                )
        finally:
            _IN_FIT.reset(token)
        return result

    return logged_fit


def _log_fit(run: ActiveRun, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    import cloudpickle

    run.log_params({k: _scalar(v) for k, v in estimator.get_params().items()})
    cls = type(estimator)
    run.set_tag("estimator_name", cls.__name__)
    run.set_tag("estimator_class", f"{cls.__module__}.{cls.__qualname__}")
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if y is not None and callable(getattr(estimator, "score", None)):
        try:
            score = estimator.score(X, y)
        except Exception as exc:  # a user estimator's score may raise anything
            warnings.warn(
                f"autolog could not score {cls.__name__} on its training data: {exc}",
                MlopsKitWarning,
                stacklevel=3,
            )
        else:
            run.log_metric("training_score", score)
    run.log_artifact(cloudpickle.dumps(estimator), name="model.pkl")


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return value
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."
