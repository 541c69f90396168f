"""The opt-in pytest plugin: each fixture works, they share one world per test, and tests are isolated.

Each test writes a small test module of a user's and runs it with pytest's ``pytester``, in
a subprocess: a fresh interpreter, as a user's test run would be.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

OPT_IN = 'pytest_plugins = ["mlops_kit.testing.pytest_plugin"]\n'

MODEL = """
import datetime as dt
import threading

import pandas as pd
from sklearn.linear_model import LinearRegression

import mlops_kit as mk
from mlops_kit.testing import FakeClock

X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})


def fitted(slope=2.0):
    return LinearRegression().fit(X, [slope * v for v in X["x"]])


def endpoint_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("mlops-kit-")]
"""


def run(pytester: pytest.Pytester, tests: str, *, plugin: bool = True) -> pytest.RunResult:
    pytester.makepyfile(test_user=(OPT_IN if plugin else "") + MODEL + tests)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)


def test_each_fixture_gives_what_it_says_and_they_share_one_world(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_clock(mk_clock):
    assert isinstance(mk_clock, FakeClock)
    assert mk_clock.now() == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    mk_clock.sleep(3600)                      # instant
    assert mk_clock.monotonic() == 3600.0


def test_storage(mk_storage):
    assert type(mk_storage) is mk.MemoryStorage and mk_storage.list("") == []
    assert mk_storage.create("k", b"v") and mk_storage.read("k") == b"v"


def test_registry(mk_registry, mk_storage, mk_clock):
    assert isinstance(mk_registry, mk.Registry) and mk_registry.storage is mk_storage
    mk_clock.advance(60)
    mv = mk_registry.register("price", fitted(), input_example=X)
    assert mv.created_at == dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)   # the fake clock's time
    assert mk_registry.load("price:1").predict(X).round(6).tolist() == [2.0, 4.0, 6.0]


def test_deployer(mk_deployer, mk_registry, mk_storage, mk_clock):
    assert isinstance(mk_deployer, mk.LocalDeployer)
    assert mk_deployer.registry is mk_registry and mk_deployer.storage is mk_storage
    assert mk_deployer.clock is mk_clock
    mk_registry.register("price", fitted(), input_example=X)
    endpoint = mk_deployer.deploy("price:1")
    assert endpoint.predict({"x": 10.0}).round(3).tolist() == [20.0]
    event = mk_deployer.history("price")[-1]
    assert (event.kind, event.at) == ("deploy", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert endpoint.predictions()["version"].tolist() == ["price:1"]
""",
    )
    result.assert_outcomes(passed=4)


def test_every_test_starts_from_an_empty_world(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_first_fills_everything(mk_storage, mk_registry, mk_deployer, mk_clock):
    mk_storage.write("notes/a", b"x")
    mk_registry.register("price", fitted(), input_example=X)
    mk_registry.set_alias("price", "production", 1)
    mk_deployer.deploy("price@production").predict({"x": 1.0})
    mk_clock.advance(dt.timedelta(days=3))


def test_second_sees_none_of_it(mk_storage, mk_registry, mk_deployer, mk_clock):
    assert mk_storage.list("") == []
    assert mk_registry.models() == []
    assert mk_deployer.endpoints() == []
    assert mk_clock.now() == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
""",
    )
    result.assert_outcomes(passed=2)


def test_no_endpoint_thread_outlives_its_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_deploys_and_never_closes(mk_registry, mk_deployer):
    for slope in (2.0, 3.0):
        mk_registry.register("price", fitted(slope), input_example=X)
    endpoint = mk_deployer.deploy("price:1", endpoint="a")
    endpoint.predict({"x": 1.0})
    mk_deployer.deploy("price:2", endpoint="a", strategy=mk.Shadow()).predict({"x": 1.0})  # 2 threads
    mk_deployer.deploy("price:2", endpoint="b").predict({"x": 1.0})
    mk_deployer.endpoint("a").predict({"x": 2.0})   # a second handle, not closed either
    assert endpoint_threads()


def test_after_it():
    assert endpoint_threads() == []
""",
    )
    result.assert_outcomes(passed=2)


def test_nothing_is_written_to_disk(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_KIT_STORAGE", str(pytester.path / "configured-store"))
    result = run(
        pytester,
        """
def test_uses_every_fixture(mk_registry, mk_deployer):
    mk_registry.register("price", fitted(), input_example=X)
    mk_deployer.deploy("price:1").predict({"x": 1.0})
""",
    )
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "configured-store").exists()
    assert not (pytester.path / ".mlops").exists()


def test_the_plugin_is_opt_in(pytester: pytest.Pytester) -> None:
    result = run(pytester, "def test_needs_it(mk_storage):\n    pass\n", plugin=False)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'mk_storage' not found*"])
