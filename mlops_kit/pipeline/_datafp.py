"""Typed content fingerprints of step inputs and outputs.

A fingerprint is a sha256 hex digest that changes whenever the value's type, shape,
dtypes, column names, index or content change. Two values with equal content but
different types (``1`` and ``1.0``, an ``int64`` and an ``int32`` column) get
different fingerprints, so a cache never hands back a result computed from
different data. A Dask DataFrame or Series is hashed by content where it lives: one
task per partition returns the digest of its rows (the pandas rule below), and the
digests, in partition order, are combined with the meta; only digests reach this
process. Values with no typed rule are fingerprinted through their
cloudpickle bytes; a value that cannot be pickled has no fingerprint (``None``),
and the step that sees it is not cached.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from typing import Any

__all__ = ["compute", "fingerprint"]

_MAX_DEPTH = 50


def fingerprint(value: Any) -> str | None:
    """The fingerprint of ``value``, or ``None`` if it cannot be fingerprinted.

    Examples
    --------
    >>> fingerprint(1) == fingerprint(1.0)
    False
    >>> fingerprint([1, "a"]) == fingerprint([1, "a"])
    True
    """
    h = hashlib.sha256()
    try:
        _feed(h, value, 0)
    except _Unfingerprintable:
        return None
    return h.hexdigest()


class _Unfingerprintable(Exception):
    pass


def _type_tag(value: Any) -> bytes:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}\0".encode()


def _feed(h: Any, value: Any, depth: int) -> None:
    cls = type(value)
    if value is None or cls is bool:
        h.update(b"c:%r\0" % value)
    elif cls is int:
        h.update(b"i:%d\0" % value)
    elif cls is float:
        h.update(b"f:" + struct.pack("<d", value))
    elif cls is str:
        data = value.encode("utf-8", "surrogatepass")
        h.update(b"s:%d:" % len(data) + data)
    elif cls is bytes:
        h.update(b"b:%d:" % len(value) + value)
    elif depth > _MAX_DEPTH:
        _pickled(h, value)
    elif cls is list or cls is tuple:
        h.update(b"%s[%d\0" % (cls.__name__.encode(), len(value)))
        for item in value:
            _feed(h, item, depth + 1)
    elif cls is dict:
        h.update(b"d{%d\0" % len(value))
        for key, item in value.items():  # insertion order counts: code may iterate it
            _feed(h, key, depth + 1)
            _feed(h, item, depth + 1)
    elif cls is set or cls is frozenset:
        parts = sorted(fingerprint(item) or _fail() for item in value)
        h.update(b"%s{%d\0" % (cls.__name__.encode(), len(parts)) + "".join(parts).encode())
    elif not _typed(h, value):
        _pickled(h, value)


def _fail() -> str:
    raise _Unfingerprintable


def _typed(h: Any, value: Any) -> bool:
    """Feed values of known library types; return False for anything else."""
    module = type(value).__module__.partition(".")[0]
    if module == "numpy":
        return _numpy(h, value)
    if module == "pandas":
        return _pandas(h, value)
    if module == "dask" and hasattr(value, "map_partitions") and hasattr(value, "divisions"):
        return _dask(h, value)
    if module == "pyarrow" and (hasattr(value, "get_fragments") or hasattr(value, "num_rows")):
        return _arrow(h, value)
    if "pydantic" in sys.modules:
        from pydantic import BaseModel

        if isinstance(value, BaseModel):
            try:
                h.update(_type_tag(value) + value.model_dump_json().encode())
            except Exception:  # unserializable field: fall back to pickling
                return False
            return True
    return False


def _numpy(h: Any, value: Any) -> bool:
    import numpy as np

    if isinstance(value, np.ndarray) and not value.dtype.hasobject:
        array = np.ascontiguousarray(value)
        h.update(b"ndarray:%s:%r\0" % (array.dtype.str.encode(), array.shape))
        h.update(array.reshape(-1).view(np.uint8).data)  # bytes view: works for datetimes too
        return True
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        h.update(b"npscalar:%s\0" % value.dtype.str.encode() + value.tobytes())
        return True
    return False


def _pandas(h: Any, value: Any) -> bool:
    import pandas as pd

    header: tuple[Any, ...]
    if isinstance(value, pd.DataFrame):
        header = (
            value.shape,
            list(value.columns),
            [repr(t) for t in value.dtypes],
            _index_header(value.index),
        )
    elif isinstance(value, pd.Series):
        header = (value.shape, value.name, repr(value.dtype), _index_header(value.index))
    else:
        return False
    try:
        rows = pd.util.hash_pandas_object(value, index=True, categorize=True).to_numpy()
    except (TypeError, ValueError):  # unhashable cells (lists, dicts): fall back to pickling
        return False
    h.update(_type_tag(value) + repr(header).encode() + b"\0")
    h.update(rows.tobytes())
    return True


def _arrow(h: Any, value: Any) -> bool:
    """A pyarrow table or dataset by content; a stored version's lazy dataset by its fingerprint."""
    import pyarrow as pa

    from mlops_kit.datasets import fingerprint_of

    if not isinstance(value, pa.Table) and not hasattr(value, "get_fragments"):
        return False  # record batches, arrays, ...: pickled
    h.update(_type_tag(value) + fingerprint_of(value).encode())
    return True


def _dask(h: Any, value: Any) -> bool:
    """A Dask DataFrame or Series by its partitions' digests, each computed where the partition is."""
    import pandas as pd

    meta = fingerprint(value._meta)
    if meta is None:
        return False
    try:
        digests = compute(
            value.map_partitions(_partition_digest, meta=pd.Series([], dtype=object, name="fp"))
        )
    except Exception as exc:  # a partition that fails to compute: the step that reads it fails, uncached
        raise _Unfingerprintable from exc
    if any(not d for d in digests.tolist()):
        raise _Unfingerprintable
    h.update(_type_tag(value) + f"{meta}:{value.npartitions}:{value.divisions!r}\0".encode())
    h.update("".join(digests.tolist()).encode())
    return True


def _partition_digest(frame: Any) -> Any:
    """One partition's fingerprint, as a one-row Series (runs where the partition is)."""
    import pandas as pd

    return pd.Series([fingerprint(frame) or ""], dtype=object, name="fp")


def compute(collection: Any) -> Any:
    """Compute a Dask collection on the scheduler in use; from inside a Dask task, without a deadlock.

    A task that waits for tasks it submits holds a worker thread: ``worker_client``
    gives it back to the pool while waiting.
    """
    if "distributed" in sys.modules:
        import distributed

        try:
            distributed.get_worker()
        except ValueError:  # not in a task: the default scheduler (a client if one is current)
            pass
        else:
            with distributed.worker_client() as client:
                return client.compute(collection).result()
    return collection.compute()


def _index_header(index: Any) -> tuple[Any, ...]:
    return (
        type(index).__name__,
        list(index.names),
        [repr(t) for t in getattr(index, "dtypes", [index.dtype])],
    )


def _pickled(h: Any, value: Any) -> None:
    import cloudpickle

    try:
        data = cloudpickle.dumps(value, protocol=5)
    except Exception as exc:  # any failure to pickle means "no fingerprint"
        raise _Unfingerprintable from exc
    h.update(b"pickle:" + _type_tag(value) + data)
