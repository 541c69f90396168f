"""Running one step: cache lookup, the call itself, fingerprints, and storing results.

These functions are shared by every runner and run wherever the step runs (the
driver, a thread, a worker process, a Dask worker). Values travel in :class:`Slot`
objects, which carry a value, its fingerprint, or a reference to its stored bytes
(or all three), so a cached value is loaded only when a step that runs needs it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import traceback
import warnings
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import IntegrityError, NotFoundError, PipelineError, StorageError
from mlops_kit.pipeline._datafp import fingerprint
from mlops_kit.pipeline._materializers import candidates, materializer_named
from mlops_kit.pipeline._metrics import MetricPoint, collect_into, stop_collecting
from mlops_kit.pipeline._records import CacheEntry, OutputRecord

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.pipeline._step import Step

__all__ = [
    "CacheWarning",
    "Outcome",
    "Slot",
    "StepMeta",
    "StepTask",
    "cache_key",
    "entry_key",
    "execute",
    "load_output",
    "lookup",
    "persist",
    "persist_quietly",
    "run_here",
]

CACHE_FORMAT = 1  # bump when the key recipe or the stored layout changes
_LARGE = 32 << 20  # values above this many bytes stream through a temporary file


class CacheWarning(UserWarning):
    """A step result could not be cached (its input or output has no fingerprint or cannot be stored)."""


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class Slot:
    """A named value of a run: in memory, in storage, or both."""

    __slots__ = ("entry", "fingerprint", "ref", "value")

    def __init__(
        self,
        value: Any = UNSET,
        fingerprint: str | None = None,
        ref: OutputRecord | None = None,
        entry: str | None = None,
    ) -> None:
        self.value = value
        self.fingerprint = fingerprint
        self.ref = ref
        self.entry = entry  # the cache key of the entry this value was loaded from

    def get(self, storage: Storage | None) -> Any:
        """The value, loaded from storage on first use."""
        if self.value is UNSET:
            if self.ref is None or self.ref.blob is None or storage is None:
                raise PipelineError("Internal error: a value is neither in memory nor in storage.")
            self.value = load_output(storage, self.ref)
        return self.value

    def without_value(self) -> Slot:
        """A copy that carries only the fingerprint and the stored reference."""
        return Slot(UNSET, self.fingerprint, self.ref, self.entry)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.value, self.fingerprint, self.ref, self.entry)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.value, self.fingerprint, self.ref, self.entry = state


@dataclasses.dataclass(slots=True)
class StepTask:
    """Everything needed to run one step, anywhere (picklable)."""

    step: Step
    bindings: tuple[tuple[str, str], ...]  # (parameter, name of the value it receives)
    code: str | None  # code fingerprint; None when the step is not cacheable in this run
    cacheable: bool  # run.cache and step.cache
    fingerprints: bool  # run.cache: outputs get fingerprints so that consumers can be cached
    retries: int  # retries done by our own loop (Dask does its own)


class StepMeta:
    """What the driver learns about a step (no values). A plain class: it is made once per step."""

    __slots__ = (
        "attempts",
        "cache_hit",
        "cache_key",
        "duration_s",
        "encoded",
        "error",
        "metrics",
        "name",
        "started_at",
        "status",
        "traceback",
        "warnings",
    )

    def __init__(self, name: str, status: str = "succeeded", started_at: dt.datetime | None = None) -> None:
        self.name = name
        self.status = status
        self.started_at = started_at
        self.cache_hit = False
        self.cache_key: str | None = None
        self.duration_s = 0.0
        self.attempts = 0
        self.metrics: list[MetricPoint] = []
        self.error: str | None = None
        self.traceback: str | None = None
        self.warnings: list[str] = []
        self.encoded: dict[str, tuple[str, bytes]] | None = None  # outputs for the driver to store

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)


@dataclasses.dataclass(slots=True)
class Outcome:
    """A step's result: its metadata and one slot per output."""

    meta: StepMeta
    slots: dict[str, Slot]
    cause: BaseException | None = None

    def lite(self) -> Outcome:
        """The outcome without values (what travels back to the driver from Dask)."""
        return Outcome(self.meta, {k: s.without_value() for k, s in self.slots.items()})


def entry_key(key: str) -> str:
    """The storage key of the cache entry for cache key ``key``."""
    return f"cache/{key[:2]}/{key}"


