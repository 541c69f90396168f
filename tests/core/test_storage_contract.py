"""Every backend we ship passes the contract that in-house backends run too."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops_kit.core.storage import MemoryStorage, Storage
from mlops_kit.testing import StorageContract


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def make_storage(self) -> Callable[[], Storage]:
        return MemoryStorage


class TestLocalStorage(StorageContract):
    @pytest.fixture
    def make_storage(self, make_local_storage: Callable[[], Storage]) -> Callable[[], Storage]:
        return make_local_storage


@pytest.mark.s3
class TestS3Storage(StorageContract):
    model_examples = 10  # S3 calls cost milliseconds; test_storage_model.py runs S3 beside the others

    @pytest.fixture
    def make_storage(self, make_s3_storage: Callable[[], Storage]) -> Callable[[], Storage]:
        return make_s3_storage
