"""Optional dependencies: one place that imports them and says which extra to install.

Examples
--------
>>> from mlops_kit.core.extras import require
>>> require("json", extra=None, purpose="Reading JSON").__name__
'json'
>>> require("no_such_module_xyz", extra="report", purpose="Drawing reports")
Traceback (most recent call last):
...
mlops_kit.core.extras.MissingExtraError: Drawing reports needs no_such_module_xyz: pip install 'mlops-kit[report]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mlops_kit.core.errors import ConfigError

__all__ = ["MissingExtraError", "missing_extra", "require"]


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is not installed; the message says what to install."""


def require(module: str, *, extra: str | None, purpose: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming the extra to install.

    Parameters
    ----------
    module : str
        The module to import (``"skops.io"``).
    extra : str or None
        The mlops-kit extra that installs it (``"serve"``); ``None`` for a plain package.
    purpose : str
        What needs it, as the start of a sentence (``"Serving over HTTP"``).
    package : str, optional
        The distribution to name (default: the module's top-level name).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(purpose, package or module.split(".")[0], extra) from exc


def missing_extra(
    purpose: str, package: str, extra: str | None, *, upgrade: bool = False
) -> MissingExtraError:
    """The error for a missing (or, with ``upgrade``, too old) optional dependency; raise it ``from`` the cause."""
    flag = "-U " if upgrade else ""
    hint = f"pip install {flag}'mlops-kit[{extra}]'" if extra else f"pip install {flag}{package}"
    needs = f"newer {package}" if upgrade else package
    return MissingExtraError(f"{purpose} needs {needs}: {hint}")
