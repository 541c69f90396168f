"""``StorageContract``: the test suite every storage backend must pass.

Subclass it in your own tests and provide a ``make_storage`` fixture that returns a
*factory*: a callable that builds a new, empty storage each time it is called (the
tests call it, often several times per test; a storage instance is not a factory)::

    from mlops_kit.testing import StorageContract

    class TestMyStorage(StorageContract):
        model_examples = 25  # random call sequences of test_model_based (the default)

        @pytest.fixture
        def make_storage(self):
            return lambda: MyStorage(...)
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from mlops_kit.core.errors import IntegrityError, InvalidNameError, NotFoundError
from mlops_kit.core.storage import Storage
from mlops_kit.testing._model import check_storage_against_reference

__all__ = ["StorageContract"]

keys = st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}", fullmatch=True)
# Examples do real storage I/O (S3 on moto, a disk): slow by design, so only too_slow is waived.
_EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_BAD_KEYS = ["", "/abs", "a//b", "a/../b", "../x", "a/", " a", "a\nb", "a\\b", "a/.hidden", "C:"]


class _Entry(BaseModel):
    writer: int
    n: int


class StorageContract:
    """Checks read/write/create/list/delete semantics, atomicity and what is built on them.

    Subclass it in a test module and define the fixture ``make_storage``, which must
    return a factory: a callable with no arguments that returns a new, empty storage
    (``return MyStorage`` or ``return lambda: MyStorage(root=tmp_path_factory.mktemp("s"))``),
    not a storage. Storages built by one factory must not share keys.

    A hook that returns the wrong type fails its first call with a
    :class:`~mlops_kit.StorageError` naming the hook, so a broken backend fails the
    suite quickly instead of hanging in retries.

    ``test_model_based`` runs ``model_examples`` random sequences of up to
    ``model_steps`` calls against a plain dict model
    (:func:`~mlops_kit.testing.check_storage_against_reference`); set these class
    attributes on a subclass to trade time for thoroughness.
    """

    model_examples: int = 25
    model_steps: int = 20

    @pytest.fixture
    def make_storage(self) -> Callable[[], Storage]:
        raise NotImplementedError(
            "Define a make_storage fixture in your StorageContract subclass that returns a "
            "callable building a new, empty storage (e.g. `return MyStorage`)."
        )

    @pytest.fixture(autouse=True)
    def _make_storage_is_a_factory(self, make_storage: object) -> None:
        if isinstance(make_storage, Storage) or not callable(make_storage):
            raise TypeError(
                f"make_storage returned {make_storage!r}, but it must return a factory: a callable "
                "that builds a new, empty storage each time (e.g. `return MyStorage` or "
                "`return lambda: MyStorage(...)`), not a storage."
            )

    # -- the primitives ---------------------------------------------------------

    def test_write_read_round_trip(self, make_storage: Callable[[], Storage]) -> None:
        @_EXAMPLES
        @given(key=keys, data=st.binary(max_size=4096))
        def check(key: str, data: bytes) -> None:
            storage = make_storage()
            storage.write(key, data)
            assert storage.read(key) == data
            assert storage.exists(key)

        check()

    def test_read_missing_raises_not_found(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        with pytest.raises(NotFoundError):
            storage.read("missing/key")
        assert not storage.exists("missing/key")

    def test_write_replaces(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        storage.write("k", b"old")
        storage.write("k", b"new")
        assert storage.read("k") == b"new"

    def test_empty_value(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        assert storage.create("empty", b"")
        assert not storage.create("empty", b"x")
        assert storage.read("empty") == b""

    def test_create_never_overwrites(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        assert storage.create("a/b", b"first") is True
        assert storage.create("a/b", b"second") is False
        assert storage.read("a/b") == b"first"

    def test_create_is_exclusive_under_contention(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        barrier = threading.Barrier(16)

        def attempt(i: int) -> bool:
            barrier.wait()
            return storage.create("lock", b"%d" % i)

        with ThreadPoolExecutor(16) as pool:
            won = list(pool.map(attempt, range(16)))
        assert won.count(True) == 1
        assert storage.read("lock") == b"%d" % won.index(True)

    def test_create_and_write_are_atomic_for_readers(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        values = [bytes([i]) * 300_000 for i in range(1, 5)]
        seen: list[bytes] = []
        stop = threading.Event()

        def read_loop() -> None:
            while not stop.is_set():
                try:
                    seen.append(storage.read("big"))
                except NotFoundError:
                    pass

        reader = threading.Thread(target=read_loop)
        reader.start()
        try:
            storage.create("big", values[0])
            for value in values[1:]:
                storage.write("big", value)
        finally:
            stop.set()
            reader.join()
        assert all(v in values for v in seen), "a reader saw a partial value"

    def test_list(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        for key in ["a/b", "a/c/d", "ab", "x"]:
            storage.write(key, b"1")
        assert storage.list("") == ["a/b", "a/c/d", "ab", "x"]
        assert storage.list("a") == ["a/b", "a/c/d"]
        assert storage.list("a/c") == ["a/c/d"]
        assert storage.list("a/b") == ["a/b"]
        assert storage.list("nothing/here") == []

    def test_delete_is_idempotent(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        storage.write("d/k", b"1")
        storage.delete("d/k")
        storage.delete("d/k")
        assert not storage.exists("d/k")
        assert storage.list("d") == []
        assert storage.create("d/k", b"again")

    @pytest.mark.parametrize("key", _BAD_KEYS)
    def test_invalid_keys_are_rejected(self, make_storage: Callable[[], Storage], key: str) -> None:
        storage = make_storage()
        for call in (
            lambda: storage.read(key),
            lambda: storage.write(key, b"x"),
            lambda: storage.create(key, b"x"),
            lambda: storage.delete(key),
            lambda: storage.exists(key),
        ):
            with pytest.raises(InvalidNameError):
                call()

    def test_pickles(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        storage.write("k", b"v")
        clone = pickle.loads(pickle.dumps(storage))
        assert clone.read("k") == b"v"

    def test_model_based(self, make_storage: Callable[[], Storage]) -> None:
        check_storage_against_reference(make_storage, examples=self.model_examples, steps=self.model_steps)

    # -- what is built on top -----------------------------------------------------

    def test_blobs(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        digest = storage.put_blob(b"payload")
        assert storage.put_blob(b"payload") == digest
        assert storage.get_blob(digest) == b"payload"
        with storage.blob_writer() as writer:
            for _ in range(8):
                writer.write(b"x" * 100_000)
        with storage.open_blob(writer.digest) as f:
            assert f.read() == b"x" * 800_000

    def test_corrupted_blob_is_detected(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        digest = storage.put_blob(b"original")
        storage.write(f"blobs/sha256/{digest[:2]}/{digest}", b"tampered")
        with pytest.raises(IntegrityError):
            storage.get_blob(digest)
        with pytest.raises(IntegrityError), storage.open_blob(digest):
            pass

    def test_log_appends_in_order_under_concurrency(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()

        def writer(w: int) -> list[int]:
            return [storage.append("log", _Entry(writer=w, n=n)) for n in range(6)]

        with ThreadPoolExecutor(8) as pool:
            seqs = [s for batch in pool.map(writer, range(8)) for s in batch]
        assert sorted(seqs) == list(range(1, 49))
        entries = storage.read_log("log", _Entry)
        assert [e.seq for e in entries] == list(range(1, 49))
        for w in range(8):  # each writer's entries keep its own order
            mine = [e.record.n for e in entries if e.record.writer == w]
            assert mine == list(range(6))

    def test_records_are_signed_when_a_key_is_set(self, make_storage: Callable[[], Storage]) -> None:
        storage = make_storage()
        storage._explicit_signing_key = b"secret"
        storage.put_record("r/one", _Entry(writer=1, n=1))
        assert storage.get_record("r/one", _Entry) == _Entry(writer=1, n=1)
        raw = storage.read("r/one").replace(b'"n":1', b'"n":2')
        storage.write("r/one", raw)
        with pytest.raises(IntegrityError):
            storage.get_record("r/one", _Entry)
