"""``Deployer``: the interface the loop and the CLI use, whoever serves the endpoints."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_kit.core.refs import ModelRef
    from mlops_kit.deploy._records import DeploymentEvent, EndpointStatus
    from mlops_kit.deploy._strategies import Canary, Replace, Shadow
    from mlops_kit.registry import ModelVersion

__all__ = ["Deployer"]


class Deployer(abc.ABC):
    """What every deployer does: put model versions behind named endpoints and move them.

    :class:`~mlops_kit.deploy.LocalDeployer` serves in this process (and over HTTP with
    :meth:`Endpoint.asgi_app` or :func:`~mlops_kit.serve`); other deployers (a cloud
    service, Kubernetes) implement the same methods. :class:`~mlops_kit.ContinuousTraining`
    and the ``mlops-kit endpoints`` commands use only these.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> sorted(mk.Deployer.__abstractmethods__)
    ['deploy', 'endpoints', 'history', 'promote', 'rollback', 'status', 'undeploy']
    >>> issubclass(mk.LocalDeployer, mk.Deployer)
    True
    """

    @abc.abstractmethod
    def deploy(
        self,
        ref: str | ModelRef | ModelVersion,
        endpoint: str | None = None,
        strategy: Replace | Canary | Shadow | None = None,
        *,
        reason: str = "",
    ) -> Any:
        """Deploy a model version (``"name@alias"``, ``"name:3"``) to an endpoint; ``reason`` is audited.

        Returns a handle on the endpoint (:class:`~mlops_kit.deploy.Endpoint` for
        :class:`~mlops_kit.deploy.LocalDeployer`).
        """

    @abc.abstractmethod
    def promote(self, endpoint: str, *, reason: str = "") -> DeploymentEvent:
        """Make the endpoint's candidate its primary."""

    @abc.abstractmethod
    def rollback(self, endpoint: str, *, reason: str = "") -> DeploymentEvent:
        """Drop the candidate, or return to the previous primary."""

    @abc.abstractmethod
    def undeploy(self, endpoint: str, *, reason: str = "") -> DeploymentEvent:
        """Stop serving anything on the endpoint."""

    @abc.abstractmethod
    def status(self, endpoint: str) -> EndpointStatus:
        """What the endpoint serves, and per-version request statistics of all its servers."""

    @abc.abstractmethod
    def endpoints(self, *, limit: int | None = None, offset: int = 0) -> list[str]:
        """The names of the endpoints that serve a model, sorted (a page with ``limit``/``offset``)."""

    @abc.abstractmethod
    def history(self, endpoint: str) -> list[DeploymentEvent]:
        """Every change of the endpoint, oldest first (the audit trail)."""
