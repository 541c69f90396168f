"""``memory://NAME``: one store per name in a process; ``MemoryStorage()`` stays isolated."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.record import Record
from mlops_kit.core.storage import STORAGE_ENV, MemoryStorage

ROOT = Path(__file__).resolve().parents[2]


def _unique() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@mk.step
def tripled(x: int) -> int:
    return 3 * x


PIPE = mk.Pipeline([tripled], name="tripled")


def test_the_same_name_shares_data() -> None:
    name = _unique()
    a, b = mk.storage(f"memory://{name}"), mk.storage(f"memory://{name}")
    assert isinstance(a, MemoryStorage) and isinstance(b, MemoryStorage)
    a.write("k", b"1")
    assert b.read("k") == b"1"
    assert b.create("lock", b"b") and not a.create("lock", b"a")
    assert a.url == b.url == f"memory://{name}"


def test_different_names_do_not_share() -> None:
    a, b = mk.storage(f"memory://{_unique()}"), mk.storage(f"memory://{_unique()}")
    a.write("k", b"1")
    assert not b.exists("k")


def test_direct_instances_stay_isolated() -> None:
    a, b = MemoryStorage(), MemoryStorage()
    a.write("k", b"1")
    assert not b.exists("k")
    named = MemoryStorage(name=_unique())
    assert not named.exists("k")


def test_a_name_given_to_the_constructor_joins_the_url_s_store() -> None:
    name = _unique()
    MemoryStorage(name=name).write("k", b"1")
    assert mk.storage(f"memory://{name}").read("k") == b"1"


def test_bare_memory_is_the_process_default_store() -> None:
    a, b = mk.storage("memory://"), mk.storage("memory://")
    key = f"k/{_unique()}"
    a.write(key, b"1")
    assert b.read(key) == b"1"
    assert mk.storage("memory://default").read(key) == b"1"


def test_each_instance_keeps_its_own_signing_key() -> None:
    name = _unique()
    signed = mk.storage(f"memory://{name}", signing_key="k")
    plain = mk.storage(f"memory://{name}")
    assert signed.signing_key == b"k" and plain.signing_key in (None, plain.signing_key)
    mk.Registry(signed).register("m", 1)
    assert plain.list("models")  # the same bytes


def test_memory_from_the_environment_keeps_the_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORAGE_ENV, "memory://")
    run = PIPE.run(inputs={"x": 2}, progress=False)
    assert run.id in [r.id for r in PIPE.runs()]
    reg = mk.Registry()
    version = reg.register(f"m-{_unique()}", 1)
    assert mk.Registry().get(version.ref) == version


@pytest.mark.parametrize("url", ["memory://a/b", "memory://../x", "memory:// x", "memory://a..b"])
def test_malformed_store_names(url: str) -> None:
    with pytest.raises(mk.InvalidNameError, match="Invalid memory store name"):
        mk.storage(url)


def test_concurrent_writers_through_two_instances() -> None:
    name = _unique()
    stores = [mk.storage(f"memory://{name}") for _ in range(4)]
    threads = [
        threading.Thread(target=lambda s=s: [s.append("log", _Entry(n=i)) for i in range(25)]) for s in stores
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [e.seq for e in stores[0].read_log("log", _Entry)]
    assert seqs == list(range(1, 101))


class _Entry(Record):
    n: int


def test_a_named_store_pickles_into_the_same_store_in_process() -> None:
    store = mk.storage(f"memory://{_unique()}")
    store.write("k", b"1")
    clone = pickle.loads(pickle.dumps(store))
    store.write("later", b"2")
    assert clone.read("later") == b"2"  # the same live store, not a snapshot


def test_an_unnamed_store_pickles_as_a_snapshot() -> None:
    store = MemoryStorage()
    store.write("k", b"1")
    clone = pickle.loads(pickle.dumps(store))
    store.write("later", b"2")
    assert clone.read("k") == b"1" and not clone.exists("later")


_CHILD = """
import pickle, sys
import mlops_kit as mk
name = sys.argv[1]
if sys.argv[2] == "prefilled":
    mk.storage("memory://" + name).write("own", b"child")
clone = pickle.loads(sys.stdin.buffer.read())
joined = mk.storage("memory://" + name)
print(sorted(joined.list()), clone.url == joined.url, sorted(clone.list()) == sorted(joined.list()))
"""


def _in_child(data: bytes, name: str, mode: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, name, mode],
        input=data,
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    )
    return done.stdout.decode().strip()


def test_in_another_process_a_named_store_seeds_that_process_s_store() -> None:
    name = _unique()
    store = mk.storage(f"memory://{name}")
    store.write("k", b"1")
    assert _in_child(pickle.dumps(store), name, "empty") == "['k'] True True"


def test_in_another_process_an_existing_store_of_that_name_wins() -> None:
    name = _unique()
    store = mk.storage(f"memory://{name}")
    store.write("k", b"1")
    assert _in_child(pickle.dumps(store), name, "prefilled") == "['own'] True True"
