"""The ``InferenceService`` (serving.kserve.io/v1beta1) of one KServe revision.

The predictor is a custom container (``spec.predictor.containers``) running the image
of the build context: MLServer with our runtime. A custom container needs no
``ServingRuntime`` object on the cluster and no ``storageUri`` (the runtime reads the
registry itself, verifying the model's hash before loading it).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.integrations._kserve_context import HTTP_PORT
from mlops_kit.registry import ModelVersion

__all__ = [
    "canary_percent",
    "check_k8s_name",
    "comments",
    "image_for",
    "inference_service",
    "resource_name",
    "to_yaml",
]

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_ANNOTATION = "mlops-kit.io"


def resource_name(endpoint: str) -> str:
    """The InferenceService name of ``endpoint``: a DNS-1035 label (lower case, ``-``).

    Raises
    ------
    ConfigError
        If nothing usable is left of the name (``"_1"``, say).
    """
    name = re.sub(r"[^a-z0-9-]+", "-", endpoint.lower()).strip("-")
    if name and not name[0].isalpha():
        name = f"ep-{name}"
    name = name[:63].rstrip("-")
    if not _DNS_1035.match(name):
        raise ConfigError(f"Endpoint {endpoint!r} gives no valid Kubernetes name; rename the endpoint.")
    return name


def check_k8s_name(value: str, what: str, *, subdomain: bool = False) -> str:
    """``value`` if it is a valid Kubernetes name, else :class:`ConfigError`."""
    pattern = _DNS_SUBDOMAIN if subdomain else _DNS_LABEL
    if not pattern.match(value):
        kind = "DNS-1123 subdomain" if subdomain else "DNS-1123 label"
        raise ConfigError(
            f"{what} {value!r} is not a valid Kubernetes name: expected a {kind} (lower-case letters, "
            "digits and '-', starting and ending with a letter or digit)."
        )
    return value


def image_for(repository: str, mv: ModelVersion) -> str:
    """``repository:<model>-<version>``: one image per served version.

    Raises
    ------
    ConfigError
        If ``repository`` already has a tag or digest.
    """
    last = repository.rsplit("/", 1)[-1]
    if ":" in last or "@" in repository:
        raise ConfigError(
            f"--image {repository!r} has a tag; give the repository only (registry.example/team/churn): "
            f"each served version gets its own tag, here '{_tag(mv)}'."
        )
    return f"{repository}:{_tag(mv)}"


def _tag(mv: ModelVersion) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{mv.name}-{mv.version}")[:128]


def canary_percent(weight: float) -> int:
    """KServe's ``canaryTrafficPercent`` (a whole percent, 1..99) for a canary ``weight`` (0..1)."""
    percent = round(weight * 100)
    clamped = min(max(percent, 1), 99)
    if abs(weight * 100 - clamped) > 1e-9:
        warnings.warn(
            f"KServe takes whole percents: the canary's weight {weight:g} becomes "
            f"canaryTrafficPercent {clamped}.",
            UserWarning,
            stacklevel=3,
        )
    return clamped


def inference_service(
    *,
    endpoint: str,
    mv: ModelVersion,
    image: str,
    env: list[dict[str, str]],
    secret: str,
    namespace: str | None,
    canary: int | None = None,
    primary: ModelVersion | None = None,
) -> dict[str, Any]:
    """The manifest of the revision serving ``mv``; with ``canary``, it takes that percent of traffic
    and the previously rolled-out revision (``primary``) keeps the rest."""
    metadata: dict[str, Any] = {
        "name": resource_name(endpoint),
        "labels": {"app.kubernetes.io/managed-by": "mlops-kit"},
        "annotations": {f"{_ANNOTATION}/endpoint": endpoint, f"{_ANNOTATION}/model": mv.ref},
    }
    if primary is not None:
        metadata["annotations"][f"{_ANNOTATION}/primary"] = primary.ref
    if namespace is not None:
        metadata["namespace"] = namespace
    container = {
        "name": "kserve-container",
        "image": image,
        "env": env,
        # Every key of the Secret becomes an environment variable: credentials stay in the cluster.
        "envFrom": [{"secretRef": {"name": secret}}],
        "ports": [{"containerPort": HTTP_PORT, "protocol": "TCP"}],
    }
    predictor: dict[str, Any] = {"containers": [container]}
    if canary is not None:
        predictor = {"canaryTrafficPercent": canary, **predictor}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }


def to_yaml(manifest: dict[str, Any], comments: list[str]) -> str:
    """The manifest as YAML (extra ``kserve``: pyyaml), after ``# `` comment lines."""
    from mlops_kit.core.extras import require

    yaml = require("yaml", extra="kserve", purpose="Writing KServe manifests", package="pyyaml")
    header = "".join(f"# {line}\n" if line else "#\n" for line in comments)
    body: str = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
    return header + body


def comments(
    endpoint: str,
    mv: ModelVersion,
    image: str,
    url: str,
    secret: str,
    percent: int | None,
    primary: ModelVersion | None,
    shadow: str | None,
) -> list[str]:
    lines = [
        f"InferenceService of endpoint {endpoint!r} (store {url}), written by `mlops-kit export kserve`.",
        f"It serves {mv} with MLServer and the mlops-kit runtime; build {image} from context/ first.",
    ]
    if percent is not None and primary is not None:
        lines += [
            f"Canary: this spec is KServe's new revision ({mv}) and takes {percent}% of requests; the",
            f"previously rolled-out revision keeps {100 - percent}% and must serve {primary} (if the",
            "cluster does not run it yet, apply primary/inferenceservice.yaml first). Promote: remove",
            "canaryTrafficPercent (or set 100); roll back: set it to 0.",
        ]
    if shadow is not None:
        lines.append(
            f"The endpoint also shadows {shadow}: KServe does not mirror traffic, so it is left out."
        )
    lines += [
        f"Credentials come from the Secret {secret!r} (envFrom), never from this file. Its keys become",
        "environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3,",
        "AZURE_STORAGE_CONNECTION_STRING for Azure, MLOPS_KIT_SIGNING_KEY for signed records.",
        "",
    ]
    return lines
