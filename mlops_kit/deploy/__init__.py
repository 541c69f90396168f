"""Deploy: endpoints that serve registry models in-process and over HTTP, with canary, shadow and rollback."""

from mlops_kit.core.exports import publish
from mlops_kit.deploy._base import Deployer
from mlops_kit.deploy._deployer import DeploymentError, LocalDeployer
from mlops_kit.deploy._endpoint import Endpoint

# For servers that are not ours (mlops_kit.integrations), not public: the same log and counts.
from mlops_kit.deploy._recorder import Recorder as Recorder
from mlops_kit.deploy._records import DeploymentEvent, EndpointStatus, PredictionBatch, VersionStats
from mlops_kit.deploy._serve import serve

# For the CLI's batch scoring, not public: a version loaded as a server loads it.
from mlops_kit.deploy._served import ModelFailed as ModelFailed
from mlops_kit.deploy._served import load_served as load_served
from mlops_kit.deploy._served import output_columns as output_columns
from mlops_kit.deploy._strategies import Canary, Replace, Shadow

__all__ = [
    "Canary",
    "Deployer",
    "DeploymentError",
    "DeploymentEvent",
    "Endpoint",
    "EndpointStatus",
    "LocalDeployer",
    "PredictionBatch",
    "Replace",
    "Shadow",
    "VersionStats",
    "serve",
]

# Last: every name above is bound.
publish(__name__, __all__, globals())
