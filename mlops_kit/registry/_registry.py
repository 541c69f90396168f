"""The model registry: versioned models with aliases, lineage, signatures and verified artifacts."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import (
    StorageLike,
    check_description,
    check_metrics,
    check_page,
    check_params,
    check_tags,
)
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock, current_user
from mlops_kit.core.errors import IntegrityError, NotFoundError, SchemaError
from mlops_kit.core.listing import NameList, RecordList
from mlops_kit.core.names import check_name
from mlops_kit.core.refs import ModelRef, parse_ref
from mlops_kit.core.storage import Storage, resolve_storage
from mlops_kit.core.storage.logs import read_page
from mlops_kit.registry import _arguments as args
from mlops_kit.registry import _serializers as ser
from mlops_kit.registry._environment import capture_environment, check_environment, distributions
from mlops_kit.registry._index import snapshot_index
from mlops_kit.registry._lifecycle import Lifecycle, _missing_alias
from mlops_kit.registry._records import ModelVersion, Signature
from mlops_kit.registry._search import Searching
from mlops_kit.registry._signature import flavor_of, infer_signature, model_class, servable_parts, top_package
from mlops_kit.registry._state import StateCache, model_catalog, model_names, versions_log
from mlops_kit.registry._summary import Summarizing, model_summaries, observe_versions
from mlops_kit.registry._summary import start as start_summaries

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.datasets import DatasetLink, DatasetVersion

__all__ = ["Registry"]


class Registry(Lifecycle, Searching, Summarizing):
    """Versioned models in a storage, with aliases, an audit history and verified artifacts.

    Each :meth:`register` appends an immutable :class:`ModelVersion` (1, 2, ...):
    the serialized model is stored as a content-addressed blob first, then the
    version record pointing to it, so concurrent registrations from many processes
    or machines never lose or overwrite a version and a crash never leaves a record
    without its artifact. :meth:`load` verifies the artifact's sha256 before
    deserializing anything.

    Parameters
    ----------
    storage : Storage, str or None
        Where models live; default ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
    clock : Clock, optional
        Source of timestamps (a fake clock in tests).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> import mlops_kit as mk
    >>> X = pd.DataFrame({"age": [25, 40, 61, 33], "spend": [10.0, 80.5, 5.2, 42.0]})
    >>> model = LogisticRegression().fit(X, [0, 1, 0, 1])
    >>> reg = mk.Registry(mk.MemoryStorage())
    >>> mv = reg.register("churn", model, metrics={"auc": 0.91}, input_example=X.head(2))
    >>> mv.ref, mv.flavor, mv.signature.inputs.names
    ('churn:1', 'sklearn', ['age', 'spend'])
    >>> _ = reg.set_alias("churn", "production", mv.version)
    >>> reg.load("churn@production").predict(X).tolist()
    [0, 1, 0, 1]
    >>> [v.ref for v in reg.versions("churn")], reg.models()
    (['churn:1'], ['churn'])
    """

    def __init__(self, storage: StorageLike = None, *, clock: Clock | None = None) -> None:
        self.storage = resolve_storage(storage)
        self.clock = clock or SYSTEM_CLOCK
        self._cache = StateCache(self.storage)

    def __repr__(self) -> str:
        return f"Registry({self.storage!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_cache"]  # locks and folded state stay in their process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = StateCache(self.storage)

    def register(
        self,
        name: str,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        dataset: DatasetVersion | DatasetLink | None = None,
        run: Any = None,
        input_example: pd.DataFrame | None = None,
        serializer: str = "cloudpickle",
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name``.

        Parameters
        ----------
        name : str
            The model's name (letters, digits, '.', '_', '-').
        model : object
            A fitted estimator, pipeline or any object the serializer handles.
        metrics : dict of str to float, optional
            Finite numbers (``{"auc": 0.91}``), searchable with :meth:`search` and :meth:`best`.
        params : dict of str to scalar, optional
            Hyperparameters: str, int, float, bool or None values.
        tags : dict of str to str, optional
            Free-form labels, filterable in :meth:`search`.
        description : str
            A sentence about this version.
        dataset : DatasetVersion or DatasetLink, optional
            The training data (lineage: name, version, fingerprint).
        run : RunRecord, RunLink or str, optional
            The pipeline run that produced the model (anything with ``.id``, or an id).
        input_example : pandas.DataFrame, optional
            A few rows of input. It gives the signature (input schema, and output
            schema from ``model.predict`` on it) and is stored for
            :meth:`input_example`. Keep it small.
        serializer : str
            ``"cloudpickle"`` (default), ``"joblib"``, ``"skops"`` or a name given to
            :func:`register_serializer`.

        Returns
        -------
        ModelVersion
            The new version.

        Raises
        ------
        InvalidNameError
            If ``name`` is invalid. Nothing is written.
        ConfigError
            If an argument is invalid or the serializer is unknown. Nothing is written.
        SerializationError
            If the serializer cannot serialize the model; the message names the
            serializer and the offending type. Nothing is written.
        SchemaError
            If the input example is not a supported DataFrame or ``predict`` fails on it.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> mv = reg.register("rules", {"threshold": 0.7}, metrics={"precision": 0.8}, tags={"owner": "risk"})
        >>> mv.ref, mv.flavor, mv.serializer, dict(mv.metrics)
        ('rules:1', 'object', 'cloudpickle', {'precision': 0.8})
        """
        name = check_name(name, "model name")
        checked_metrics = check_metrics(metrics)
        checked_params = check_params(params)
        checked_tags = check_tags(tags)
        description = check_description(description)
        dataset_link = args.dataset_link(dataset)
        run_link = args.run_link(run)
        chosen = ser.get_serializer(serializer)
        signature, example = _signature_and_example(model, input_example)
        artifact = ser.dumps(chosen, model)
        parts = servable_parts(model)
        libraries = [getattr(chosen, "library", None), top_package(model)]
        if parts is not None:  # unpickling needs mlops_kit; the steps and the model need their packages
            libraries += ["mlops-kit", *distributions(parts["packages"])]
        environment = capture_environment(libraries)
        # Blobs before the record that points to them: a crash in between leaves an
        # unreferenced blob, never a version whose artifact is missing.
        digest = _put_blob(self.storage, artifact)
        example_digest = _put_blob(self.storage, example) if example is not None else None
        fields = {
            "name": name,
            "fingerprint": digest,
            "size_bytes": len(artifact),
            "serializer": chosen.name,
            "flavor": flavor_of(model),
            "model_class": model_class(model),
            "signature": signature,
            "input_example": example_digest,
            "metrics": checked_metrics,
            "params": checked_params,
            "tags": checked_tags,
            "description": description,
            "dataset": dataset_link,
            "run": run_link,
            "environment": environment,
            "code": {} if parts is None else parts["code"],
            "created_at": self.clock.now(),
            "created_by": current_user(),
        }
        version = model_summaries(self.storage).changing(
            name,
            "versions",
            lambda: model_catalog(self.storage).add(
                name,
                lambda: self.storage.append(
                    versions_log(name), lambda seq: ModelVersion(version=seq, **fields)
                ),
            ),
            lambda: observe_versions(self.storage, self._cache, name),
            start=lambda: start_summaries(self.storage, self._cache),
        )
        snapshot_index(self.storage, name, version)  # every SNAPSHOT_EVERY versions; a warning if it fails
        return self.storage.read_entry(versions_log(name), version, ModelVersion)

    def get(self, ref: str | ModelRef | ModelVersion) -> ModelVersion:
        """The record of a version, by reference, without loading the model.

        Parameters
        ----------
        ref : str
            ``"name"`` (the latest version that is not archived), ``"name:3"`` or
            ``"name@production"``.

        Raises
        ------
        InvalidNameError
            If ``ref`` is malformed. Storage is not touched.
        NotFoundError
            If the model, version or alias does not exist; the message lists the
            models, the version range or the aliases that do.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("churn", "v1"), reg.register("churn", "v2")
        >>> _ = reg.set_alias("churn", "production", 1)
        >>> reg.get("churn").version, reg.get("churn:2").ref, reg.get("churn@production").version
        (2, 'churn:2', 1)
        >>> reg.get("churn:7")
        Traceback (most recent call last):
        ...
        mlops_kit.core.errors.NotFoundError: Model 'churn' has no version 7; its versions are 1 to 2.
        """
        name, version, alias = _parse(ref)
        if alias is not None:
            version = self._cache.read(name, lambda state: state.aliases.get(alias))
            if version is None:
                self._require_model(name)
                aliases = self._cache.read(name, lambda state: dict(state.aliases))
                raise NotFoundError(_missing_alias(name, alias, aliases))
        elif version is None:
            version = self._latest(name)
        return self._version(name, version)

    def load(self, ref: str | ModelRef | ModelVersion, **options: Any) -> Any:
        """Load a model, after verifying its artifact against the recorded sha256.

        Parameters
        ----------
        ref : str or ModelVersion
            ``"name"``, ``"name:3"`` or ``"name@alias"``.
        **options
            Passed to the serializer's ``loads``: ``trusted=[...]`` for ``skops``.

        Raises
        ------
        NotFoundError
            If the version or its artifact does not exist.
        IntegrityError
            If the stored bytes do not match the recorded sha256, or (with a
            signing key) the record's signature does not verify. Nothing is
            deserialized.
        SerializationError
            If the serializer fails; :class:`UntrustedTypesError` if a skops artifact
            holds types not passed in ``trusted``.

        Warns
        -----
        EnvironmentMismatchWarning
            If Python (major.minor) or a recorded library version differs here.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> mv = reg.register("scaler", {"mean": 3.0, "std": 2.0})
        >>> reg.load("scaler"), reg.load(mv) == reg.load("scaler:1")
        ({'mean': 3.0, 'std': 2.0}, True)
        """
        mv = self.get(ref)
        serializer = ser.get_serializer(mv.serializer)
        data = self._artifact(mv, mv.fingerprint, "artifact")
        check_environment(mv.environment, f"Model {mv}")
        return ser.loads(serializer, data, f"model {mv}", options)

    def input_example(self, ref: str | ModelRef | ModelVersion) -> pd.DataFrame | None:
        """The input example stored with a version, or ``None`` if it has none.

        Examples
        --------
        >>> import pandas as pd
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("m", lambda: None)
        >>> reg.input_example("m") is None
        True
        """
        import pandas as pd

        mv = self.get(ref)
        if mv.input_example is None:
            return None
        data = self._artifact(mv, mv.input_example, "input example")
        return pd.read_parquet(io.BytesIO(data))

    def verify(self, ref: str | ModelRef | ModelVersion) -> ModelVersion:
        """Check a version's stored artifact (and input example) against its record, loading nothing.

        The bytes are read and hashed, never deserialized: safe on any store, and what
        :meth:`load` checks first.

        Returns
        -------
        ModelVersion
            The record whose artifact was verified.

        Raises
        ------
        IntegrityError
            If the stored bytes do not match the recorded sha256 (or, with a signing key,
            the record's signature does not verify).
        NotFoundError
            If the version, its artifact or its input example does not exist.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("churn", {"weights": [1, 2]})
        >>> reg.verify("churn:1").ref
        'churn:1'
        """
        mv = self.get(ref)
        self._artifact(mv, mv.fingerprint, "artifact")
        if mv.input_example is not None:
            self._artifact(mv, mv.input_example, "input example")
        return mv

    def versions(
        self, name: str, *, limit: int | None = None, offset: int = 0, newest_first: bool = False
    ) -> list[ModelVersion]:
        """The versions of a model, oldest first (``newest_first`` reverses), archived ones included.

        A page costs storage requests for the versions it returns, not for all of them:
        versions are read from packs (:mod:`~mlops_kit.core.storage.logpacks`).

        Parameters
        ----------
        name : str
            The model.
        limit : int, optional
            Return at most this many (a page); ``None`` returns every version.
        offset : int
            Skip this many versions first (in the order asked for).
        newest_first : bool
            Start from the newest version.

        Raises
        ------
        NotFoundError
            If the model does not exist.
        ConfigError
            If ``limit`` or ``offset`` is not a valid page.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> for n in range(5):
        ...     _ = reg.register("m", n)
        >>> [v.version for v in reg.versions("m", limit=2, newest_first=True)]
        [5, 4]
        >>> [v.version for v in reg.versions("m", limit=2, offset=2)]
        [3, 4]
        """
        name = check_name(name, "model name")
        limit, offset = check_page(limit, offset)
        log = versions_log(name)
        if newest_first:
            last = self._cache.last_version(name)
            page = read_page(
                self.storage, log, ModelVersion, limit=limit, offset=offset, newest_first=True, last=last
            )
            versions = RecordList(e.record for e in page)
            exists = last > 0
        else:
            versions = RecordList(
                e.record for e in self.storage.read_log(log, ModelVersion, after=offset, limit=limit)
            )
            exists = bool(versions) or (offset > 0 and self._cache.last_version(name) > 0)
        if not exists:
            raise NotFoundError(self._no_model(name))
        return versions

    def models(self, *, limit: int | None = None, offset: int = 0) -> NameList:
        """The names of the models with at least one version, sorted (a page with ``limit``/``offset``).

        The names come from the registry's catalog (a snapshot and the few entries after
        it), not from listing the storage, so this costs the same at 10 or 10,000 models.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("fraud", 1), reg.register("churn", 1), reg.register("churn", 2)
        >>> reg.models(), [v.version for v in reg.versions("churn")], reg.models(limit=1, offset=1)
        (['churn', 'fraud'], [1, 2], ['fraud'])
        """
        limit, offset = check_page(limit, offset)
        names = model_names(self.storage)
        page = names[offset:] if limit is None else names[offset : offset + limit]
        return NameList(page, lambda name: {"versions": self._cache.last_version(name)})

    def _latest(self, name: str) -> int:
        last = self._cache.last_version(name)
        if last == 0:
            raise NotFoundError(self._no_model(name))
        archived = self._cache.read(name, lambda state: set(state.archived) if state.archived else None)
        if not archived:
            return last
        for version in range(last, 0, -1):
            if version not in archived:
                return version
        raise NotFoundError(
            f"Every version of model {name!r} (1 to {last}) is archived; ask for one by number "
            f"('{name}:{last}') or restore one with registry.restore({name!r}, version)."
        )

    def _artifact(self, mv: ModelVersion, digest: str, what: str) -> bytes:
        try:
            return self.storage.get_blob(digest)
        except NotFoundError:
            raise NotFoundError(
                f"The {what} of {mv} (sha256 {digest}) is missing from {self.storage.url}; it was "
                "deleted from the storage. Restore it from a backup."
            ) from None
        except IntegrityError as exc:
            raise IntegrityError(
                f"The {what} of {mv} does not match its recorded sha256 {digest}: it was modified or "
                f"corrupted in {self.storage.url}. Nothing was deserialized."
            ) from exc


def _put_blob(storage: Storage, data: bytes) -> str:
    # The bytes are in memory already: put_blob stores them directly, where blob_writer
    # would stage them in a temporary file first. (Writing a blob leaves what the process
    # knows of the logs alone: only overwriting a log entry does not.)
    return storage.put_blob(data)


def _parse(ref: object) -> ModelRef:
    if isinstance(ref, ModelVersion):
        return ModelRef(ref.name, ref.version)
    return parse_ref(ref)


def _signature_and_example(model: Any, example: Any) -> tuple[Signature | None, bytes | None]:
    if example is None:
        return None, None
    from mlops_kit.core.dtypes import check_frame

    example = check_frame(example, "input_example")
    signature = infer_signature(model, example)
    buffer = io.BytesIO()
    try:
        example.to_parquet(buffer)
    except (ValueError, TypeError, ImportError) as exc:  # pyarrow's errors derive from these
        raise SchemaError(f"Cannot store the input example as Parquet: {exc}") from exc
    return signature, buffer.getvalue()
