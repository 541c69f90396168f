"""The environment a model was registered in, and the warning when loading elsewhere.

Looking up a distribution's version with ``importlib.metadata`` scans site-packages
and costs milliseconds, so each version is looked up once per process.
"""

from __future__ import annotations

import functools
import platform
import warnings
from collections.abc import Iterable

from mlops_kit.registry._records import Environment

__all__ = ["EnvironmentMismatchWarning", "capture_environment", "check_environment", "distributions"]

# Libraries whose versions decide whether a pickled model loads and predicts the same.
KEY_LIBRARIES = ("numpy", "pandas", "scikit-learn", "cloudpickle")


class EnvironmentMismatchWarning(UserWarning):
    """A model is loaded with other library versions than it was registered with."""


@functools.cache
def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except (metadata.PackageNotFoundError, ValueError):
        return None


@functools.cache
def _package_distributions() -> dict[str, list[str]]:
    from importlib import metadata

    return dict(metadata.packages_distributions())


def distributions(packages: Iterable[str]) -> list[str]:
    """The installed distributions providing top-level import names (``sklearn`` -> ``scikit-learn``)."""
    found = _package_distributions()
    return [dist for package in packages for dist in found.get(package, [])]


def _python() -> str:
    return platform.python_version()


def capture_environment(extra: Iterable[str | None] = ()) -> Environment:
    """The Python version and the versions of the key libraries plus ``extra`` ones."""
    names = dict.fromkeys([*KEY_LIBRARIES, *(e for e in extra if e)])
    libraries = {name: v for name in names if (v := _version(name)) is not None}
    return Environment(python=_python(), libraries=libraries)


def check_environment(recorded: Environment, what: str) -> None:
    """Warn with :class:`EnvironmentMismatchWarning` if this process differs from ``recorded``.

    Python is compared on major.minor (pickles move freely between patch releases);
    libraries on their exact version.
    """
    differences = []
    here = _python()
    if here.split(".")[:2] != recorded.python.split(".")[:2]:
        differences.append(f"Python {recorded.python} (here {here})")
    for name, version in recorded.libraries.items():
        current = _version(name)
        if current != version:
            differences.append(f"{name} {version} (here {current or 'not installed'})")
    if differences:
        warnings.warn(
            f"{what} was registered with {', '.join(differences)}. It may fail to load or predict "
            "differently; install the recorded versions to reproduce it exactly.",
            EnvironmentMismatchWarning,
            stacklevel=3,
        )
