"""The records of the registry: model versions and the events of a model's life."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Literal

from pydantic import Field

from mlops_kit.core.lineage import RunLink
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.core.schema import Schema
from mlops_kit.datasets import DatasetLink

__all__ = ["Environment", "EventKind", "ModelEvent", "ModelVersion", "ParamValue", "Signature"]

ParamValue = str | int | float | bool | None
EventKind = Literal["registered", "alias_set", "alias_deleted", "archived", "restored"]


class Signature(Record):
    """What a model takes and returns, inferred from its input example.

    ``inputs`` is inferred with every column nullable and without value ranges or
    category sets, so a five-row example does not make the schema stricter than the
    model. ``outputs`` describes ``model.predict(input_example)`` (``None`` for an
    object without ``predict``).
    """

    inputs: Schema
    outputs: Schema | None = None


class Environment(Record):
    """The Python version and key library versions a model was registered with."""

    python: str
    libraries: FrozenMap[str] = {}


class ModelVersion(Record):
    """One immutable, registered version of a model.

    Attributes
    ----------
    name, version : str, int
        The model and its version number (1, 2, ..., in registration order).
    fingerprint : str
        The sha256 of the serialized artifact; :meth:`Registry.load` checks the
        stored bytes against it before deserializing anything.
    serializer : str
        The name of the serializer that wrote the artifact (``"cloudpickle"``...).
    flavor : str
        ``"sklearn"`` (an estimator), ``"sklearn-pipeline"``, ``"python"`` (any object
        with a ``predict`` method) or ``"object"``.
    model_class : str
        The qualified class name of the model, for display and search.
    signature : Signature or None
        Input and output schemas, when an input example was given.
    input_example : str or None
        The sha256 of the stored input example (Parquet); see
        :meth:`Registry.input_example`.
    metrics, params, tags : mapping
        Numbers, hyperparameters and free-form labels given at registration.
    dataset, run : DatasetLink or None, RunLink or None
        Lineage: the training data version and the pipeline run that produced it.
    environment : Environment
        Python and library versions at registration (for a model with steps, also
        mlops-kit's and those of the packages its steps use).
    code : mapping of str to str
        For a model that ships with its preprocessing steps (flavor ``"steps"``), each
        step's code fingerprint; empty otherwise.
    created_at, created_by : datetime, str
        When and by whom (``user@host``).

    Examples
    --------
    >>> import mlops_kit as mk
    >>> mv = mk.Registry(mk.MemoryStorage()).register("churn", [0.5], params={"C": 1.0})
    >>> mv.ref, mv.version, mv.params["C"], len(mv.fingerprint)
    ('churn:1', 1, 1.0, 64)
    """

    SCHEMA_VERSION = 1

    name: str
    version: int = Field(ge=1)
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    serializer: str
    flavor: str
    model_class: str
    signature: Signature | None = None
    input_example: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    metrics: FrozenMap[float] = {}
    params: FrozenMap[ParamValue] = {}
    tags: FrozenMap[str] = {}
    description: str = ""
    dataset: DatasetLink | None = None
    run: RunLink | None = None
    environment: Environment
    # Left out of the stored JSON when empty, so records of other models stay as before.
    code: FrozenMap[str] = Field(default={}, exclude_if=lambda code: not code)
    created_at: dt.datetime
    created_by: str

    REPR_FIELDS = ("name", "version", "flavor", "model_class", "metrics", "fingerprint", "created_at")

    @property
    def ref(self) -> str:
        """The reference of this version, ``"name:version"`` (for ``Registry.get``)."""
        return f"{self.name}:{self.version}"

    def __str__(self) -> str:
        return self.ref

    def _repr_html_(self) -> str:
        metrics = ", ".join(f"{escape(k)}={v:.4g}" for k, v in self.metrics.items()) or "none"
        lineage = []
        if self.dataset is not None:
            lineage.append(f"data {escape(str(self.dataset))}")
        if self.run is not None:
            lineage.append(f"run {escape(str(self.run))}")
        return (
            f"<div><b>{escape(self.ref)}</b> &mdash; {escape(self.model_class)} ({escape(self.flavor)}, "
            f"{escape(self.serializer)}, {self.size_bytes:,} bytes, sha256 <code>{self.fingerprint[:12]}</code>)"
            f"<br>metrics: {metrics}<br>lineage: {', '.join(lineage) or 'none'}"
            f"<br>created {self.created_at:%Y-%m-%d %H:%M} by {escape(self.created_by)}</div>"
        )


class ModelEvent(Record):
    """One entry of a model's audit history.

    ``kind`` is ``"registered"``, ``"alias_set"``, ``"alias_deleted"``, ``"archived"``
    or ``"restored"``. ``version`` is the version concerned (for an alias move, the
    version it now points to; ``None`` after a deletion) and ``from_version`` the
    version the alias pointed to before (``None`` if it was new).

    Examples
    --------
    >>> import mlops_kit as mk
    >>> reg = mk.Registry(mk.MemoryStorage())
    >>> _ = reg.register("churn", 1), reg.register("churn", 2)
    >>> _ = reg.set_alias("churn", "production", 1)
    >>> event = reg.set_alias("churn", "production", 2)
    >>> event.kind, event.alias, event.from_version, event.version
    ('alias_set', 'production', 1, 2)
    """

    SCHEMA_VERSION = 1

    kind: EventKind
    name: str
    version: int | None = None
    alias: str | None = None
    from_version: int | None = None
    at: dt.datetime
    by: str

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M:%S} {self.by}"
        if self.kind == "alias_set":
            before = "new" if self.from_version is None else f"from {self.from_version}"
            return f"{when}: {self.name}@{self.alias} -> {self.version} ({before})"
        if self.kind == "alias_deleted":
            return f"{when}: {self.name}@{self.alias} deleted (was {self.from_version})"
        return f"{when}: {self.name}:{self.version} {self.kind}"
