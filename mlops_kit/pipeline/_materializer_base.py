"""The materializer interfaces: one blob per value, or many blobs and a manifest.

The built-in materializers and the registry that picks one for a value live in
:mod:`mlops_kit.pipeline._materializers`.
"""

from __future__ import annotations

import abc
from typing import IO, TYPE_CHECKING, Any, ClassVar

from mlops_kit.core.errors import PipelineError

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["Materializer", "StorageMaterializer"]


class Materializer(abc.ABC):
    """Stores one kind of value as bytes and reads it back.

    Subclasses set a unique ``name`` (it is recorded with every stored output, so
    the reading process must have registered the same materializer) and implement
    :meth:`save` and :meth:`load`.

    Examples
    --------
    >>> import io
    >>> from mlops_kit.pipeline import Materializer, register_materializer
    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> class PointMaterializer(Materializer):
    ...     name = "example-point"
    ...     def save(self, value, file):
    ...         file.write(f"{value.x},{value.y}".encode())
    ...     def load(self, file):
    ...         return Point(*map(float, file.read().split(b",")))
    >>> register_materializer(Point, PointMaterializer())
    >>> m = PointMaterializer()
    >>> buffer = io.BytesIO()
    >>> m.save(Point(1, 2), buffer)
    >>> m.load(io.BytesIO(buffer.getvalue())).y
    2.0
    """

    name: ClassVar[str] = ""

    def accepts(self, value: Any) -> bool:
        """Whether this materializer can store ``value`` (default: always)."""
        return True

    @abc.abstractmethod
    def save(self, value: Any, file: IO[bytes]) -> None:
        """Write ``value`` to the binary file ``file``."""

    @abc.abstractmethod
    def load(self, file: IO[bytes]) -> Any:
        """Read a value written by :meth:`save` from the binary file ``file``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StorageMaterializer(Materializer):
    """A materializer that writes a value straight to storage, as many blobs if it likes.

    For values larger than memory (lazy datasets, Dask DataFrames): :meth:`save_to`
    stores the data itself and returns a small manifest, which the cache stores as the
    output's blob; :meth:`load_from` turns the manifest back into a value, typically a
    lazy one over the stored blobs. Where no storage is at hand (a Dask worker whose
    storage lives in the driver's memory), :meth:`portable` names a single-blob
    materializer to use instead; without one, the next candidate is tried.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> from mlops_kit.pipeline import StorageMaterializer, register_materializer
    >>> class Chunks(list):
    ...     pass
    >>> class ChunksMaterializer(StorageMaterializer):
    ...     name = "example-chunks"
    ...     def save_to(self, value, storage):
    ...         return " ".join(storage.put_blob(chunk) for chunk in value).encode()
    ...     def load_from(self, manifest, storage):
    ...         return Chunks(storage.get_blob(d) for d in manifest.decode().split())
    >>> register_materializer(Chunks, ChunksMaterializer())
    >>> pieces = mk.step(lambda: Chunks([b"ab", b"cd"]), name="pieces")
    >>> pipe, store = mk.Pipeline([pieces], name="chunks"), mk.MemoryStorage()
    >>> _ = pipe.run(storage=store, progress=False)
    >>> pipe.runs(store)[0].outputs["pieces"]
    [b'ab', b'cd']
    """

    @abc.abstractmethod
    def save_to(self, value: Any, storage: Storage) -> bytes:
        """Store ``value`` in ``storage`` and return the manifest that :meth:`load_from` reads."""

    @abc.abstractmethod
    def load_from(self, manifest: bytes, storage: Storage) -> Any:
        """The value a manifest written by :meth:`save_to` describes."""

    def portable(self) -> Materializer | None:
        """The single-blob materializer for where no storage is at hand (default: none)."""
        return None

    def save(self, value: Any, file: IO[bytes]) -> None:
        raise PipelineError(f"Materializer {self.name!r} writes to a storage: use save_to().")

    def load(self, file: IO[bytes]) -> Any:
        raise PipelineError(f"Materializer {self.name!r} reads from a storage: use load_from().")
