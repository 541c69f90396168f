"""One step's call: what it needs (:class:`StepTask`), what it gives back (:class:`Outcome`).

These run wherever the step runs (the driver, a thread, a worker process, a Dask
worker). Values travel in :class:`Slot` objects, which carry a value, its
fingerprint, or a reference to its stored bytes (or all three), so a cached value
is loaded only when a step that runs needs it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import traceback
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import PipelineError
from mlops_kit.pipeline._datafp import fingerprint
from mlops_kit.pipeline._materializers import load_output
from mlops_kit.pipeline._metrics import MetricPoint, collect_into, stop_collecting
from mlops_kit.pipeline._records import OutputRecord

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.pipeline._step import Step

__all__ = [
    "UNSET",
    "CacheWarning",
    "Outcome",
    "Slot",
    "StepMeta",
    "StepTask",
    "cache_key",
    "emit_warnings",
    "execute",
]

CACHE_FORMAT = 1  # bump when the key recipe or the stored layout changes


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


def emit_warnings(meta: StepMeta) -> None:
    """Show the warnings a step collected (in the driver, where the user sees them)."""
    for message in meta.warnings:
        warnings.warn(message, CacheWarning, stacklevel=4)
