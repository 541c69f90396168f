"""Reading stored Parquet blobs lazily: a pyarrow dataset and a Dask DataFrame over them.

The blobs are a dataset version's parts, or any list of parts (a pipeline step's
stored output). Both readers go through the storage's blob API, so every blob is
verified against its digest when it is opened, on any backend. The trade-off of "lazy
but verified": a blob is hashed as a whole before any of its bytes are used, so one
blob (one part, at most ``part_rows`` rows) is held in memory per open file, and a
column read still costs reading the whole part once. Nothing is read before a scan
asks for it, provided the schema is known (a version reads its first blob's schema).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from mlops_kit.core.extras import require
from mlops_kit.core.storage.blobs import view_blob

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as pads

    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets._records import DatasetPart, DatasetVersion

__all__ = [
    "BlobHandler",
    "arrow_over_parts",
    "content_of",
    "dask_over_parts",
    "read_part",
    "to_arrow",
    "to_dask",
    "version_of",
]

_SUFFIX = ".parquet"


class BlobHandler(pafs.FileSystemHandler):  # type: ignore[misc]  # pyarrow ships no stubs
    """A read-only pyarrow file system whose files are verified blobs.

    ``identity`` names what the blobs hold as a whole (``"version:<fingerprint>"``,
    ``"parts:<fingerprint>"``), so a cache can fingerprint an unfiltered dataset over
    them without reading; ``version`` is the dataset version they belong to, if any.
    """

    def __init__(
        self,
        storage: Storage,
        parts: Sequence[DatasetPart],
        identity: str,
        version: DatasetVersion | None = None,
    ) -> None:
        self.storage = storage
        self.parts = tuple(parts)
        self.identity = identity
        self.version = version
        self.sizes = {p.blob + _SUFFIX: p.size_bytes for p in self.parts}

    def __reduce__(self) -> tuple[Any, ...]:
        return (BlobHandler, (self.storage, self.parts, self.identity, self.version))

    def get_type_name(self) -> str:
        return "mlops-kit-blobs"

    def normalize_path(self, path: str) -> str:
        return path

    def equals(self, other: Any) -> bool:
        return isinstance(other, BlobHandler) and (other.storage, other.parts, other.identity) == (
            self.storage,
            self.parts,
            self.identity,
        )

    def _info(self, path: str) -> pafs.FileInfo:
        if path in self.sizes:
            return pafs.FileInfo(path, pafs.FileType.File, size=self.sizes[path])
        return pafs.FileInfo(path, pafs.FileType.NotFound)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return [self._info(p) for p in paths]

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return [self._info(p) for p in self.sizes]

    def open_input_file(self, path: str) -> pa.NativeFile:
        if path not in self.sizes:
            raise FileNotFoundError(f"{path} is not one of the blobs of {self.identity}")
        return pa.BufferReader(pa.py_buffer(view_blob(self.storage, path.removesuffix(_SUFFIX))))  # verified

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self.open_input_file(path)

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("Stored blobs are immutable: this blob file system is read-only.")

    create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _read_only
    delete_file = move = copy_file = open_output_stream = open_append_stream = _read_only


def arrow_over_parts(
    storage: Storage,
    parts: Sequence[DatasetPart],
    schema: pa.Schema,
    identity: str,
    version: DatasetVersion | None = None,
) -> pads.Dataset:
    """A lazy ``pyarrow.dataset.Dataset`` over Parquet ``parts`` (in row order) of a known schema."""
    import pyarrow.dataset as pads

    filesystem = pafs.PyFileSystem(BlobHandler(storage, parts, identity, version))
    paths = [p.blob + _SUFFIX for p in parts]
    return pads.dataset(paths, schema=schema, format="parquet", filesystem=filesystem)


def to_arrow(storage: Storage, version: DatasetVersion) -> pads.Dataset:
    """A lazy ``pyarrow.dataset.Dataset`` over ``version``'s blobs, in row order."""
    schema = _arrow_schema(storage, version)
    return arrow_over_parts(storage, version.blobs, schema, f"version:{version.fingerprint}", version)


def _handler(dataset: Any) -> BlobHandler | None:
    filesystem = getattr(dataset, "filesystem", None)
    handler = getattr(filesystem, "handler", None)
    return handler if isinstance(handler, BlobHandler) else None


def version_of(dataset: Any) -> DatasetVersion | None:
    """The version a dataset made by :func:`to_arrow` reads (``None`` for any other dataset)."""
    handler = _handler(dataset)
    return None if handler is None else handler.version


def content_of(dataset: Any) -> str | None:
    """What the blobs under a dataset hold as a whole (``None`` for a dataset over anything else)."""
    handler = _handler(dataset)
    return None if handler is None else handler.identity


def _arrow_schema(storage: Storage, version: DatasetVersion) -> pa.Schema:
    import pyarrow.parquet as pq

    return pq.read_schema(pa.BufferReader(pa.py_buffer(view_blob(storage, version.blobs[0].blob))))


def read_part(digest: str, storage: Storage, columns: list[str] | None = None) -> pd.DataFrame:
    """One blob's rows as pandas, verified."""
    import pyarrow.parquet as pq

    with storage.open_blob(digest) as file:
        frame: pd.DataFrame = pq.read_table(file, columns=columns).to_pandas()
    return frame


def dask_over_parts(
    storage: Storage, digests: Sequence[str], meta: pd.DataFrame, columns: list[str] | None = None
) -> Any:
    """A Dask DataFrame with one partition per Parquet blob, each verified when a worker reads it."""
    dd = require("dask.dataframe", extra="dask", purpose="a Dask DataFrame over stored blobs")
    if columns is not None:
        meta = meta[columns]
    read = functools.partial(read_part, storage=storage, columns=columns)
    return dd.from_map(read, list(digests), meta=meta, enforce_metadata=False, label="mlops-kit-dataset")


def to_dask(storage: Storage, version: DatasetVersion, columns: list[str] | None = None) -> Any:
    """A Dask DataFrame with one partition per blob of ``version``."""
    require("dask.dataframe", extra="dask", purpose="Dataset.to_dask")
    meta = _arrow_schema(storage, version).empty_table().to_pandas()
    return dask_over_parts(storage, [p.blob for p in version.blobs], meta, columns)
