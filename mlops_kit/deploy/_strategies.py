"""How a new version reaches traffic: :class:`Replace`, :class:`Canary`, :class:`Shadow`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ValidationError, field_validator

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record

__all__ = ["Canary", "Replace", "Shadow", "Strategy", "check_strategy"]


class _Strategy(Record):
    kind: ClassVar[Literal["replace", "canary", "shadow"]]

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"Invalid {type(self).__name__} strategy: {problems}.") from None


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


class Canary(_Strategy):
    """Send a share of the traffic to the new version; the primary keeps the rest.

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

    Examples
    --------
    >>> Canary(0.1)
    Canary(weight=0.1, key=None)
    >>> Canary(0.2, key="customer_id").key
    'customer_id'
    >>> Canary(1.5)
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: Invalid Canary strategy: weight: ...
    """

    kind: ClassVar[Literal["canary"]] = "canary"

    weight: float
    key: str | None = None

    def __init__(self, weight: float, key: str | None = None) -> None:
        super().__init__(weight=weight, key=key)

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
        return f"Canary(weight={self.weight!r}, key={self.key!r})"


class Shadow(_Strategy):
    """Mirror every request to the new version; callers only get the primary's answer.

    The candidate predicts off the caller's path (a background thread), its errors
    never reach the caller, and both outputs are written to the prediction log
    (``prediction`` and ``shadow_prediction``), ready to compare.

    Examples
    --------
    >>> Shadow()
    Shadow()
    """

    kind: ClassVar[Literal["shadow"]] = "shadow"

    def __repr__(self) -> str:
        return "Shadow()"


Strategy = Replace | Canary | Shadow


def check_strategy(strategy: object) -> Strategy:
    """Return ``strategy`` if it is one of the strategies, else raise :class:`ConfigError`."""
    if strategy is None:
        return Replace()
    if isinstance(strategy, Replace | Canary | Shadow):
        return strategy
    raise ConfigError(f"strategy= must be Replace(), Canary(weight, key=None) or Shadow(), got {strategy!r}.")
