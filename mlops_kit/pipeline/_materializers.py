"""Materializers: how a step's output is stored as a blob and read back.

Built in: pandas DataFrames as Parquet, numpy arrays as ``.npy``, JSON-able values
(``None``, booleans, numbers, strings, and lists/dicts of them) as JSON, lazy pyarrow
datasets and Dask DataFrames as Parquet parts (:mod:`mlops_kit.pipeline._lazy_outputs`),
and anything else with cloudpickle. Users register their own for a type; the most
specific registered type of a value (along its MRO) wins. A materializer that
cannot store a particular value (a DataFrame with non-string column names for
Parquet, say) hands over to the next candidate, and cloudpickle comes last.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
from typing import IO, TYPE_CHECKING, Any

from mlops_kit.core.errors import ConfigError, NotFoundError, PipelineError
from mlops_kit.pipeline._materializer_base import Materializer, StorageMaterializer

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.pipeline._records import OutputRecord

__all__ = [
    "STREAM_ABOVE",
    "JsonMaterializer",
    "Materializer",
    "NumpyMaterializer",
    "ParquetMaterializer",
    "PickleMaterializer",
    "StorageMaterializer",
    "candidates",
    "load_output",
    "materializer_named",
    "register_materializer",
]


STREAM_ABOVE = 32 << 20  # values above this many bytes stream through a temporary file


class ParquetMaterializer(Materializer):
    """pandas DataFrames as Parquet (portable, typed, compact).

    Frames with ``object`` columns holding anything but strings (mixed types,
    lists, Python objects) would not come back identical, so they are left to
    the next materializer.
    """

    name = "parquet"

    def accepts(self, value: Any) -> bool:
        from pandas.api.types import infer_dtype

        return all(
            infer_dtype(value.iloc[:, i], skipna=True) in ("string", "empty")
            for i, dtype in enumerate(value.dtypes)
            if dtype.kind == "O"
        )

    def save(self, value: Any, file: IO[bytes]) -> None:
        value.to_parquet(file)

    def load(self, file: IO[bytes]) -> Any:
        import pandas as pd

        return pd.read_parquet(file)


class NumpyMaterializer(Materializer):
    """numpy arrays (of non-object dtype) as ``.npy``."""

    name = "npy"

    def accepts(self, value: Any) -> bool:
        return not value.dtype.hasobject

    def save(self, value: Any, file: IO[bytes]) -> None:
        import numpy as np

        np.save(file, value, allow_pickle=False)

    def load(self, file: IO[bytes]) -> Any:
        import numpy as np

        return np.load(io.BytesIO(file.read()), allow_pickle=False)


class JsonMaterializer(Materializer):
    """``None``, booleans, numbers, strings, and lists/dicts (string keys) of them, as JSON."""

    name = "json"

    def accepts(self, value: Any) -> bool:
        return _is_json(value, 0)

    def save(self, value: Any, file: IO[bytes]) -> None:
        file.write(json.dumps(value, separators=(",", ":")).encode())

    def load(self, file: IO[bytes]) -> Any:
        return json.loads(file.read())


class PickleMaterializer(Materializer):
    """Anything cloudpickle can serialize: the fallback for every other value."""

    name = "cloudpickle"

    def save(self, value: Any, file: IO[bytes]) -> None:
        import cloudpickle

        cloudpickle.dump(value, file, protocol=5)

    def load(self, file: IO[bytes]) -> Any:
        import pickle

        return pickle.load(file)  # blobs are content-verified; records signed when a key is set


def _is_json(value: Any, depth: int) -> bool:
    cls = type(value)
    if value is None or cls in (bool, int, float, str):
        return True
    if depth > 100:
        return False
    if cls is list:
        return all(_is_json(item, depth + 1) for item in value)
    if cls is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())
    return False


_PICKLE = PickleMaterializer()
_lock = threading.Lock()
_by_type: dict[type, Materializer] = {}
_pending: dict[str, Materializer] = {}  # "module.Type" paths, resolved once their module is imported
_by_name: dict[str, Materializer] = {_PICKLE.name: _PICKLE}


def register_materializer(cls: type | str, materializer: Materializer) -> None:
    """Store outputs of type ``cls`` (and its subclasses) with ``materializer``.

    Parameters
    ----------
    cls : type or str
        The type, or its dotted import path (``"pandas.DataFrame"``), which is
        resolved once that package has been imported, so registering never
        imports a heavy library.
    materializer : Materializer
        The materializer. Its ``name`` must be unique; registering the same class
        of materializer again (for another type, or after re-running its definition) is fine.

    Raises
    ------
    ConfigError
        If the arguments have the wrong type, or another materializer class already
        uses the same ``name``.

    Examples
    --------
    >>> from fractions import Fraction
    >>> import mlops_kit as mk
    >>> class FractionMaterializer(Materializer):
    ...     name = "example-fraction"
    ...     def save(self, value, file):
    ...         file.write(str(value).encode())
    ...     def load(self, file):
    ...         return Fraction(file.read().decode())
    >>> register_materializer(Fraction, FractionMaterializer())
    >>> half = mk.step(lambda: Fraction(1, 2), name="half")
    >>> pipe, store = mk.Pipeline([half], name="fractions"), mk.MemoryStorage()
    >>> pipe.run(storage=store, progress=False).step("half").outputs["half"].materializer
    'example-fraction'
    >>> pipe.runs(store)[0].outputs["half"]  # loaded back by the materializer
    Fraction(1, 2)
    """
    if not isinstance(cls, type | str) or (isinstance(cls, str) and "." not in cls):
        raise ConfigError(f"Expected a type or a dotted type path like 'pkg.module.Class', got {cls!r}.")
    if not isinstance(materializer, Materializer) or not materializer.name:
        raise ConfigError(f"Expected a Materializer instance with a non-empty name, got {materializer!r}.")
    with _lock:
        known = _by_name.get(materializer.name)
        if known is not None and _class_path(known) != _class_path(materializer):
            raise ConfigError(
                f"A materializer named {materializer.name!r} is already registered ({known!r}); "
                "give yours a different name."
            )
        _by_name[materializer.name] = materializer
        portable = materializer.portable() if isinstance(materializer, StorageMaterializer) else None
        if portable is not None:
            _by_name.setdefault(portable.name, portable)
        if isinstance(cls, str):
            _pending[cls] = materializer
        else:
            _by_type[cls] = materializer


def _class_path(obj: object) -> str:
    # Re-running a class definition (a notebook cell) makes a new class object with the same path.
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def candidates(value: Any) -> list[Materializer]:
    """The materializers to try for ``value``, most specific first, cloudpickle last."""
    if _pending:
        _resolve_pending()
    found: list[Materializer] = []
    for klass in type(value).__mro__:
        materializer = _by_type.get(klass)
        if materializer is not None and materializer not in found and materializer.accepts(value):
            found.append(materializer)
    if _PICKLE not in found:
        found.append(_PICKLE)
    return found


def _resolve_pending() -> None:
    """Turn dotted paths into types once their top-level package is imported (never import it here)."""
    with _lock:
        for path, materializer in list(_pending.items()):
            module_name, _, attr = path.rpartition(".")
            if module_name.partition(".")[0] not in sys.modules:
                continue
            del _pending[path]
            try:
                cls = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError):
                continue  # a path that names nothing: ignore it, as if never registered
            if isinstance(cls, type):
                _by_type.setdefault(cls, materializer)


def materializer_named(name: str) -> Materializer:
    """The registered materializer called ``name``."""
    try:
        return _by_name[name]
    except KeyError:
        raise PipelineError(
            f"Stored output was written with materializer {name!r}, which is not registered in this "
            f"process (registered: {sorted(_by_name)}). Call register_materializer(...) before loading."
        ) from None


register_materializer("pandas.DataFrame", ParquetMaterializer())
register_materializer("numpy.ndarray", NumpyMaterializer())
for _json_type in (type(None), bool, int, float, str, list, dict):
    register_materializer(_json_type, JsonMaterializer())


def load_output(storage: Storage, ref: OutputRecord) -> Any:
    """Read a stored output back with the materializer that wrote it."""
    if ref.blob is None or ref.materializer is None:
        raise NotFoundError("This output was not stored.")
    materializer = materializer_named(ref.materializer)
    if isinstance(materializer, StorageMaterializer):
        return materializer.load_from(storage.get_blob(ref.blob), storage)
    if ref.size is not None and ref.size > STREAM_ABOVE:
        with storage.open_blob(ref.blob) as file:
            return materializer.load(file)
    return materializer.load(io.BytesIO(storage.get_blob(ref.blob)))
