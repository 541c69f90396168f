"""The stored record of a dataset version."""

from __future__ import annotations

import datetime as dt

from mlops_kit.core.profile import Profile
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.core.schema import Schema

__all__ = ["DatasetLink", "DatasetPart", "DatasetVersion"]


class DatasetLink(Record):
    """A pointer to one dataset version: what lineage records (parents, models, runs)."""

    name: str
    version: int
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class DatasetPart(Record):
    """One Parquet blob of a partitioned version: its sha256, rows and size."""

    blob: str
    n_rows: int
    size_bytes: int


class DatasetVersion(Record):
    """One immutable version of a dataset.

    Attributes
    ----------
    name, version : str, int
        The dataset and the version number (1, 2, ...).
    fingerprint : str
        sha256 of the content (names, types, values, row order), independent of
        the Parquet encoding.
    blob : str
        sha256 of the stored Parquet bytes (``""`` for a partitioned version).
    parts : tuple of DatasetPart
        A partitioned version's Parquet blobs, in row order (empty for one blob).
    schema_ : Schema
        The inferred schema (also available as ``schema``).
    profile : Profile
        Per-column summary statistics, mergeable (used by the monitor).
    """

    name: str
    version: int
    fingerprint: str
    blob: str
    size_bytes: int
    n_rows: int
    n_columns: int
    schema_: Schema
    profile: Profile
    tags: FrozenMap[str] = {}
    description: str = ""
    parents: tuple[DatasetLink, ...] = ()
    created_at: dt.datetime
    created_by: str
    parts: tuple[DatasetPart, ...] = ()

    REPR_FIELDS = ("name", "version", "n_rows", "n_columns", "fingerprint", "tags", "created_at")

    @property
    def schema(self) -> Schema:  # type: ignore[override]
        """The inferred :class:`~mlops_kit.Schema` of this version."""
        return self.schema_

    @property
    def blobs(self) -> tuple[DatasetPart, ...]:
        """The version's Parquet blobs in row order: its parts, or its one blob."""
        if self.parts:
            return self.parts
        return (DatasetPart(blob=self.blob, n_rows=self.n_rows, size_bytes=self.size_bytes),)

    @property
    def link(self) -> DatasetLink:
        """A :class:`DatasetLink` to this version, for lineage."""
        return DatasetLink(name=self.name, version=self.version, fingerprint=self.fingerprint)

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"

    def _repr_html_(self) -> str:
        from html import escape

        cols = "".join(
            f"<tr><td>{escape(n)}</td><td>{c.dtype}</td><td>{'yes' if c.nullable else 'no'}</td></tr>"
            for n, c in self.schema_.columns.items()
        )
        return (
            f"<div><b>{escape(self.name)}:{self.version}</b> &mdash; {self.n_rows:,} rows x "
            f"{self.n_columns} columns, fingerprint <code>{self.fingerprint[:12]}</code>, "
            f"created {self.created_at:%Y-%m-%d %H:%M} by {escape(self.created_by)}"
            f"<table><tr><th>column</th><th>type</th><th>nullable</th></tr>{cols}</table></div>"
        )
