"""Datasets: immutable, content-fingerprinted versions of a DataFrame, stored as Parquet."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import StorageLike, check_description, check_page, check_tags, check_version
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock, current_user
from mlops_kit.core.dtypes import check_frame
from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.core.listing import NameList, RecordList
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.core.storage.catalog import Catalog
from mlops_kit.core.storage.logs import read_page
from mlops_kit.core.storage.logstate import Fold, LogState
from mlops_kit.datasets._origin import origin_of, remember
from mlops_kit.datasets._records import DatasetLink, DatasetVersion

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as pads

    from mlops_kit.core.profile import Profile
    from mlops_kit.core.schema import Schema
    from mlops_kit.core.storage import Storage

__all__ = ["Dataset"]

_PREFIX = "datasets"
PART_ROWS = 1 << 19  # rows per Parquet blob of a streamed save: ~5-50 MB for 10 columns


class Dataset:
    """A named, versioned DataFrame in a storage.

    Every :meth:`save` appends an immutable version (1, 2, ...) holding the data as
    Parquet, its schema, profile and lineage. Saving content identical to the
    latest version returns that version instead of a duplicate. Concurrent savers
    never lose or overwrite a version.

    Parameters
    ----------
    name : str
        The dataset's name (letters, digits, '.', '_', '-').
    storage : Storage, str or None
        Where versions live; default ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
    clock : Clock, optional
        Source of ``created_at`` timestamps (a ``FakeClock`` in tests).

    Examples
    --------
    >>> import pandas as pd
    >>> import mlops_kit as mk
    >>> ds = mk.Dataset("churn", storage=mk.MemoryStorage())
    >>> v1 = ds.save(pd.DataFrame({"age": [31, 45], "churned": [0, 1]}), tags={"source": "crm"})
    >>> v1.version, v1.n_rows, v1.schema.names
    (1, 2, ['age', 'churned'])
    >>> ds.save(pd.DataFrame({"age": [31, 45], "churned": [0, 1]})).version  # same content
    1
    >>> ds.save(pd.DataFrame({"age": [52], "churned": [1]}), parents=[v1]).version
    2
    >>> ds.load(version=1)
       age  churned
    0   31        0
    1   45        1
    """

    def __init__(self, name: str, storage: StorageLike = None, *, clock: Clock | None = None) -> None:
        self.name = check_name(name, "dataset name")
        self.storage = resolve_storage(storage)
        self.clock = clock or SYSTEM_CLOCK
        self._log = f"{_PREFIX}/{self.name}/versions"

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, storage={self.storage!r})"

    @staticmethod
    def names(storage: StorageLike = None) -> NameList:
        """The names of the datasets that have at least one version in ``storage``, sorted.

        Read from the storage's catalog of datasets, not by listing it.

        ``.to_frame()`` adds each one's latest version, rows, columns and creation time.

        Examples
        --------
        >>> import pandas as pd
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> _ = mk.Dataset("churn", storage=store).save(pd.DataFrame({"x": [1, 2, 3]}))
        >>> mk.Dataset.names(store).to_frame()
            name  version  n_rows  n_columns                       created_at
        0  churn        1       3          1 ...
        """
        store = resolve_storage(storage)

        def latest(name: str) -> dict[str, Any]:
            v = Dataset(name, store).latest()
            return {
                "version": v.version,
                "n_rows": v.n_rows,
                "n_columns": v.n_columns,
                "created_at": v.created_at,
            }

        return NameList(Catalog(store, _PREFIX, "versions").names(), latest)

    # -- writing -------------------------------------------------------------------

    def save(
        self,
        df: Any,
        *,
        tags: dict[str, str] | None = None,
        description: str = "",
        parents: Iterable[DatasetVersion | DatasetLink] = (),
        part_rows: int = PART_ROWS,
    ) -> DatasetVersion:
        """Store ``df`` as a new version, unless it equals the latest one.

        The comparison is made at the position the new version would take in the log,
        so processes saving the same data at the same time make one version, and each
        gets that version back. Content equal to an *older* version makes a new version
        (``latest()`` then holds what was saved last); its bytes are stored once.

        Data larger than memory is streamed, ``part_rows`` rows at a time, and stored
        as several Parquet blobs (``version.parts``); its fingerprint is the one the
        same rows would have as one DataFrame with a default index (see
        ``docs/datasets.md``), so the same content saved either way is one version.

        Parameters
        ----------
        df : pandas.DataFrame, pyarrow.dataset.Dataset, str, Path, iterable of DataFrames or Dask DataFrame
            The data. Column names must be unique strings; column types int, float,
            bool, string, category or datetime (with or without time zone). A ``str``
            or ``Path`` is a folder of Parquet files (every ``*.parquet`` under it,
            sorted by path) or a glob.
        tags : dict of str to str, optional
            Free-form labels (``{"source": "crm"}``).
        description : str
            A sentence about this version.
        parents : iterable of DatasetVersion
            The versions this one was derived from (lineage).
        part_rows : int
            The most rows per Parquet blob of a streamed save (a DataFrame is one blob).

        Returns
        -------
        DatasetVersion
            The new version, or the latest one if its content is identical.

        Raises
        ------
        SchemaError
            If ``df`` is not a DataFrame or holds an unsupported column type; if the
            files of a folder, the pieces of an iterable or the partitions of a Dask
            DataFrame disagree on their schema (or dtypes against the frame's meta);
            if an iterable is empty or yields something else than DataFrames. No
            version is recorded (blobs already written stay, unreferenced).
        ConfigError
            If ``tags``, ``description`` or ``parents`` is of the wrong type.
        InvalidNameError
            If a tag key breaks the name rule. Nothing is written in either case.
        """
        import pyarrow.parquet as pq

        from mlops_kit.core.profile import Profile
        from mlops_kit.core.schema import Schema
        from mlops_kit.datasets._fingerprint import content_fingerprint
        from mlops_kit.datasets._sources import is_streamed

        tags = check_tags(tags)
        description = check_description(description)
        links = [_as_link(p) for p in parents]
        if is_streamed(df):
            return self._save_streamed(df, tags, description, links, part_rows)
        df = check_frame(df, "the data to save")
        schema = Schema.infer(df)  # also rejects unsupported column types early
        table = _to_arrow(df)
        with ThreadPoolExecutor(1) as pool:
            # Encoding Parquet runs in C++ without the GIL; hash and profile meanwhile.
            written = pool.submit(self._write_blob, pq, table)
            try:
                fingerprint = content_fingerprint(table)
                profile = Profile.of(df)
            finally:
                blob, size = written.result()
        del table

        content = {"fingerprint": fingerprint, "blob": blob, "size_bytes": size, "n_rows": len(df)}
        return self._commit(content, schema, profile, tags, description, links)

    def _save_streamed(
        self,
        data: Any,
        tags: dict[str, str],
        description: str,
        links: list[DatasetLink],
        part_rows: int,
    ) -> DatasetVersion:
        from mlops_kit.datasets._partitioned import write_parts
        from mlops_kit.datasets._sources import stream_tables

        if isinstance(part_rows, bool) or not isinstance(part_rows, int) or part_rows < 1:
            raise ConfigError(f"part_rows must be a positive integer, got {part_rows!r}.")
        written = write_parts(self.storage, stream_tables(data), part_rows)
        content = {
            "fingerprint": written.fingerprint,
            "blob": "",
            "parts": tuple(written.parts),
            "size_bytes": sum(p.size_bytes for p in written.parts),
            "n_rows": written.n_rows,
        }
        return self._commit(content, written.schema, written.profile, tags, description, links)

    def _commit(
        self,
        content: dict[str, Any],
        schema: Schema,
        profile: Profile,
        tags: dict[str, str],
        description: str,
        links: list[DatasetLink],
    ) -> DatasetVersion:
        """Append the version record (the commit point), unless the latest holds this content."""
        state = self._state()
        fingerprint = content["fingerprint"]

        def make(index: _Index) -> DatasetVersion | None:
            if index.versions and index.versions[-1].fingerprint == fingerprint:
                return None  # the latest version holds this content (perhaps a concurrent saver's)
            return DatasetVersion(
                name=self.name,
                version=state.tail + 1,  # make() runs caught up: the number it will take
                **content,
                n_columns=len(schema.columns),
                schema_=schema,
                profile=profile,
                tags=tags,
                description=description,
                parents=links,
                created_at=self.clock.now(),
                created_by=current_user(),
            )

        # The blob is stored before the record that points to it: a crash in between
        # leaves an unreferenced blob, never a visible half-version. make() runs on the
        # versions just before its own position, so identical content saved at the same
        # time by many processes becomes one version.
        appended = Catalog(self.storage, _PREFIX, "versions").add(self.name, lambda: state.append(make))
        if appended is None:
            return remember(state.read(lambda index: index.versions[-1]), self.storage)
        return remember(appended[1], self.storage)

    def _write_blob(self, pq: Any, table: pa.Table) -> tuple[str, int]:
        with self.storage.staged_blob() as staged:
            pq.write_table(table, staged.path)
        return staged.digest, staged.size

    # -- reading -------------------------------------------------------------------

    @staticmethod
    def storage_of(version: DatasetVersion) -> Storage | None:
        """The storage this process saved ``version`` to or read it from (``None`` if unknown).

        The version record itself stays frozen and storage-free; this is how a
        :class:`~mlops_kit.Monitor` given only a version finds its raw data.

        Examples
        --------
        >>> import pandas as pd
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> v = mk.Dataset("d", storage=store).save(pd.DataFrame({"x": [1, 2]}))
        >>> mk.Dataset.storage_of(v) is store
        True
        """
        return origin_of(version)

    def versions(
        self, *, limit: int | None = None, offset: int = 0, newest_first: bool = False
    ) -> RecordList[DatasetVersion]:
        """The versions, oldest first (``newest_first`` reverses); a page with ``limit`` and ``offset``.

        ``.to_frame()`` tabulates them.

        Examples
        --------
        >>> import mlops_kit as mk, pandas as pd
        >>> ds = mk.Dataset("d", mk.MemoryStorage())
        >>> for n in range(3):
        ...     _ = ds.save(pd.DataFrame({"x": [n]}))
        >>> [v.version for v in ds.versions(limit=2, newest_first=True)], [v.version for v in ds.versions(offset=2)]
        ([3, 2], [3])
        """
        limit, offset = check_page(limit, offset)
        if limit is None and offset == 0:
            found = self._state().read(lambda index: list(index.versions))
        else:
            page = read_page(
                self.storage, self._log, DatasetVersion, limit=limit, offset=offset, newest_first=newest_first
            )
            found, newest_first = [e.record for e in page], False
        return RecordList(remember(v, self.storage) for v in (found[::-1] if newest_first else found))

    def latest(self) -> DatasetVersion:
        """The newest version.

        Raises
        ------
        NotFoundError
            If the dataset has no version yet.
        """
        latest = self._latest_or_none()
        if latest is None:
            raise NotFoundError(self._missing_message())
        return remember(latest, self.storage)

    def get(self, version: int | None = None) -> DatasetVersion:
        """One version's record (``None`` for the latest), without loading the data.

        Raises
        ------
        InvalidNameError
            If ``version`` is not a positive integer (``0``, ``True``, ``"2"``).
        NotFoundError
            If the version does not exist; the message lists the versions that do.
        """
        if version is None:
            return self.latest()
        version = check_version(version, "dataset version")
        try:
            return remember(self.storage.read_entry(self._log, version, DatasetVersion), self.storage)
        except NotFoundError:
            raise NotFoundError(self._missing_message(version)) from None

    def load(self, version: int | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Load a version's data (the latest by default), verifying its hash first.

        Parameters
        ----------
        version : int, optional
            The version to load; the latest by default.
        columns : list of str, optional
            Load only these columns.

        Raises
        ------
        InvalidNameError
            If ``version`` is not a positive integer.
        NotFoundError
            If the version does not exist.
        SchemaError
            If a requested column does not exist.
        IntegrityError
            If the stored bytes do not match the recorded hash.
        """
        import pandas as pd

        record = self.get(version)
        if columns is not None:
            self._check_columns(record, columns)
        if not record.parts:
            with self.storage.open_blob(record.blob) as file:
                return pd.read_parquet(file, columns=columns)
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for part in record.parts:
            with self.storage.open_blob(part.blob) as file:
                tables.append(pq.read_table(file, columns=columns))
        frame: pd.DataFrame = pa.concat_tables(tables).to_pandas()
        return frame

    def to_arrow(self, version: int | None = None) -> pads.Dataset:
        """A lazy ``pyarrow.dataset.Dataset`` over a version's Parquet blobs (the latest by default).

        Nothing is read until it is scanned; each blob is then read through the storage
        and verified against its digest before pyarrow sees a byte (``IntegrityError``
        otherwise), one blob in memory per open file.

        Examples
        --------
        >>> import pandas as pd
        >>> import mlops_kit as mk
        >>> ds = mk.Dataset("d", storage=mk.MemoryStorage())
        >>> v = ds.save(iter([pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]})]), part_rows=2)
        >>> len(v.parts), ds.to_arrow().to_table().column("x").to_pylist()
        (2, [1, 2, 3])
        """
        from mlops_kit.datasets._lazy import to_arrow

        return to_arrow(self.storage, self.get(version))

    def to_dask(self, version: int | None = None, columns: list[str] | None = None) -> Any:
        """A Dask DataFrame over a version (one partition per blob), each blob verified when read.

        Needs the ``dask`` extra.
        """
        from mlops_kit.datasets._lazy import to_dask

        record = self.get(version)
        if columns is not None:
            self._check_columns(record, columns)
        return to_dask(self.storage, record, columns)

    @staticmethod
    def _check_columns(record: DatasetVersion, columns: list[str]) -> None:
        unknown = [c for c in columns if c not in record.schema_.columns]
        if unknown:
            raise SchemaError(f"Dataset {record} has no columns {unknown}; it has {record.schema_.names}.")

    def _state(self) -> LogState[_Index, DatasetVersion]:
        return LogState.shared(self.storage, self._log, _VERSIONS)

    def _latest_or_none(self) -> DatasetVersion | None:
        return self._state().read(lambda index: index.versions[-1] if index.versions else None)

    def _missing_message(self, version: int | None = None) -> str:
        known = [v.version for v in self.versions()]
        if not known:
            others = self.names(self.storage)
            listing = (
                f"datasets in {self.storage.url}: {others}"
                if others
                else f"{self.storage.url} has no datasets"
            )
            return f"Dataset {self.name!r} has no versions; {listing}."
        return f"Dataset {self.name!r} has no version {version}; versions are {_ranges(known)}."


@dataclass
class _Index:
    """The fold of a dataset's versions log: every version, oldest first."""

    versions: list[DatasetVersion] = field(default_factory=list)


def _add(index: _Index, seq: int, version: DatasetVersion) -> _Index:
    index.versions.append(version)
    return index


_VERSIONS: Fold[_Index, DatasetVersion] = Fold("dataset-versions", DatasetVersion, initial=_Index, apply=_add)


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(df)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise SchemaError(f"Cannot store this DataFrame as Parquet: {exc}") from exc


def _as_link(parent: object) -> DatasetLink:
    if isinstance(parent, DatasetVersion):
        return parent.link
    if isinstance(parent, DatasetLink):
        return parent
    raise ConfigError(
        f"Parents must be DatasetVersion or DatasetLink objects, got {type(parent).__name__}; "
        "pass what Dataset.save or Dataset.get returned."
    )


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``'1-3, 5'``."""
    parts, start = [], numbers[0]
    for prev, cur in zip(numbers, [*numbers[1:], None], strict=True):
        if cur != prev + 1:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = cur  # type: ignore[assignment]
    return ", ".join(parts)
