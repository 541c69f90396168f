"""Reading a version's blobs lazily: a pyarrow dataset and a Dask DataFrame over them.

Both read through the storage's blob API, so every blob is verified against its digest
when it is opened, on any backend. The trade-off of "lazy but verified": a blob is
hashed as a whole before any of its bytes are used, so one blob (one part, at most
``part_rows`` rows) is held in memory per open file, and a column read still costs
reading the whole part once. Nothing is read before a scan asks for it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from mlops_kit.core.extras import require
from mlops_kit.core.storage.blobs import view_blob

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as pads

    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets._records import DatasetVersion

__all__ = ["BlobHandler", "read_part", "to_arrow", "to_dask", "version_of"]

_SUFFIX = ".parquet"


class BlobHandler(pafs.FileSystemHandler):  # type: ignore[misc]  # pyarrow ships no stubs
    """A read-only pyarrow file system whose files are one version's verified blobs."""

    def __init__(self, storage: Storage, version: DatasetVersion) -> None:
        self.storage = storage
        self.version = version
        self.sizes = {p.blob + _SUFFIX: p.size_bytes for p in version.blobs}

    def __reduce__(self) -> tuple[Any, ...]:
        return (BlobHandler, (self.storage, self.version))

    def get_type_name(self) -> str:
        return "mlops-kit-blobs"

    def normalize_path(self, path: str) -> str:
        return path

    def equals(self, other: Any) -> bool:
        return isinstance(other, BlobHandler) and (other.storage, other.version) == (
            self.storage,
            self.version,
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
            raise FileNotFoundError(f"{path} is not a blob of {self.version}")
        return pa.BufferReader(pa.py_buffer(view_blob(self.storage, path.removesuffix(_SUFFIX))))

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self.open_input_file(path)

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("A dataset version is immutable: its blob file system is read-only.")

    create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _read_only
    delete_file = move = copy_file = open_output_stream = open_append_stream = _read_only


def to_arrow(storage: Storage, version: DatasetVersion) -> pads.Dataset:
    """A lazy ``pyarrow.dataset.Dataset`` over ``version``'s blobs, in row order."""
    import pyarrow.dataset as pads

    filesystem = pafs.PyFileSystem(BlobHandler(storage, version))
    schema = _arrow_schema(storage, version)
    paths = [p.blob + _SUFFIX for p in version.blobs]
    return pads.dataset(paths, schema=schema, format="parquet", filesystem=filesystem)


def version_of(dataset: Any) -> DatasetVersion | None:
    """The version a dataset made by :func:`to_arrow` reads (``None`` for any other dataset)."""
    filesystem = getattr(dataset, "filesystem", None)
    handler = getattr(filesystem, "handler", None)
    return handler.version if isinstance(handler, BlobHandler) else None


def _arrow_schema(storage: Storage, version: DatasetVersion) -> pa.Schema:
    import pyarrow.parquet as pq

    return pq.read_schema(pa.BufferReader(pa.py_buffer(view_blob(storage, version.blobs[0].blob))))


def read_part(digest: str, storage: Storage, columns: list[str] | None = None) -> pd.DataFrame:
    """One blob's rows as pandas, verified."""
    import pyarrow.parquet as pq

    with storage.open_blob(digest) as file:
        frame: pd.DataFrame = pq.read_table(file, columns=columns).to_pandas()
    return frame


def to_dask(storage: Storage, version: DatasetVersion, columns: list[str] | None = None) -> Any:
    """A Dask DataFrame with one partition per blob of ``version``."""
    dd = require("dask.dataframe", extra="dask", purpose="Dataset.to_dask")
    schema = _arrow_schema(storage, version)
    meta = schema.empty_table().to_pandas()
    if columns is not None:
        meta = meta[columns]
    digests = [p.blob for p in version.blobs]
    read = functools.partial(read_part, storage=storage, columns=columns)
    return dd.from_map(read, digests, meta=meta, enforce_metadata=False, label="mlops-kit-dataset")
