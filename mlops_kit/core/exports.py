"""Public names carry their package as ``__module__``, not the private module that defines them.

So reprs, tracebacks, pickles and the API docs say ``mlops_kit.pipeline.RunRecord``
rather than ``mlops_kit.pipeline._records.RunRecord`` (httpx does the same).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

__all__ = ["publish"]


def publish(package: str, names: Iterable[str], namespace: dict[str, Any]) -> None:
    """Set ``__module__ = package`` on the classes and functions ``names`` that private modules of it define."""
    for name in names:
        obj = namespace.get(name)
        if obj is None or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        module = getattr(obj, "__module__", "") or ""
        inner = module[len(package) + 1 :].split(".") if module.startswith(package + ".") else []
        if any(part.startswith("_") for part in inner):
            obj.__module__ = package
