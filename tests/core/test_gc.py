"""Housekeeping: ``Storage.gc`` removes what killed writers left behind, and nothing else."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage
from mlops_kit.core.storage import gc as gc_module
from mlops_kit.core.storage._temporaries import Temporary

ROOT = Path(__file__).resolve().parents[2]

# A writer that never stops: small writes and creates, log appends, and big streamed and
# staged blobs (most of its time), so a kill -9 lands inside a write window most of the time.
WRITER = r"""
import os, sys
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage

class Event(Record):
    writer: str
    n: int

store = FsspecStorage(sys.argv[1])
me = sys.argv[2]
big = os.urandom(4 << 20)
print("ready", flush=True)
n = 0
while True:
    n += 1
    store.write(f"state/{me}", b"%d" % n)
    store.create(f"made/{me}-{n}", b"x")
    store.append("logs/all", Event(writer=me, n=n))
    store.append(f"logs/{me}", Event(writer=me, n=n))
    with store.blob_writer() as w:
        w.write(b"%s-%d" % (me.encode(), n))
        for i in range(0, len(big), 1 << 16):
            w.write(big[i : i + (1 << 16)])
    with store.staged_blob() as staged, open(staged.path, "wb") as f:
        f.write(big[: 2 << 20])
        f.write(b"%s-%d" % (me.encode(), n))
"""


class Event(Record):
    writer: str
    n: int


def hidden_files(root: Path) -> list[Path]:
    """Every file below ``root`` with a dot-segment in its path: never a key, so a leftover."""
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and any(part.startswith(".") for part in p.relative_to(root).parts)
    ]


def start_writer(root: Path, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), name], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def kill_writers(root: Path, kills: int, parallel: int, seed: int) -> None:
    """Run ``parallel`` writers at a time and ``kill -9`` each at a random moment."""
    rng = random.Random(seed)
    done = 0
    lock = threading.Lock()

    def slot(index: int) -> None:
        nonlocal done
        while True:
            with lock:
                if done >= kills:
                    return
                done += 1
                name = f"w{index}-{done}"
            proc = start_writer(root, name)
            time.sleep(rng.uniform(0.03, 0.25))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            assert proc.stdout is not None
            proc.stdout.close()

    threads = [threading.Thread(target=slot, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def check_intact(store: Storage) -> None:
    """Every key reads, every blob verifies, every log folds."""
    keys = store.list()
    for key in keys:
        store.read(key)
        if key.startswith("blobs/sha256/"):
            store.get_blob(key.rsplit("/", 1)[1])
    logs = {key.rsplit("/", 1)[0] for key in keys if key.startswith("logs/")}
    assert "logs/all" in logs
    for prefix in logs:
        entries = store.read_log(prefix, Event)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))


def test_killed_writers_leave_temporaries_that_gc_removes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = FsspecStorage(root)
    store.write("seed", b"0")  # the folder exists before the first writer
    kill_writers(root, kills=30, parallel=3, seed=12)

    left = hidden_files(root)
    assert len(left) >= 5, f"the kills should have left temporaries behind, found {left}"
    assert any(p.parent.name == ".tmp" for p in left)  # staged blobs
    size = sum(p.stat().st_size for p in left)
    keys = store.list()
    assert any(k.startswith("blobs/") for k in keys) and any(k.startswith("made/") for k in keys)

    young = store.gc()  # the default: an hour old at least; these are seconds old
    assert (young.files, young.bytes_freed) == (0, 0)

    preview = store.gc(older_than=dt.timedelta(0), dry_run=True)
    assert preview.dry_run and preview.files == len(left)
    assert len(hidden_files(root)) == len(left)  # a dry run removes nothing

    report = store.gc(older_than=dt.timedelta(0))
    assert not report.dry_run
    assert report.files == len(left)
    assert sorted(report.removed) == sorted(p.relative_to(root).as_posix() for p in left)
    assert report.bytes_freed == size > 0
    assert hidden_files(root) == []
    assert store.list() == keys
    check_intact(store)
    assert store.gc(older_than=dt.timedelta(0)).files == 0


@pytest.fixture
def slow_writer(tmp_path: Path) -> Iterator[tuple[FsspecStorage, threading.Event, list[str]]]:
    """A blob writer in another thread that writes a chunk every 20 ms until told to finish."""
    store = FsspecStorage(tmp_path / "store")
    finish, started = threading.Event(), threading.Event()
    digests: list[str] = []

    def write() -> None:
        with store.blob_writer() as w:
            while not finish.is_set():
                w.write(os.urandom(1 << 14))
                started.set()
                time.sleep(0.02)
        digests.append(w.digest)

    thread = threading.Thread(target=write)
    thread.start()
    assert started.wait(10)
    try:
        yield store, finish, digests
    finally:
        finish.set()
        thread.join()


def test_gc_leaves_a_live_writer_alone(slow_writer: tuple[FsspecStorage, threading.Event, list[str]]) -> None:
    store, finish, digests = slow_writer
    # It is a temporary: gc would take it if its age allowed...
    assert store.gc(older_than=dt.timedelta(0), dry_run=True).files == 1
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        # ...but a live writer keeps its file's mtime fresh, so even a 1 s threshold spares it.
        assert store.gc().files == 0
        assert store.gc(older_than=dt.timedelta(seconds=1)).files == 0
        time.sleep(0.1)
    finish.set()
    while not digests:
        time.sleep(0.01)
    assert len(store.get_blob(digests[0])) > 0  # published whole and verified


def test_gc_never_removes_a_key_however_old(tmp_path: Path) -> None:
    store = FsspecStorage(tmp_path / "store")
    keys = [
        "tmp-1",
        "tmp/x",
        "a/tmp-x",
        "blob-1.tmp",
        "mlops-kit-blob-1.tmp",
        "a/mlops-kit-blob-2.tmp",
        "x.tmp/y",
    ]
    for key in keys:
        store.write(key, b"keep me")
    old = time.time() - 30 * 86400
    for path in (tmp_path / "store").rglob("*"):
        os.utime(path, (old, old))
    assert store.gc(older_than=dt.timedelta(0)).files == 0
    assert store.list() == sorted(keys)


@pytest.fixture
def two_hours_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """gc's clock two hours ahead: files made now are then two hours old (ctime cannot be set)."""
    later = time.time() + 2 * 3600
    monkeypatch.setattr(gc_module, "_now", lambda: later)


