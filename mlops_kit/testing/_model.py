"""A model-based test of storage backends: random call sequences checked against a dict.

A hypothesis :class:`~hypothesis.stateful.RuleBasedStateMachine` draws a sequence of
public :class:`~mlops_kit.core.storage.Storage` calls and applies each one to a plain
in-memory reference and to every backend under test. It fails at the first call whose
result (the return value, or the class of the exception) or whose resulting state
differs, and shrinks the sequence to a short one that shows the difference.

Only public methods are called, so the machine holds for any backend, ours or a
user's. Raw keys, logs and blobs live under disjoint prefixes, so the reference stays
three small dicts.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from pydantic import BaseModel, ConfigDict

from mlops_kit.core.errors import ConfigError, InvalidNameError, NotFoundError
from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.logs import head_key

__all__ = ["check_storage_against_reference"]

# Few names, so that calls collide often: "a" next to "a.b" checks that listing "a"
# stops at the segment boundary. Every raw key has two segments, so no key is ever
# the "folder" of another, which a local filesystem could not hold.
_SEGMENTS = st.sampled_from(["a", "b", "a.b", "c-1"])
_KEYS = st.tuples(_SEGMENTS, _SEGMENTS).map("/".join)
_VALUES = st.binary(max_size=3)  # tiny, so put_blob/get_blob hit the same digests
_DIGESTS = _VALUES.map(lambda v: hashlib.sha256(v).hexdigest())
_LOGS = st.sampled_from(["logs/a", "logs/b", "logs/a/b"])  # a log nested in a log
_PREFIXES = st.one_of(
    st.just(""),
    _SEGMENTS,
    _KEYS,
    _KEYS.map(lambda k: k + "/a"),  # below a key: nothing there
    st.sampled_from(["blobs", "blobs/sha256", "logs", "logs/a", "logs/a/b", "logs/c"]),
)


class _Note(BaseModel):
    """The record appended to logs."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str


