"""``mk.storage(url)``: the right backend for each URL, the default, clear errors."""

from __future__ import annotations

import pickle
import sys

import pytest

import mlops_kit as mk
from mlops_kit.core.errors import ConfigError, StorageError
from mlops_kit.core.storage import STORAGE_ENV, FsspecStorage, MemoryStorage, MissingExtraError
from tests.conftest import free_port


def test_memory_urls_name_shared_stores_and_instances_are_isolated() -> None:
    a, b = mk.storage("memory://factory-test"), mk.storage("memory://factory-test")
    assert isinstance(a, MemoryStorage) and isinstance(b, MemoryStorage)
    a.write("k", b"1")
    assert b.read("k") == b"1"  # one store per name in a process (see test_named_memory.py)
    assert not mk.storage("memory://factory-other").exists("k")
    assert not MemoryStorage().exists("k")


def test_default_is_a_local_folder(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    store = mk.storage()
    store.write("k", b"v")
    assert (tmp_path / ".mlops" / "k").read_bytes() == b"v"


def test_environment_selects_the_default(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(STORAGE_ENV, str(tmp_path / "elsewhere"))
    mk.Dataset("d").storage.write("k", b"v")
    assert (tmp_path / "elsewhere" / "k").exists()
    monkeypatch.setenv(STORAGE_ENV, "memory://")
    assert isinstance(mk.storage(), MemoryStorage)


def test_paths_and_file_urls_are_local(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for url in (tmp_path, str(tmp_path), f"file://{tmp_path}"):
        store = mk.storage(url)
        assert isinstance(store, FsspecStorage) and store.fs is None
    assert mk.storage(tmp_path / "a").url == str(tmp_path / "a")


def test_a_storage_object_passes_through() -> None:
    store = MemoryStorage()
    assert mk.storage(store) is store
    with pytest.raises(ConfigError):
        mk.storage(store, signing_key="k")


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        mk.storage("")
    with pytest.raises(ConfigError, match="takes no options"):
        mk.storage("memory://", endpoint_url="x")
    with pytest.raises(ConfigError, match="storage= must be a Storage"):
        mk.Dataset("d", storage=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="storage= must be a Storage"):
        mk.storage(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fsspec filesystem"):
        FsspecStorage(42)


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "adlfs", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'mlops-kit\[gcs\]'"):
        mk.storage("gs://bucket/prefix")
    with pytest.raises(ImportError, match="pip install adlfs"):  # it is an ImportError too
        mk.storage("abfs://container/prefix")


def test_local_storage_pickles_as_its_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = FsspecStorage(tmp_path, signing_key="k")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.url == store.url and clone.signing_key == b"k"


def test_fsspec_filesystem_object(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fsspec.implementations.local import LocalFileSystem

    store = FsspecStorage(LocalFileSystem(), root=str(tmp_path))
    store.write("a/b", b"1")
    assert (tmp_path / "a" / "b").read_bytes() == b"1"
    assert pickle.loads(pickle.dumps(store)).read("a/b") == b"1"


@pytest.mark.s3
def test_s3_storage_pickles_as_url_and_options(make_s3_storage) -> None:  # type: ignore[no-untyped-def]
    store = make_s3_storage()
    store.write("k", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.read("k") == b"v"
    assert "secret" not in clone.url


@pytest.mark.s3
@pytest.mark.slow
def test_unreachable_s3_endpoint_is_a_clear_storage_error() -> None:
    pytest.importorskip("s3fs")
    store = mk.storage(
        "s3://bucket/prefix",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        key="k",
        secret="s",
        config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2},
    )
    with pytest.raises(StorageError, match="Could not connect"):
        store.read("key")
    with pytest.raises(StorageError):
        mk.Dataset("d", storage=store).versions()


def test_local_os_errors_become_storage_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = mk.storage(tmp_path)
    store.write("k", b"a file")
    with pytest.raises(StorageError, match="'k/x'"):  # 'k' is a file, not a folder
        store.write("k/x", b"v")