class ConfusedStorage(MemoryStorage):
    """A backend whose temporaries hook wrongly reports its keys."""

    def _temporaries(self) -> list[Temporary]:
        return [Temporary(key, 0.0, 1) for key in self._list("")]

    def _remove_temporary(self, temporary: Temporary) -> bool:
        self._delete(temporary.name)
        return True


def test_gc_never_removes_a_key_a_backend_reports(private_tempdir: Path) -> None:
    store = ConfusedStorage()
    store.write("a/b", b"1")
    assert store.gc(older_than=dt.timedelta(0)).files == 0
    assert store.read("a/b") == b"1"


def test_gc_removes_only_its_own_temporaries(tmp_path: Path, two_hours_later: None) -> None:
    root = tmp_path / "store"
    store = FsspecStorage(root)
    store.write("a/b", b"1")
    ours = [
        root / ".tmp-root",
        root / "a" / ".tmp-abc",
        root / ".tmp" / "mlops-kit-blob-1.tmp",
        root / ".tmp" / "blob-old.tmp",  # how 0.1.0 named staged blobs
    ]
    theirs = [
        root / ".tmp" / "notes.txt",
        root / ".tmp" / "blob-x.part",
        root / "a" / ".hidden",
        root / "a" / "blob-1.tmp",
        root / ".git" / "config",
    ]
    for path in ours + theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"12345")
    (root / "a" / ".tmp-link").symlink_to(root / "a" / "b")
    report = store.gc()
    assert sorted(report.removed) == [
        ".tmp-root",
        ".tmp/blob-old.tmp",
        ".tmp/mlops-kit-blob-1.tmp",
        "a/.tmp-abc",
    ]
    assert (report.bytes_freed, report.kept) == (20, 0)
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in theirs)
    assert store.read("a/b") == b"1"


def test_gc_spares_a_file_that_changes_after_it_was_listed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = FsspecStorage(root)
    store.write("k", b"1")
    (root / ".tmp-busy").write_bytes(b"a")
    (temp,) = store._temporaries()
    os.utime(root / ".tmp-busy", (temp.changed + 5, temp.changed + 5))  # the writer wrote again
    assert not store._remove_temporary(temp)
    assert (root / ".tmp-busy").exists()
    assert not store._remove_temporary(temp._replace(name="k"))  # a key is never a temporary
    assert store.read("k") == b"1"


def test_gc_validates_its_arguments(tmp_path: Path) -> None:
    store = FsspecStorage(tmp_path)
    with pytest.raises(ConfigError, match="older_than"):
        store.gc(older_than=dt.timedelta(seconds=-1))
    with pytest.raises(ConfigError, match="older_than"):
        store.gc(older_than=3600)  # type: ignore[arg-type]


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A system temp folder of this test's own, so gc never meets another test's files."""
    folder = tmp_path / "systemp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_system_temp_staging_files_are_named_for_this_library(private_tempdir: Path) -> None:
    store = MemoryStorage()  # stages in the system temp folder, like S3
    with store.blob_writer() as w:
        w.write(b"x")
        (staging,) = list(private_tempdir.iterdir())
        assert staging.name.startswith("mlops-kit-blob-") and staging.name.endswith(".tmp")
        assert store.gc(older_than=dt.timedelta(seconds=30)).kept == 1  # alive: kept
    assert list(private_tempdir.iterdir()) == []


@pytest.mark.s3
def test_gc_on_s3_touches_no_key_and_cleans_its_local_staging(
    make_s3_storage: Callable[[], Storage], private_tempdir: Path, two_hours_later: None
) -> None:
    store = make_s3_storage()
    store.write("a/b", b"1")
    digest = store.put_blob(b"blob")
    left = private_tempdir / "mlops-kit-blob-killed.tmp"  # what a killed S3 writer leaves
    left.write_bytes(b"123")
    foreign = [private_tempdir / "blob-download.tmp", private_tempdir / "other-tool.tmp"]
    for path in foreign:
        path.write_bytes(b"x")
    report = store.gc()
    assert report.removed == (str(left),) and report.bytes_freed == 3
    assert all(p.exists() for p in foreign)
    assert store.list() == sorted(["a/b", f"blobs/sha256/{digest[:2]}/{digest}"])


def test_gc_of_a_local_folder_leaves_the_system_temp_folder_alone(
    tmp_path: Path, private_tempdir: Path
) -> None:
    (private_tempdir / "mlops-kit-blob-killed.tmp").write_bytes(b"123")
    assert FsspecStorage(tmp_path / "store").gc(older_than=dt.timedelta(0)).files == 0
    assert MemoryStorage().gc(older_than=dt.timedelta(0)).files == 1