class _Reference:
    """What a storage must hold after the same calls: raw keys, blobs and logs in dicts."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}
        self.logs: dict[str, list[BaseModel]] = {}
        self.deleted: set[str] = set()  # keys deleted and not written since

    def __repr__(self) -> str:
        return "<reference model>"

    def keys(self) -> list[str]:
        """Every key a backend lists: blobs and log entries in the layouts of blobs.py and logs.py."""
        keys = set(self.data)
        keys.update(f"blobs/sha256/{d[:2]}/{d}" for d in self.blobs)
        keys.update(f"{p}/{seq:012d}.json" for p, log in self.logs.items() for seq in range(1, len(log) + 1))
        keys.update(head_key(p) for p, log in self.logs.items() if log)  # each log's head
        return sorted(keys)

    def read(self, key: str) -> bytes:
        try:
            return self.data[key]
        except KeyError:
            raise NotFoundError(f"No such key {key!r} in the reference model.") from None

    def write(self, key: str, data: bytes) -> None:
        self.data[key] = data
        self.deleted.discard(key)

    def create(self, key: str, data: bytes) -> bool:
        if key in self.data:
            return False
        self.write(key, data)
        return True

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
        self.deleted.add(key)

    def exists(self, key: str) -> bool:
        return key in self.data

    def list(self, prefix: str = "") -> list[str]:
        return [k for k in self.keys() if not prefix or k == prefix or k.startswith(prefix + "/")]

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs.setdefault(digest, data)
        return digest

    def get_blob(self, digest: str) -> bytes:
        try:
            return self.blobs[digest]
        except KeyError:
            raise NotFoundError(f"Blob {digest} is missing from the reference model.") from None

    def has_blob(self, digest: str) -> bool:
        return digest in self.blobs

    def append(self, prefix: str, record: BaseModel) -> int:
        log = self.logs.setdefault(prefix, [])
        log.append(record)
        return len(log)

    def read_log(
        self, prefix: str, model: type[BaseModel], *, after: int = 0
    ) -> builtins.list[tuple[int, BaseModel]]:
        return [(seq, r) for seq, r in enumerate(self.logs.get(prefix, []), 1) if seq > after]

    def read_entry(self, prefix: str, seq: int, model: type[BaseModel]) -> BaseModel:
        log = self.logs.get(prefix, [])
        if seq < 1:
            raise InvalidNameError(f"Invalid log sequence number {seq!r}: expected a positive integer.")
        if seq > len(log):
            raise NotFoundError(f"Log {prefix!r} has no entry {seq} in the reference model.")
        return log[seq - 1]


def _outcome(subject: Any, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """``(value,)`` or ``(exception class, exception)``: what a caller can tell apart."""
    try:
        return (getattr(subject, op)(*args, **kwargs),)
    except Exception as exc:
        return type(exc), exc


def _describe(outcome: tuple[Any, ...]) -> str:
    return f"returned {outcome[0]!r}" if len(outcome) == 1 else f"raised {outcome[1]!r}"


class StorageMachine(RuleBasedStateMachine):
    """Each rule is one public Storage call, made on the reference and on every backend."""

    factories: ClassVar[tuple[Callable[[], Storage], ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.reference = _Reference()
        self.storages = [make() for make in self.factories]  # fresh and empty per example

    def _apply(self, op: str, *args: Any, **kwargs: Any) -> None:
        try:  # the reference raises these only; anything else is a bug of this machine
            expected: tuple[Any, ...] = (getattr(self.reference, op)(*args, **kwargs),)
        except (NotFoundError, InvalidNameError) as exc:
            expected = type(exc), exc
        for storage in self.storages:
            got = _outcome(storage, op, args, kwargs)
            if got[0] != expected[0]:  # the same value, or the same class of error
                call = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
                raise AssertionError(
                    f"{storage!r}.{op}({call}) {_describe(got)}; the reference model {_describe(expected)}."
                )

    # Bundles hold the keys and digests used so far: drawing from them makes calls hit
    # what earlier calls stored (create over a write, read after a delete).
    keys = Bundle("keys")
    digests = Bundle("digests")

    @rule(target=keys, key=keys | _KEYS, data=_VALUES)
    def write(self, key: str, data: bytes) -> str:
        self._apply("write", key, data)
        return key

    @rule(target=keys, key=keys | _KEYS, data=_VALUES)
    def create(self, key: str, data: bytes) -> str:
        self._apply("create", key, data)
        return key

    @rule(key=keys | _KEYS)
    def read(self, key: str) -> None:
        self._apply("read", key)

    @rule(key=keys | _KEYS)
    def delete(self, key: str) -> None:
        self._apply("delete", key)

    @rule(key=keys | _KEYS)
    def exists(self, key: str) -> None:
        self._apply("exists", key)

    @rule(prefix=keys | keys.map(lambda k: k.partition("/")[0]) | _PREFIXES)
    def list(self, prefix: str) -> None:
        self._apply("list", prefix)

    @rule(target=digests, data=_VALUES)
    def put_blob(self, data: bytes) -> str:
        self._apply("put_blob", data)
        return hashlib.sha256(data).hexdigest()

    @rule(digest=digests | _DIGESTS)
    def get_blob(self, digest: str) -> None:
        self._apply("get_blob", digest)

    @rule(digest=digests | _DIGESTS)
    def has_blob(self, digest: str) -> None:
        self._apply("has_blob", digest)

    @rule(log=_LOGS, data=_VALUES)
    def append(self, log: str, data: bytes) -> None:
        self._apply("append", log, _Note(text=data.hex()))

    @rule(log=_LOGS, after=st.integers(0, 4))
    def read_log(self, log: str, after: int) -> None:
        self._apply("read_log", log, _Note, after=after)

    @rule(log=_LOGS, seq=st.integers(0, 5))
    def read_entry(self, log: str, seq: int) -> None:
        self._apply("read_entry", log, seq, _Note)

    @invariant()
    def same_state(self) -> None:
        keys = self.reference.keys()
        for storage in self.storages:
            listed = storage.list("")
            assert listed == keys, (
                f"{storage!r} lists {sorted(set(listed) - set(keys))} that the reference model does not "
                f"have and misses {sorted(set(keys) - set(listed))}."
            )
            for key, data in self.reference.data.items():
                got = _outcome(storage, "read", (key,), {})
                assert got == (data,), (
                    f"{storage!r}.read({key!r}) {_describe(got)}; the reference model holds {data!r}."
                )
                assert storage.exists(key), (
                    f"{storage!r}.exists({key!r}) is false; the reference model holds {data!r}."
                )
            for key in self.reference.deleted:  # a cached or stale `exists` shows here
                assert not storage.exists(key), (
                    f"{storage!r}.exists({key!r}) is true after a delete; the reference model has no such key."
                )


def check_storage_against_reference(
    *make_storage: Callable[[], Storage], examples: int = 25, steps: int = 20
) -> None:
    """Run random sequences of storage calls on backends and on a reference, and compare.

    Each example builds fresh storages with the factories, then makes up to ``steps``
    random calls (``write``, ``create``, ``read``, ``delete``, ``exists``, ``list``,
    ``put_blob``, ``get_blob``, ``has_blob``, ``append``, ``read_log``,
    ``read_entry``) on keys from a small alphabet, so calls collide often. Every call
    must return what a plain dict model returns, or raise the same error class; after
    every call each backend must list exactly the model's keys, read back their bytes
    and report deleted keys as absent. The sequences are derived from a fixed seed, so
    a run is repeatable.

    Parameters
    ----------
    *make_storage : callable
        Callables that each build an empty storage. Give several to check that
        backends agree with each other as well as with the reference.
    examples : int, default 25
        How many random sequences to run.
    steps : int, default 20
        The most calls in one sequence.

    Raises
    ------
    AssertionError
        At the first difference, after shrinking it to a short sequence; hypothesis
        prints the calls that reproduce it.

    Examples
    --------
    >>> from mlops_kit.core.storage import MemoryStorage
    >>> check_storage_against_reference(MemoryStorage, examples=5, steps=10)
    """
    if not make_storage:
        raise ConfigError(
            "check_storage_against_reference() got no storage factory. Pass one or more callables "
            "that build an empty storage, e.g. check_storage_against_reference(MemoryStorage)."
        )
    machine = type("StorageModel", (StorageMachine,), {"factories": tuple(make_storage)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,  # a real backend's latency varies; the test is about results
            derandomize=True,
            database=None,
            report_multiple_bugs=False,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],  # "explain" costs seconds more
            # The factories are called once per example, so storages built from a
            # function-scoped fixture (tmp_path_factory, an S3 endpoint) are never shared.
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        ),
    )
