"""Lineage links shared by sibling blocks (a registry records the pipeline run that
trained a model, but the registry may not import the pipeline block)."""

from __future__ import annotations

from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record

__all__ = ["RunLink", "as_run_link"]


class RunLink(Record):
    """A pointer to one pipeline run."""

    id: str
    pipeline: str = ""

    def __str__(self) -> str:
        return f"{self.pipeline}/{self.id}" if self.pipeline else self.id


def as_run_link(run: Any) -> RunLink:
    """Accept a ``RunLink``, a run id, or any object with ``id`` (and ``pipeline``)."""
    if isinstance(run, RunLink):
        return run
    if isinstance(run, str) and run:
        return RunLink(id=run)
    run_id = getattr(run, "id", None)
    if isinstance(run_id, str) and run_id:
        pipeline = getattr(run, "pipeline", "")
        return RunLink(id=run_id, pipeline=pipeline if isinstance(pipeline, str) else "")
    raise ConfigError(f"Expected a run (a RunRecord, a RunLink or a run id), got {type(run).__name__}.")
