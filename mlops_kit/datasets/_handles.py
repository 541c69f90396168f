"""Content fingerprints of lazy pyarrow handles, for caches (imports pyarrow only when called)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as pads

    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets._partitioned import StoredParts
    from mlops_kit.datasets._records import DatasetPart

__all__ = ["arrow_over_parts", "dask_over_parts", "fingerprint_of", "store_parts"]


def fingerprint_of(data: Any) -> str:
    """The content fingerprint of a pyarrow ``Table`` or ``Dataset``, never loading a dataset whole.

    A dataset made by :meth:`Dataset.to_arrow <mlops_kit.Dataset.to_arrow>`, or loaded
    from a pipeline's cache, (and not filtered since) is identified by its stored
    fingerprint and its schema; any other
    is hashed batch by batch as a streamed save is (its rows numbered across files), so
    its fingerprint is the one :meth:`Dataset.save <mlops_kit.Dataset.save>` would give it.

    Examples
    --------
    >>> import pyarrow as pa
    >>> import pyarrow.dataset as pads
    >>> t = pa.table({"x": [1, 2, 3]})
    >>> fingerprint_of(pads.dataset(t)) == fingerprint_of(t)
    True
    """
    import hashlib

    import pyarrow as pa
    import pyarrow.dataset as pads

    from mlops_kit.datasets._fingerprint import ContentHasher, range_index, stored_index
    from mlops_kit.datasets._lazy import content_of

    if isinstance(data, pa.Table):
        data = pads.dataset(data)
    identity = content_of(data)
    if identity is not None and not getattr(data, "_scan_options", None):
        return hashlib.sha256(f"{identity}:{data.schema}".encode()).hexdigest()
    hasher = ContentHasher(data.schema)
    # A threaded scan runs ahead of a slower consumer (the hasher) without bound: that, not
    # the data, would set the peak. One thread reading two batches ahead keeps it flat.
    for batch in data.to_batches(batch_readahead=2, fragment_readahead=1, use_threads=False):
        hasher.update(batch)
    return hasher.hexdigest(stored_index(data.schema) or range_index(hasher.rows))


# For the pipeline block, which stores a step's lazy outputs as parts: the readers and the
# writer, importing pyarrow only when called.


def store_parts(storage: Storage, tables: Iterator[pa.Table], part_rows: int) -> StoredParts:
    """Store ``tables`` as Parquet parts, hashed but not profiled (see ``_partitioned.store_parts``)."""
    from mlops_kit.datasets._partitioned import store_parts as store

    return store(storage, tables, part_rows)


def arrow_over_parts(
    storage: Storage, parts: Sequence[DatasetPart], schema: pa.Schema, identity: str
) -> pads.Dataset:
    """A lazy pyarrow dataset over stored Parquet parts (see ``_lazy.arrow_over_parts``)."""
    from mlops_kit.datasets._lazy import arrow_over_parts as over

    return over(storage, parts, schema, identity)


def dask_over_parts(storage: Storage, digests: Sequence[str], meta: pd.DataFrame) -> Any:
    """A Dask DataFrame over stored Parquet parts (see ``_lazy.dask_over_parts``)."""
    from mlops_kit.datasets._lazy import dask_over_parts as over

    return over(storage, digests, meta)
