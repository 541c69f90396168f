"""How a new version reaches traffic: :class:`Replace`, :class:`Canary`, :class:`Shadow`."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import ValidationError, field_validator

from mlops_kit.core.arguments import check_positive_int
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record

__all__ = ["Canary", "Replace", "Shadow", "Strategy", "check_strategy"]


class _Strategy(Record):
    kind: ClassVar[Literal["replace", "canary", "shadow"]]

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ').rstrip('.')}"
                for e in exc.errors()
            )
            raise ConfigError(f"Invalid {type(self).__name__} strategy: {problems}.") from None


class _Judged(_Strategy):
    """A rollout whose candidate is judged (by :class:`~mlops_kit.ContinuousTraining`) before
    it is promoted or rolled back: these settings are the rollout's, the deployer ignores them."""

    promote_after: int = 100
    max_error_rate: float = 0.05
    min_requests: int = 20
    metric_tolerance: float = 0.0

    def __init__(self, **data: Any) -> None:  # an explicit one: subclasses pass their own fields too
        super().__init__(**data)

    @field_validator("promote_after", "min_requests", mode="before")
    @classmethod
    def _count(cls, value: Any, info: Any) -> int:
        return check_positive_int(value, info.field_name)

    @field_validator("max_error_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise ValueError(f"expected a share of requests in [0, 1), got {value!r}")
        return float(value)

    @field_validator("metric_tolerance", mode="before")
    @classmethod
    def _tolerance(cls, value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"expected a non-negative number in the gate metric's units, got {value!r}")
        return float(value)

    def _settings(self) -> str:
        """The judging settings that differ from the defaults, as ``, name=value`` text."""
        fields = ("promote_after", "max_error_rate", "min_requests", "metric_tolerance")
        defaults = {name: type(self).model_fields[name].default for name in fields}
        return "".join(f", {n}={getattr(self, n)!r}" for n in fields if getattr(self, n) != defaults[n])


class Replace(_Strategy):
    """Switch all traffic to the new version once it has loaded and passed a health check.

    Before the switch the model is loaded, warmed up and asked to predict on the
    input example stored with it in the registry. If any of that fails, the
    endpoint keeps its current version, an ``auto_rollback`` event records why, and
    :class:`~mlops_kit.deploy.DeploymentError` is raised. The version it replaces
    goes on the endpoint's rollback stack.

    Examples
    --------
    >>> Replace()
    Replace()
    """

    kind: ClassVar[Literal["replace"]] = "replace"

    def __repr__(self) -> str:
        return "Replace()"


class Canary(_Judged):
    """Send a share of the traffic to the new version; the primary keeps the rest.

    ``promote_after``, ``max_error_rate``, ``min_requests`` and ``metric_tolerance`` are
    read by :class:`~mlops_kit.ContinuousTraining` when it judges the candidate; the
    deployer ignores them.

    Parameters
    ----------
    weight : float
        The candidate's share of requests, in ``(0, 1]``.
    key : str, optional
        A request column. With a key, each row is routed by a hash of its value in
        that column, so the same key always reaches the same version (in every
        process); without, each request is routed at random. The key column may be
        one the model does not take: it is kept in the prediction log but never
        passed to the model.
    promote_after : int
        Healthy requests the candidate must answer before the loop promotes it.
    max_error_rate : float
        The loop rolls the candidate back when its own failures exceed this share of
        the requests it answered (in ``[0, 1)``); refused bad input does not count.
    min_requests : int
        Requests answered before the error rate is judged.
    metric_tolerance : float
        How much worse than the primary the candidate may score on a labelled batch.

    Examples
    --------
    >>> Canary(0.1)
    Canary(weight=0.1, key=None)
    >>> Canary(0.2, key="customer_id").key
    'customer_id'
    >>> Canary(0.1, promote_after=200, max_error_rate=0.02)
    Canary(weight=0.1, key=None, promote_after=200, max_error_rate=0.02)
    >>> Canary(1.5)
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: Invalid Canary strategy: weight: ...
    """

    kind: ClassVar[Literal["canary"]] = "canary"

    weight: float
    key: str | None = None

    def __init__(
        self,
        weight: float,
        key: str | None = None,
        *,
        promote_after: int = 100,
        max_error_rate: float = 0.05,
        min_requests: int = 20,
        metric_tolerance: float = 0.0,
    ) -> None:
        super().__init__(
            weight=weight,
            key=key,
            promote_after=promote_after,
            max_error_rate=max_error_rate,
            min_requests=min_requests,
            metric_tolerance=metric_tolerance,
        )

    @field_validator("weight", mode="before")
    @classmethod
    def _share(cls, weight: Any) -> float:
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            raise ValueError(f"expected a share of traffic in (0, 1], got {weight!r}")
        return float(weight)

    @field_validator("key")
    @classmethod
    def _column(cls, key: str | None) -> str | None:
        if key is not None and not key.strip():
            raise ValueError("expected a column name, got an empty string")
        return key

    def __repr__(self) -> str:
        return f"Canary(weight={self.weight!r}, key={self.key!r}{self._settings()})"


class Shadow(_Judged):
    """Mirror every request to the new version; callers only get the primary's answer.

    The candidate predicts off the caller's path (a background thread), its errors
    never reach the caller, and both outputs are written to the prediction log
    (``prediction`` and ``shadow_prediction``), ready to compare.

    Parameters
    ----------
    promote_after : int
        Healthy mirrored requests before the loop promotes the candidate.
    max_error_rate : float
        The loop rolls the candidate back above this share of failed mirrored requests.
    min_requests : int
        Mirrored requests before the error rate is judged.
    metric_tolerance : float
        How much worse than the primary the candidate may score on a labelled batch.

    Examples
    --------
    >>> Shadow()
    Shadow()
    >>> Shadow(promote_after=500)
    Shadow(promote_after=500)
    """

    kind: ClassVar[Literal["shadow"]] = "shadow"

    def __init__(
        self,
        *,
        promote_after: int = 100,
        max_error_rate: float = 0.05,
        min_requests: int = 20,
        metric_tolerance: float = 0.0,
    ) -> None:
        super().__init__(
            promote_after=promote_after,
            max_error_rate=max_error_rate,
            min_requests=min_requests,
            metric_tolerance=metric_tolerance,
        )

    def __repr__(self) -> str:
        return f"Shadow({self._settings().removeprefix(', ')})"


Strategy = Replace | Canary | Shadow


def check_strategy(strategy: object) -> Strategy:
    """Return ``strategy`` if it is one of the strategies, else raise :class:`ConfigError`."""
    if strategy is None:
        return Replace()
    if isinstance(strategy, Replace | Canary | Shadow):
        return strategy
    raise ConfigError(f"strategy= must be Replace(), Canary(weight, key=None) or Shadow(), got {strategy!r}.")
