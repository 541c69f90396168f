"""Lineage arguments of ``Registry.register``; the other rules are in ``mlops_kit.core.arguments``."""

from __future__ import annotations

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.lineage import RunLink, as_run_link
from mlops_kit.datasets import DatasetLink, DatasetVersion

__all__ = ["dataset_link", "run_link"]


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
