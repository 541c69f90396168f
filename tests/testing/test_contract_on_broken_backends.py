"""``StorageContract`` run by a user on broken backends: it ends, and says what is wrong.

The user's test module runs with pytest's ``pytester`` in a subprocess, as their own test
run would, under a ``--timeout`` far below what 100,000 retried appends take.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import threading

import pytest

from mlops_kit.core.storage import MemoryStorage, Storage
from mlops_kit.testing import StorageContract


class ForgetfulCreate(Storage):
    def __init__(self):
        super().__init__()
        self.data = {}

    def _read(self, key):
        return self.data[key] if key in self.data else self._missing(key)

    def _missing(self, key):
        raise FileNotFoundError(key)

    def _write(self, key, data):
        self.data[key] = data

    def _create(self, key, data):
        if key not in self.data:
            self.data[key] = data  # no `return True`: the bug

    def _list(self, prefix):
        return list(self.data)

    def _delete(self, key):
        self.data.pop(key, None)


class TestForgetful(StorageContract):
    model_examples = 5

    @pytest.fixture
    def make_storage(self):
        return ForgetfulCreate


class TestInstanceInsteadOfFactory(StorageContract):
    @pytest.fixture
    def make_storage(self):
        return MemoryStorage()
"""


def test_the_contract_on_broken_backends_ends_and_names_the_mistake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--timeout", "20", timeout=120
    )
    outcomes = result.parseoutcomes()
    out = result.stdout.str()
    assert "Timeout" not in out
    assert "ForgetfulCreate._create returned None; a _create hook must return True" in out
    assert "too much contention" not in out
    assert "must return a factory" in out
    # every test of the instance-instead-of-factory class errors in setup with that message
    assert out.count("ERROR test_user.py::TestInstanceInsteadOfFactory::") == outcomes["errors"]
    assert outcomes["errors"] >= 20
    # the forgetful backend fails each test that creates a key, and passes the others
    for name in (
        "test_create_never_overwrites",
        "test_log_appends_in_order_under_concurrency",
        "test_model_based",
    ):
        assert f"FAILED test_user.py::TestForgetful::{name}" in out
    assert outcomes["passed"] >= 1
