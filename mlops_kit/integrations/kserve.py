"""KServe: an endpoint as an ``InferenceService`` manifest and the build context of its image.

:func:`export` (and ``mlops-kit export kserve ENDPOINT --out DIR``) writes::

    DIR/inferenceservice.yaml       the InferenceService to apply (kubectl apply -f)
    DIR/context/                    the build context of the image it names
        Dockerfile                  python:<recorded major.minor>-slim, pip install, mlserver start
        requirements.txt            pinned from the model version's recorded environment
        models/<endpoint>/model-settings.json   our MLServer runtime, the pinned version, the store
        wheels/                     wheels the package index lacks (mlops-kit itself, say)
    DIR/primary/                    for a canary only: the same for the primary (apply it first
                                    if the cluster does not run the primary yet)

How the endpoint's rollout maps to KServe: a replace serves the primary. A canary follows
KServe's canary model, where the spec describes the *new* revision: the manifest serves the
candidate with ``canaryTrafficPercent`` = its weight in percent, and KServe keeps the rest on
the previously rolled-out revision, which must be the primary. A shadow has no KServe
equivalent (KServe does not mirror traffic): the manifest serves the primary alone, with a
warning and a comment saying so.

The store URL reaches the pod as ``$MLOPS_KIT_STORAGE`` and in ``model-settings.json``;
credentials never appear in a written file: the container takes the Kubernetes Secret
``secret`` with ``envFrom``, and storage options that may be secret are left out (a warning
names their keys).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.storage import Storage, resolve_storage
from mlops_kit.integrations._kserve_context import check_pinnable, requirements, write_context
from mlops_kit.integrations._kserve_files import OURS, check_out, move_in, walk
from mlops_kit.integrations._kserve_manifest import (
    canary_percent,
    check_k8s_name,
    comments,
    image_for,
    inference_service,
    resource_name,
    to_yaml,
)
from mlops_kit.integrations._kserve_storage import StorageSettings, storage_settings
from mlops_kit.registry import ModelVersion

__all__ = ["DEFAULT_SECRET", "KServeExport", "export"]

DEFAULT_SECRET = "mlops-kit-storage"


@dataclass(frozen=True)
class KServeExport:
    """What :func:`export` wrote.

    Attributes
    ----------
    out : Path
        The folder.
    manifest : Path
        ``out/inferenceservice.yaml``.
    model : str
        The version the manifest serves (``"churn:2"``): the primary, or a canary's candidate.
    image : str
        The image the manifest names; build it from ``out/context``.
    canary_percent : int or None
        ``canaryTrafficPercent`` for a canary; ``None`` otherwise.
    files : list of Path
        Every file written.
    """

    out: Path
    manifest: Path
    model: str
    image: str
    canary_percent: int | None = None
    files: list[Path] = field(default_factory=list)


def export(
    deployer_or_storage: Any,
    endpoint: str,
    out: str | os.PathLike[str],
    *,
    image: str | None = None,
    secret: str = DEFAULT_SECRET,
    namespace: str | None = None,
    force: bool = False,
    allow_unpinned: bool = False,
) -> KServeExport:
    """Write the KServe ``InferenceService`` of ``endpoint`` and the build context of its image.

    Parameters
    ----------
    deployer_or_storage : LocalDeployer, Storage or str
        The deployer whose endpoint to export, or the store (or its URL) it lives in.
    endpoint : str
        The endpoint.
    out : path
        The folder to write; it must not exist or be empty, unless ``force``.
    image : str, optional
        The image repository, without a tag (default ``mlops-kit/<endpoint>``); the tag is
        ``<model>-<version>``.
    secret : str
        The Kubernetes Secret whose keys become the container's environment (credentials).
    namespace : str, optional
        ``metadata.namespace`` (default: none, so ``kubectl -n`` decides).
    force : bool
        Replace what an earlier export wrote in ``out`` (other files there are kept).
    allow_unpinned : bool
        Accept a model that recorded no library versions (pip then chooses them).

    Returns
    -------
    KServeExport

    Raises
    ------
    NotFoundError
        If the endpoint does not exist. Nothing is written.
    ConfigError
        If nothing is deployed, the store is in memory, a name is not a Kubernetes name, the
        model recorded no library versions, or ``out`` is not empty. Nothing is written.

    Examples
    --------
    >>> import tempfile, warnings
    >>> import mlops_kit as mk
    >>> from mlops_kit.integrations.kserve import export
    >>> folder = tempfile.mkdtemp()
    >>> store = mk.storage(folder + "/store")
    >>> from sklearn.linear_model import LinearRegression
    >>> reg = mk.Registry(store)
    >>> _ = reg.register("churn", LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0]))
    >>> dep = mk.LocalDeployer(reg, storage=store); dep.deploy("churn:1", endpoint="churn").close()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # a local folder is not visible from a pod
    ...     done = export(dep, "churn", folder + "/kserve")
    >>> done.model, done.image, done.canary_percent
    ('churn:1', 'mlops-kit/churn:churn-1', None)
    >>> sorted(p.name for p in done.files)
    ['Dockerfile', 'README.txt', 'inferenceservice.yaml', 'model-settings.json', 'requirements.txt']
    """
    dep = _deployer(deployer_or_storage)
    status = dep.status(endpoint)  # NotFoundError for an unknown endpoint
    if status.primary is None:
        raise ConfigError(
            f"Endpoint {endpoint!r} serves nothing (it was undeployed); deploy a version first."
        )
    primary = dep.registry.get(status.primary)
    served, previous, percent = primary, None, None
    if status.candidate is not None and status.strategy == "canary":
        served, previous = dep.registry.get(status.candidate), primary
        percent = canary_percent(status.weight or 0.0)
        if status.key:
            warnings.warn(
                f"The canary routes by column {status.key!r}; KServe splits requests at random.",
                UserWarning,
                stacklevel=2,
            )
    elif status.candidate is not None:
        warnings.warn(
            f"Endpoint {endpoint!r} mirrors traffic to {status.candidate} ({status.strategy}); KServe "
            "has no equivalent, so the manifest serves the primary alone.",
            UserWarning,
            stacklevel=2,
        )
    check_k8s_name(secret, "--secret", subdomain=True)
    if namespace is not None:
        check_k8s_name(namespace, "--namespace")
    repository = image or f"mlops-kit/{resource_name(endpoint)}"
    for mv in (served, previous):
        if mv is not None:
            check_pinnable(mv, allow_unpinned)
            image_for(repository, mv)
    target = check_out(Path(out), force)
    settings = storage_settings(dep.storage)  # last check: its warnings come only if the export goes on

    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
    try:
        shadow = status.candidate if status.strategy == "shadow" else None
        args = (endpoint, repository, settings, secret, namespace, allow_unpinned)
        _revision(staging, *args, served, percent, previous, shadow)
        if previous is not None:
            _revision(staging / "primary", *args, previous, None, None, None)
        move_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sorted(p for name in OURS for p in walk(target / name))
    return KServeExport(
        out=target,
        manifest=target / "inferenceservice.yaml",
        model=served.ref,
        image=image_for(repository, served),
        canary_percent=percent,
        files=files,
    )


def _deployer(obj: Any) -> Any:
    if hasattr(obj, "registry") and hasattr(obj, "storage") and hasattr(obj, "status"):
        return obj
    if isinstance(obj, Storage | str | os.PathLike):
        from mlops_kit.deploy import LocalDeployer
        from mlops_kit.registry import Registry

        store = resolve_storage(obj)
        return LocalDeployer(Registry(store), storage=store)
    raise ConfigError(
        f"Expected a LocalDeployer, a Storage or a storage URL, got {type(obj).__name__}: the export "
        "needs the registry and the store the endpoint lives in."
    )


def _revision(
    folder: Path,
    endpoint: str,
    repository: str,
    settings: StorageSettings,
    secret: str,
    namespace: str | None,
    allow_unpinned: bool,
    mv: ModelVersion,
    percent: int | None,
    primary: ModelVersion | None,
    shadow: str | None,
) -> None:
    from mlops_kit.core._version import __version__

    image = image_for(repository, mv)
    reqs = requirements(mv, kit_version=__version__, allow_unpinned=allow_unpinned)
    write_context(folder / "context", endpoint, mv, settings.url, settings.options, reqs)
    manifest = inference_service(
        endpoint=endpoint,
        mv=mv,
        image=image,
        env=settings.env(),
        secret=secret,
        namespace=namespace,
        canary=percent,
        primary=primary,
    )
    (folder / "inferenceservice.yaml").write_text(
        to_yaml(manifest, comments(endpoint, mv, image, settings.url, secret, percent, primary, shadow))
    )
