"""Lineage links shared by sibling blocks (a registry records the pipeline run that
trained a model, but the registry may not import the pipeline block)."""

from __future__ import annotations

from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record

__all__ = ["RunLink", "as_run_link"]


class RunLink(Record):
    """A pointer to one run: of a pipeline, or tracked in an experiment (``mk.start_run``)."""

    id: str
    pipeline: str = ""
    experiment: str = ""

    def __str__(self) -> str:
        owner = self.pipeline or self.experiment
        return f"{owner}/{self.id}" if owner else self.id

    @model_serializer(mode="wrap")
    def _without_empty_experiment(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A link to a pipeline run is stored exactly as before tracked runs existed, so
        # that readers of earlier versions (which refuse unknown fields) still read it.
        data = handler(self)
        if isinstance(data, dict) and not data.get("experiment"):
            data.pop("experiment", None)
        return data

    def __repr_args__(self) -> Any:
        # An empty owner says nothing: keep reprs as short as before tracked runs existed.
        return [(k, v) for k, v in super().__repr_args__() if k == "id" or v]


def as_run_link(run: Any) -> RunLink:
    """Accept a ``RunLink``, a run id, or a run: anything with ``link`` (a ``RunLink``) or ``id``."""
    if isinstance(run, RunLink):
        return run
    if isinstance(run, str) and run:
        return RunLink(id=run)
    link = getattr(run, "link", None)
    if isinstance(link, RunLink):
        return link
    run_id = getattr(run, "id", None)
    if isinstance(run_id, str) and run_id:
        pipeline = getattr(run, "pipeline", "")
        return RunLink(id=run_id, pipeline=pipeline if isinstance(pipeline, str) else "")
    raise ConfigError(
        f"Expected a run (a RunRecord, a tracked run, a RunLink or a run id), got {type(run).__name__}."
    )
