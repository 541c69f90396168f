"""Registry: versioned models with aliases, audit history, lineage, signatures and verified artifacts."""

from mlops_kit.core.exports import publish
from mlops_kit.registry._environment import EnvironmentMismatchWarning
from mlops_kit.registry._lifecycle import ANY
from mlops_kit.registry._records import Environment, ModelEvent, ModelVersion, Signature
from mlops_kit.registry._registry import Registry
from mlops_kit.registry._serializers import (
    CloudpickleSerializer,
    JoblibSerializer,
    SerializationError,
    Serializer,
    SkopsSerializer,
    UntrustedTypesError,
    get_serializer,
    register_serializer,
    serializer_names,
)
from mlops_kit.registry._summary import ModelSummary

__all__ = [
    "ANY",
    "CloudpickleSerializer",
    "Environment",
    "EnvironmentMismatchWarning",
    "JoblibSerializer",
    "ModelEvent",
    "ModelSummary",
    "ModelVersion",
    "Registry",
    "SerializationError",
    "Serializer",
    "Signature",
    "SkopsSerializer",
    "UntrustedTypesError",
    "get_serializer",
    "register_serializer",
    "serializer_names",
]

# Last: every name above is bound.
publish(__name__, __all__, globals())
