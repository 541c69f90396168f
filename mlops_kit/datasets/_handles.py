"""Content fingerprints of lazy pyarrow handles, for caches (imports pyarrow only when called)."""

from __future__ import annotations

from typing import Any

__all__ = ["fingerprint_of"]


def fingerprint_of(data: Any) -> str:
    """The content fingerprint of a pyarrow ``Table`` or ``Dataset``, never loading a dataset whole.

    A dataset made by :meth:`Dataset.to_arrow <mlops_kit.Dataset.to_arrow>` (and not
    filtered since) is identified by its version's fingerprint and its schema; any other
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
    from mlops_kit.datasets._lazy import version_of

    if isinstance(data, pa.Table):
        data = pads.dataset(data)
    version = version_of(data)
    if version is not None and not getattr(data, "_scan_options", None):
        return hashlib.sha256(f"version:{version.fingerprint}:{data.schema}".encode()).hexdigest()
    hasher = ContentHasher(data.schema)
    for batch in data.to_batches():
        hasher.update(batch)
    return hasher.hexdigest(stored_index(data.schema) or range_index(hasher.rows))
