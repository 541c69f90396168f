"""Checks of what users pass to ``Registry.register``, before anything is written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.lineage import RunLink, as_run_link
from mlops_kit.core.names import check_name
from mlops_kit.datasets import DatasetLink, DatasetVersion
from mlops_kit.registry._records import ParamValue

__all__ = ["check_description", "check_metrics", "check_params", "check_tags", "dataset_link", "run_link"]


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a dict, got {type(value).__name__}.")
    for key in value:
        check_name(key, f"{what[:-1]} name")
    return value


def check_metrics(metrics: object) -> dict[str, float]:
    """Finite numbers by name (``{"auc": 0.91}``)."""
    checked = {}
    for key, value in _mapping(metrics, "metrics").items():
        if isinstance(value, bool) or (
            not isinstance(value, int | float) and not hasattr(value, "__float__")
        ):
            raise ConfigError(f"Metric {key!r} must be a number, got {value!r}.")
        number = float(value)
        if not math.isfinite(number):
            raise ConfigError(f"Metric {key!r} must be finite, got {value!r}; leave it out instead.")
        checked[key] = number
    return checked


def check_params(params: object) -> dict[str, ParamValue]:
    """Scalars by name: str, int, float, bool or None."""
    checked: dict[str, ParamValue] = {}
    for key, value in _mapping(params, "params").items():
        if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
            value = value.item()
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ConfigError(
                f"Param {key!r} must be a str, int, float, bool or None, got {type(value).__name__} "
                f"({value!r}); pass str(value) to record it."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"Param {key!r} must be finite, got {value!r}; pass str(value) to record it.")
        checked[key] = value
    return checked


def check_tags(tags: object) -> dict[str, str]:
    """Strings by name."""
    checked = {}
    for key, value in _mapping(tags, "tags").items():
        if not isinstance(value, str):
            raise ConfigError(f"Tag {key!r} must be a string, got {type(value).__name__} ({value!r}).")
        checked[key] = value
    return checked


def check_description(description: object) -> str:
    if not isinstance(description, str):
        raise ConfigError(f"description must be a string, got {type(description).__name__}.")
    return description


def dataset_link(dataset: object) -> DatasetLink | None:
    """A ``DatasetVersion`` or ``DatasetLink`` as a link; ``None`` stays ``None``."""
    if dataset is None or isinstance(dataset, DatasetLink):
        return dataset
    if isinstance(dataset, DatasetVersion):
        return dataset.link
    raise ConfigError(
        f"dataset= expects a DatasetVersion (what Dataset.save returns) or a DatasetLink, "
        f"got {type(dataset).__name__}."
    )


def run_link(run: object) -> RunLink | None:
    """A run record, ``RunLink`` or run id as a link; ``None`` stays ``None``."""
    return None if run is None else as_run_link(run)
