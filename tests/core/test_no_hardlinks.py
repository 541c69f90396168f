"""Create-if-absent stays atomic on filesystems without hard links, and readers survive torn entries.

The writers are real processes killed with SIGKILL mid-write. Hard links are taken away
inside the writer (``os.link`` fails as on FAT, some FUSE and SMB mounts).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage

WRITER = r"""
import errno, os, sys
def no_link(*args, **kwargs):
    raise OSError(errno.EPERM, "Operation not permitted (no hard links here)")
os.link = no_link
import mlops_kit.core.storage._local as local
if sys.argv[2] == "in-place":
    local.RENAME_NOREPLACE = None  # neither hard links nor renameat2: the last resort
from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage
class Big(Record):
    payload: str
store = FsspecStorage(sys.argv[1])
print("ready", flush=True)
while True:
    store.append("log", Big(payload="x" * 2_000_000))
"""


class Big(Record):
    payload: str


def kill_writers_mid_write(root: Path, mode: str, kills: int) -> None:
    rng = random.Random(7)
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), mode], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


@pytest.mark.slow
def test_create_without_hard_links_is_atomic_under_kill(tmp_path: Path) -> None:
    kill_writers_mid_write(tmp_path, "renameat2", 8)
    store = FsspecStorage(tmp_path)
    entries = store.read_log("log", Big)
    assert entries, "the writers appended something before they were killed"
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    for key in store.list("log"):
        if key.endswith("head.json"):
            continue
        assert len(store.read(key)) > 2_000_000, f"{key} is a torn (half-written) entry"
    assert store.append("log", Big(payload="after")) == len(entries) + 1


@pytest.mark.slow
def test_readers_survive_a_torn_entry(tmp_path: Path) -> None:
    kill_writers_mid_write(tmp_path, "in-place", 8)
    store = FsspecStorage(tmp_path)
    entries = store.read_log("log", Big)  # must not raise, whatever the kills left
    assert all(len(e.record.payload) == 2_000_000 for e in entries)
    seq = store.append("log", Big(payload="after"))
    assert store.read_log("log", Big)[-1].seq == seq


def test_a_torn_entry_is_skipped_by_every_reader(tmp_path: Path) -> None:
    store = FsspecStorage(tmp_path)
    store.append("log", Big(payload="a"))
    full = store.read("log/000000000001.json")
    (tmp_path / "log" / "000000000002.json").write_bytes(full[: len(full) // 2])  # killed mid-write
    store.append("log", Big(payload="c"))
    fresh = FsspecStorage(tmp_path)
    with pytest.warns(UserWarning, match="torn"):
        assert [(e.seq, e.record.payload) for e in fresh.read_log("log", Big)] == [(1, "a"), (3, "c")]


def test_renameat2_refuses_to_replace(tmp_path: Path) -> None:
    from mlops_kit.core.storage import _local

    if _local.RENAME_NOREPLACE is None:
        pytest.skip("renameat2 is not available on this platform")
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    with pytest.raises(FileExistsError):
        _local.RENAME_NOREPLACE(str(a), str(b))
    assert b.read_bytes() == b"2"
