"""Content-addressed blobs: deduplicated, verified on every read, streamed when large."""

from __future__ import annotations

import hashlib
import os

import pytest

from mlops_kit.core.errors import IntegrityError, InvalidNameError, NotFoundError
from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage


def test_blob_key_layout(any_storage: Storage) -> None:
    digest = any_storage.put_blob(b"abc")
    assert digest == hashlib.sha256(b"abc").hexdigest()
    assert any_storage.list("blobs") == [f"blobs/sha256/{digest[:2]}/{digest}"]
    assert any_storage.has_blob(digest)


def test_missing_blob(any_storage: Storage) -> None:
    digest = "0" * 64
    with pytest.raises(NotFoundError, match="missing"):
        any_storage.get_blob(digest)
    with pytest.raises(NotFoundError, match="missing"), any_storage.open_blob(digest):
        pass


@pytest.mark.parametrize("digest", ["", "abc", "G" * 64, "A" * 64, "../" + "a" * 61])
def test_malformed_digest(digest: str) -> None:
    with pytest.raises(InvalidNameError, match="digest"):
        MemoryStorage().get_blob(digest)


def test_truncated_blob_is_detected(any_storage: Storage) -> None:
    digest = any_storage.put_blob(b"0123456789")
    any_storage.write(f"blobs/sha256/{digest[:2]}/{digest}", b"01234")
    with pytest.raises(IntegrityError, match="corrupted"):
        any_storage.get_blob(digest)


def test_streamed_blob_matches_put_blob(any_storage: Storage) -> None:
    chunks = [os.urandom(1 << 20) for _ in range(3)]
    with any_storage.blob_writer() as writer:
        for chunk in chunks:
            writer.write(chunk)
    assert writer.size == 3 << 20
    assert writer.digest == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert any_storage.get_blob(writer.digest) == b"".join(chunks)


def test_failed_stream_leaves_nothing(any_storage: Storage) -> None:
    with pytest.raises(RuntimeError), any_storage.blob_writer() as writer:
        writer.write(b"partial")
        raise RuntimeError("producer crashed")
    assert any_storage.list("blobs") == []


def test_local_blobs_are_moved_into_place_without_temp_leftovers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = FsspecStorage(tmp_path)
    with store.blob_writer() as writer:
        writer.write(b"x" * 1000)
    with store.open_blob(writer.digest) as f:
        assert f.name.startswith(str(tmp_path))  # the stored file itself, no copy
    assert os.listdir(tmp_path / ".tmp") == []
    assert store.list("") == [f"blobs/sha256/{writer.digest[:2]}/{writer.digest}"]


def test_writing_a_blob_keeps_what_the_process_knows_of_its_logs() -> None:
    """The registry stores model bytes with put_blob between appends of the versions log."""
    from mlops_kit.core.lineage import RunLink
    from mlops_kit.core.storage._cache import cache_of

    store = MemoryStorage()
    store.append("models/m/versions", RunLink(id="r1", pipeline="p"))
    tails = dict(cache_of(store).tails)
    assert tails == {"models/m/versions": 1}
    store.put_blob(b"model bytes")
    assert cache_of(store).tails == tails
