"""The step cache, and a step's life against it: look up, load inputs, call, store.

A cache entry lives under ``cache/steps/<hh>/<key>`` and is a small (optionally signed)
record naming, for each output, the blob holding its bytes (for a lazy value, a
manifest of the many blobs its materializer wrote), the materializer that wrote them
and the value's fingerprint. Blobs are written before the entry, so a
crash in between leaves only unreferenced blobs, never an entry without its data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import IntegrityError, NotFoundError, PipelineError, StorageError
from mlops_kit.pipeline import _materializers
from mlops_kit.pipeline._materializers import Materializer, StorageMaterializer, candidates
from mlops_kit.pipeline._records import CacheEntry, OutputRecord
from mlops_kit.pipeline._task import UNSET, Outcome, Slot, StepMeta, StepTask, cache_key, execute

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = [
    "encode_outputs",
    "entry_key",
    "hit",
    "lookup",
    "persist",
    "persist_quietly",
    "run_here",
    "store_encoded",
]


def entry_key(key: str) -> str:
    """The storage key of the cache entry for cache key ``key``."""
    return f"cache/steps/{key[:2]}/{key}"


def lookup(storage: Storage, key: str) -> CacheEntry | None:
    """The cache entry for ``key``, or ``None`` (one storage read)."""
    try:
        return storage.get_record(entry_key(key), CacheEntry)
    except NotFoundError:
        return None


def hit(task: StepTask, key: str, entry: CacheEntry, clock: Clock) -> Outcome:
    """The outcome of a step served from the cache (no values loaded)."""
    meta = StepMeta(task.step.name, started_at=clock.now())
    meta.cache_hit, meta.cache_key, meta.metrics = True, key, list(entry.metrics)
    slots = {name: Slot(UNSET, ref.fingerprint, ref, key) for name, ref in entry.outputs.items()}
    return Outcome(meta, slots)


def persist_quietly(
    storage: Storage, task: StepTask, key: str, outcome: Outcome, run_id: str, clock: Clock
) -> None:
    """:func:`persist`, turning a storage failure into a warning: the result itself is fine."""
    outcome.meta.cache_key = key
    try:
        persist(storage, task, key, outcome, run_id, clock)
    except StorageError as exc:
        outcome.meta.warnings.append(f"Step {task.step.name!r} could not be cached: {exc}")


def persist(storage: Storage, task: StepTask, key: str, outcome: Outcome, run_id: str, clock: Clock) -> None:
    """Store the outputs as blobs, then the cache entry pointing to them."""
    refs = {}
    for name, slot in outcome.slots.items():
        ref = _store_value(storage, slot)
        if ref is None:
            outcome.meta.warnings.append(
                f"Output {name!r} of step {task.step.name!r} ({type(slot.value).__qualname__}) could not be "
                f"stored by any materializer, so step {task.step.name!r} is not cached."
            )
            return
        slot.ref = refs[name] = ref
    _put_entry(storage, task, key, outcome, refs, run_id, clock)


def encode_outputs(outcome: Outcome) -> dict[str, tuple[str, bytes]] | None:
    """The outputs as ``{name: (materializer, bytes)}``, for a driver to store; ``None`` if one fails."""
    encoded = {}
    for name, slot in outcome.slots.items():
        for materializer in _portable(candidates(slot.value)):
            buffer = io.BytesIO()
            try:
                materializer.save(slot.value, buffer)
            except Exception:
                continue
            encoded[name] = (materializer.name, buffer.getvalue())
            break
        else:
            return None
    return encoded


def _portable(materializers: list[Materializer]) -> list[Materializer]:
    """The materializers that write one blob: a storage-writing one gives its portable stand-in."""
    found = []
    for materializer in materializers:
        if isinstance(materializer, StorageMaterializer):
            portable = materializer.portable()
            if portable is None:
                continue
            materializer = portable
        found.append(materializer)
    return found


def store_encoded(
    storage: Storage,
    task: StepTask,
    key: str,
    outcome: Outcome,
    encoded: dict[str, tuple[str, bytes]],
    run_id: str,
    clock: Clock,
) -> None:
    """Store outputs encoded elsewhere (:func:`encode_outputs`), then the cache entry."""
    refs = {}
    for name, (materializer, data) in encoded.items():
        slot = outcome.slots[name]
        digest = storage.put_blob(data)
        slot.ref = refs[name] = OutputRecord(
            fingerprint=slot.fingerprint, blob=digest, materializer=materializer, size=len(data)
        )
    _put_entry(storage, task, key, outcome, refs, run_id, clock)


def _put_entry(
    storage: Storage,
    task: StepTask,
    key: str,
    outcome: Outcome,
    refs: dict[str, OutputRecord],
    run_id: str,
    clock: Clock,
) -> None:
    entry = CacheEntry(
        key=key,
        step=task.step.name,
        outputs=refs,
        metrics=tuple(outcome.meta.metrics),
        run_id=run_id,
        duration_s=outcome.meta.duration_s,
        created_at=clock.now(),
    )
    # Written after the blobs it points to: a crash in between leaves only unreferenced blobs.
    storage.put_record(entry_key(key), entry)


def _store_value(storage: Storage, slot: Slot) -> OutputRecord | None:
    value = slot.value
    materializers = candidates(value)
    large = not isinstance(materializers[0], StorageMaterializer) and (
        _estimated_size(value) > _materializers.STREAM_ABOVE
    )
    for materializer in materializers:
        try:
            if isinstance(materializer, StorageMaterializer):  # writes its own blobs, gives a manifest
                data = materializer.save_to(value, storage)
                digest, size = storage.put_blob(data), len(data)
            elif large:
                with storage.blob_writer() as writer:
                    materializer.save(value, cast("IO[bytes]", writer))
                digest, size = writer.digest, writer.size
            else:
                buffer = io.BytesIO()
                materializer.save(value, buffer)
                data = buffer.getvalue()
                digest, size = storage.put_blob(data), len(data)
        except StorageError:
            raise
        except Exception:  # this materializer cannot store this value: try the next one
            continue
        return OutputRecord(
            fingerprint=slot.fingerprint, blob=digest, materializer=materializer.name, size=size
        )
    return None


def _estimated_size(value: Any) -> int:
    if type(value).__module__.startswith("pandas") and hasattr(value, "memory_usage"):
        usage = value.memory_usage(index=True, deep=False)
        return int(getattr(usage, "sum", lambda: usage)())
    try:
        nbytes = getattr(value, "nbytes", None)  # numpy arrays
    except Exception:  # a lazy collection that cannot tell (dask)
        return 0
    return nbytes if isinstance(nbytes, int) else 0


def run_here(
    task: StepTask, args: Sequence[Slot], storage: Storage | None, run_id: str, clock: Clock
) -> Outcome:
    """The whole life of a step in this process: lookup, load inputs, call, store."""
    key, kwargs = prepare(task, args, storage, clock)
    if isinstance(kwargs, Outcome):
        return kwargs
    outcome = execute(task, kwargs, clock)
    if key is not None and storage is not None and outcome.meta.status == "succeeded":
        persist_quietly(storage, task, key, outcome, run_id, clock)
    return outcome


def prepare(
    task: StepTask, args: Sequence[Slot], storage: Storage | None, clock: Clock
) -> tuple[str | None, dict[str, Any] | Outcome]:
    """The step's cache key, and its call arguments, or the outcome that makes a call needless:
    a cache hit, or a failure to load an input."""
    key = cache_key(task, args)
    if key is not None and storage is not None:
        entry = lookup(storage, key)
        if entry is not None:
            return key, hit(task, key, entry, clock)
    return key, load_inputs(task, args, storage, clock)


def load_inputs(
    task: StepTask, args: Sequence[Slot], storage: Storage | None, clock: Clock
) -> dict[str, Any] | Outcome:
    """The keyword arguments of the call, loading cached values; a failed outcome if one is lost."""
    kwargs = {}
    for (param, name), slot in zip(task.bindings, args):
        try:
            kwargs[param] = slot.get(storage)
        except (NotFoundError, IntegrityError) as exc:
            if slot.entry is not None and storage is not None:
                # Forget the broken entry, so that the next run recomputes the value.
                storage.delete(entry_key(slot.entry))
            meta = StepMeta(task.step.name, "failed", clock.now())
            meta.error = (
                f"PipelineError: the cached value {name!r} needed by step {task.step.name!r} could not be "
                f"loaded ({exc}). Its cache entry was removed: run the pipeline again to recompute it."
            )
            return Outcome(meta, {}, PipelineError(meta.error))
    return kwargs