def cache_key(task: StepTask, args: Sequence[Slot]) -> str | None:
    """sha256 of (code, version, outputs, input fingerprints); ``None`` if not cacheable."""
    if not task.cacheable or task.code is None:
        return None
    step = task.step
    # Fields are unambiguous: fingerprints are hex, names are identifiers, NUL separates them.
    h = hashlib.sha256(
        f"{CACHE_FORMAT}\0{task.code}\0{step.version!r}\0{step.outputs}\0{step.unpack_outputs}".encode()
    )
    for (param, _), slot in zip(task.bindings, args):
        if slot.fingerprint is None:
            return None
        h.update(f"\0{param}={slot.fingerprint}".encode())
    return h.hexdigest()


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


def execute(task: StepTask, kwargs: dict[str, Any], clock: Clock) -> Outcome:
    """Call the step (retrying on exceptions), capture metrics, errors and timing."""
    step = task.step
    meta = StepMeta(step.name, started_at=clock.now())
    start = clock.monotonic()
    points: list[MetricPoint] = []
    token = collect_into(step.name, points)
    cause: BaseException | None = None
    values: tuple[Any, ...] = ()
    try:
        while True:
            meta.attempts += 1
            try:
                values = step.split(step.func(**kwargs))
                cause = None
                break
            except Exception as exc:
                cause = exc
                if meta.attempts > task.retries:
                    break
                points.clear()  # metrics of a failed attempt do not describe the result
    finally:
        stop_collecting(token)
        meta.duration_s = clock.monotonic() - start
    meta.metrics = points
    if cause is not None:
        meta.status = "failed"
        meta.error = f"{type(cause).__name__}: {cause}"
        meta.traceback = "".join(traceback.format_exception(cause))
        return Outcome(meta, {}, cause)
    slots = {name: Slot(value) for name, value in zip(step.outputs, values)}
    if task.fingerprints:
        for name, slot in slots.items():
            slot.fingerprint = fingerprint(slot.value)
            if slot.fingerprint is None:
                meta.warnings.append(
                    f"Output {name!r} of step {step.name!r} ({type(slot.value).__qualname__}) cannot be "
                    "fingerprinted (not picklable), so the steps that use it are not cached."
                )
    return Outcome(meta, slots)


def run_here(
    task: StepTask, args: Sequence[Slot], storage: Storage | None, run_id: str, clock: Clock
) -> Outcome:
    """The whole life of a step in this process: lookup, load inputs, call, store."""
    key = cache_key(task, args)
    if key is not None and storage is not None:
        entry = lookup(storage, key)
        if entry is not None:
            return hit(task, key, entry, clock)
    kwargs = load_inputs(task, args, storage, clock)
    if isinstance(kwargs, Outcome):
        return kwargs
    outcome = execute(task, kwargs, clock)
    if key is not None and storage is not None and outcome.meta.status == "succeeded":
        persist_quietly(storage, task, key, outcome, run_id, clock)
    return outcome


def persist_quietly(
    storage: Storage, task: StepTask, key: str, outcome: Outcome, run_id: str, clock: Clock
) -> None:
    """:func:`persist`, turning a storage failure into a warning: the result itself is fine."""
    outcome.meta.cache_key = key
    try:
        persist(storage, task, key, outcome, run_id, clock)
    except StorageError as exc:
        outcome.meta.warnings.append(f"Step {task.step.name!r} could not be cached: {exc}")


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
        for materializer in candidates(slot.value):
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
    large = _estimated_size(value) > _LARGE
    for materializer in candidates(value):
        try:
            if large:
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
    nbytes = getattr(value, "nbytes", None)  # numpy arrays
    return nbytes if isinstance(nbytes, int) else 0


def load_output(storage: Storage, ref: OutputRecord) -> Any:
    """Read a stored output back with the materializer that wrote it."""
    if ref.blob is None or ref.materializer is None:
        raise NotFoundError("This output was not stored.")
    materializer = materializer_named(ref.materializer)
    if ref.size is not None and ref.size > _LARGE:
        with storage.open_blob(ref.blob) as path, open(path, "rb") as file:
            return materializer.load(file)
    return materializer.load(io.BytesIO(storage.get_blob(ref.blob)))


def emit_warnings(meta: StepMeta) -> None:
    """Show the warnings a step collected (in the driver, where the user sees them)."""
    for message in meta.warnings:
        warnings.warn(message, CacheWarning, stacklevel=4)
