"""What the loop needs from a monitor, a deployer and a pipeline: protocols, not our classes.

:class:`~mlops_kit.Monitor`, :class:`~mlops_kit.LocalDeployer` and
:class:`~mlops_kit.Pipeline` satisfy them; so does any object of a user's with the same
members (an in-house deployer, a wrapper that adds alerting around a monitor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mlops_kit.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.deploy import EndpointStatus
    from mlops_kit.monitor import DriftReport

__all__ = ["DeployerLike", "MonitorLike", "PipelineLike", "RunLike", "check_like"]

T = TypeVar("T")


class MonitorLike(Protocol):
    """Checks a batch for drift against a reference (like :class:`~mlops_kit.Monitor`)."""

    @property
    def columns(self) -> Sequence[str]: ...

    @property
    def target(self) -> str | None: ...

    @property
    def prediction(self) -> str | None: ...

    def check(self, current: Any) -> DriftReport: ...

    def with_reference(self, reference: Any) -> MonitorLike: ...


class DeployerLike(Protocol):
    """Serves endpoints and moves their traffic (like :class:`~mlops_kit.LocalDeployer`)."""

    def deploy(
        self, ref: Any, *, endpoint: str | None = None, strategy: Any = None, reason: str = ""
    ) -> Any: ...

    def promote(self, endpoint: str, *, reason: str = "") -> Any: ...

    def rollback(self, endpoint: str, *, reason: str = "") -> Any: ...

    def status(self, endpoint: str) -> EndpointStatus: ...

    def endpoints(self) -> list[str]: ...


class RunLike(Protocol):
    """A finished training run (like :class:`~mlops_kit.RunRecord`)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def outputs(self) -> Mapping[str, Any]: ...

    @property
    def metrics(self) -> Mapping[str, float]: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


class PipelineLike(Protocol):
    """Trains a model from a frame (like :class:`~mlops_kit.Pipeline`)."""

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> Sequence[str]: ...

    @property
    def outputs(self) -> Sequence[str]: ...

    def run(
        self,
        inputs: Mapping[str, pd.DataFrame] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        storage: Any = None,
        runner: Any = None,
        progress: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> RunLike: ...


# The members each argument must have, for a message that names what is missing.
MEMBERS: dict[str, tuple[str, ...]] = {
    "monitor": ("check", "with_reference", "columns", "target", "prediction"),
    "deployer": ("deploy", "promote", "rollback", "status", "endpoints"),
    "pipeline": ("run", "name", "inputs", "outputs"),
}
_LIKE = {"monitor": "mk.Monitor", "deployer": "mk.LocalDeployer", "pipeline": "mk.Pipeline"}


def check_like(value: T, what: str) -> T:
    """``value`` if it has every member the loop uses as ``what``, else :class:`ConfigError`.

    Examples
    --------
    >>> check_like(object(), "deployer")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: deployer must behave like mk.LocalDeployer: object lacks ...
    """
    missing = [name for name in MEMBERS[what] if not hasattr(value, name)]
    if missing:
        raise ConfigError(
            f"{what} must behave like {_LIKE[what]}: {type(value).__name__} lacks {missing} "
            f"(the loop uses {list(MEMBERS[what])})."
        )
    return value
