"""Shared fixtures: storages of every backend, and a moto S3 server on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage

BACKENDS = ["memory", "local", pytest.param("s3", marks=pytest.mark.s3)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_moto_conditional_puts_atomic() -> None:
    """moto checks ``If-None-Match: *`` and then stores the object without a lock, so under
    its threaded server two concurrent creates of one key can both succeed, which S3 never
    allows. Serialize moto's object PUTs so that the fake keeps S3's guarantee."""
    from moto.s3.responses import S3Response

    original = S3Response._key_response_put
    if getattr(original, "atomic", False):
        return
    lock = threading.Lock()

    @functools.wraps(original)
    def put(self: S3Response, *args: object, **kwargs: object) -> object:
        with lock:
            return original(self, *args, **kwargs)

    put.atomic = True  # type: ignore[attr-defined]
    S3Response._key_response_put = put  # type: ignore[method-assign,assignment]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with a bucket named ``test``; yields its URL."""
    from moto.server import ThreadedMotoServer

    _make_moto_conditional_puts_atomic()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import s3fs

    s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint).mkdir("test")
    yield endpoint
    server.stop()


def s3_options(endpoint: str) -> dict[str, object]:
    return {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}


@pytest.fixture
def make_s3_storage(s3_endpoint: str) -> Callable[[], Storage]:
    return lambda: FsspecStorage(f"s3://test/{uuid.uuid4().hex}", **s3_options(s3_endpoint))


@pytest.fixture
def make_local_storage(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Storage]:
    return lambda: FsspecStorage(tmp_path_factory.mktemp("store"))


@pytest.fixture(params=BACKENDS)
def make_any_storage(request: pytest.FixtureRequest) -> Callable[[], Storage]:
    """Builds an empty storage of each backend in turn: memory, local folder, S3 (moto)."""
    if request.param == "memory":
        return MemoryStorage
    return request.getfixturevalue(f"make_{request.param}_storage")  # type: ignore[no-any-return]


@pytest.fixture
def any_storage(make_any_storage: Callable[[], Storage]) -> Storage:
    return make_any_storage()
