"""The container build context of one served version: Dockerfile, pinned requirements, model settings.

The image runs ``mlserver start`` on a folder holding one ``model-settings.json`` that
names our MLServer runtime and the pinned version (``name:version``), so a KServe
revision always serves the same model, whatever its aliases do later.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.registry import ModelVersion

__all__ = ["MLSERVER_REQUIREMENT", "RUNTIME", "model_settings", "requirements", "write_context"]

# The MLServer runtime class of mlops_kit.integrations.mlserver (extra "mlserver").
RUNTIME = "mlops_kit.integrations.mlserver.RegistryRuntime"
MLSERVER_REQUIREMENT = "mlserver>=1.6,<2"
HTTP_PORT = 8080  # MLServer's default HTTP port, and the port KServe sends traffic to
MODELS_DIR = "/opt/mlops-kit/models"


def requirements(mv: ModelVersion, *, kit_version: str, allow_unpinned: bool = False) -> str:
    """``requirements.txt``: the libraries ``mv`` was registered with, pinned, then MLServer and us.

    Raises
    ------
    ConfigError
        If ``mv`` recorded no library versions and ``allow_unpinned`` is false.
    """
    libraries = {name: v for name, v in mv.environment.libraries.items() if name != "mlops-kit"}
    if not libraries and not allow_unpinned:
        raise ConfigError(
            f"Model {mv} recorded no library versions (its environment lists only Python "
            f"{mv.environment.python}), so the image cannot reproduce what it was trained with. "
            "Re-register the model with this mlops-kit (it records numpy, pandas, scikit-learn and "
            "the serializer's library), or pass --allow-unpinned to let pip choose the versions."
        )
    kit = mv.environment.libraries.get("mlops-kit", kit_version)
    lines = [
        f"# {mv} was registered with Python {mv.environment.python} and these versions:",
        *(f"{name}=={version}" for name, version in sorted(libraries.items())),
    ]
    if not libraries:
        lines.append("# (none recorded: pip chooses; exported with --allow-unpinned)")
    lines += ["# The server and our runtime:", MLSERVER_REQUIREMENT, f"mlops-kit[mlserver]=={kit}", ""]
    return "\n".join(lines)


def model_settings(endpoint: str, mv: ModelVersion, storage_url: str, options: dict[str, Any]) -> str:
    """MLServer's ``model-settings.json`` for our runtime serving ``mv`` as model ``endpoint``."""
    extra: dict[str, Any] = {"storage": storage_url}
    if options:
        extra["storage_options"] = options
    settings = {
        "name": endpoint,
        "implementation": RUNTIME,
        "parameters": {"uri": mv.ref, "version": str(mv.version), "extra": extra},
    }
    return json.dumps(settings, indent=2) + "\n"


def dockerfile(endpoint: str, mv: ModelVersion) -> str:
    python = ".".join(mv.environment.python.split(".")[:2])
    return f"""\
# Serves {mv} as model {endpoint!r} with MLServer and the mlops-kit runtime.
# Written by `mlops-kit export kserve`; build it with: docker build -t IMAGE .
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/mlops-kit
COPY requirements.txt ./
# wheels/ may hold a wheel of mlops-kit (and others) when the package index does not have it.
COPY wheels/ ./wheels/
RUN pip install --find-links ./wheels -r requirements.txt
COPY models/ ./models/
RUN useradd --uid 1000 --no-create-home mlserver
USER 1000
EXPOSE {HTTP_PORT}
CMD ["mlserver", "start", "{MODELS_DIR}"]
"""


_WHEELS_NOTE = """\
Put wheels here that your package index does not have (a wheel of mlops-kit, for one:
`pip wheel --no-deps mlops-kit -w wheels/` from a checkout, or `python -m build`).
The Dockerfile installs requirements.txt with `pip install --find-links ./wheels`.
"""


def write_context(
    folder: Path,
    endpoint: str,
    mv: ModelVersion,
    storage_url: str,
    options: dict[str, Any],
    requirements_text: str,
) -> list[Path]:
    """Write the build context of ``mv`` into ``folder`` (created); return the files written."""
    files = {
        folder / "Dockerfile": dockerfile(endpoint, mv),
        folder / "requirements.txt": requirements_text,
        folder / "models" / endpoint / "model-settings.json": model_settings(
            endpoint, mv, storage_url, options
        ),
        folder / "wheels" / "README.txt": _WHEELS_NOTE,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)


def check_pinnable(mv: ModelVersion, allow_unpinned: bool) -> None:
    """Fail before writing anything if ``mv``'s requirements cannot be pinned."""
    requirements(mv, kit_version="0", allow_unpinned=allow_unpinned)
    if not mv.environment.python.split(".")[0].isdigit():
        raise ConfigError(f"Model {mv} recorded Python {mv.environment.python!r}, not a version number.")
