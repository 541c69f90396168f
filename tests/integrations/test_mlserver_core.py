"""The runtime's logic without MLServer: loading after verification, following an alias,
writing the endpoint's log and counts (``Serving`` and the deployer's ``Recorder``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import mlops_kit as mk
from mlops_kit.core.errors import IntegrityError, SchemaError
from mlops_kit.integrations._mlserver_core import Options, Serving

X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})


def line(slope: float) -> LinearRegression:
    return LinearRegression().fit(X, slope * X["x"])


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = str(tmp_path / "store")
    registry = mk.Registry(mk.storage(url))
    for slope in (2.0, 3.0):
        registry.register("price", line(slope), input_example=X)
    registry.set_alias("price", "production", 1)
    mk.LocalDeployer(registry).deploy("price@production").close()
    return url


def serving(url: str, ref: str = "price@production") -> Serving:
    # a long poll: the test moves the alias and calls check_alias() itself
    return Serving(Options.parse(url, {"ref": ref, "poll_interval": 3600}, "price"))


def test_requests_go_to_the_endpoints_log_and_counts(store: str) -> None:
    s = serving(store)
    try:
        out = s.predict(s.served, pd.DataFrame({"x": [5.0, 6.0], "note": ["a", "b"]}), ["predict"], "r-1")
        np.testing.assert_allclose(out[0], [10.0, 12.0])
        with pytest.raises(SchemaError, match="missing column"):
            s.predict(s.served, pd.DataFrame({"y": [1.0]}), ["predict"], "r-2")
    finally:
        s.close()  # flushes
    dep = mk.LocalDeployer(mk.Registry(mk.storage(store)))
    log = dep.predictions("price")
    assert log[["request_id", "version", "x", "note", "prediction"]].to_dict("list") == {
        "request_id": ["r-1", "r-1"],
        "version": ["price:1", "price:1"],
        "x": [5.0, 6.0],
        "note": ["a", "b"],  # columns beyond the signature are kept in the log, as by our servers
        "prediction": [10.0, 12.0],
    }
    stats = dep.status("price").versions["price:1"]
    assert (stats.role, stats.requests, stats.rows, stats.errors, stats.client_errors) == (
        "primary",
        2,
        3,
        0,
        1,
    )


def test_a_moved_alias_is_loaded_and_a_tampered_version_is_refused(store: str) -> None:
    s = serving(store)
    registry = mk.Registry(mk.storage(store))
    try:
        assert s.check_alias() is False
        registry.set_alias("price", "production", 2)
        assert s.check_alias() is True and s.label == "price:2"
        third = registry.register("price", line(4.0), input_example=X)
        key = f"blobs/sha256/{third.fingerprint[:2]}/{third.fingerprint}"
        registry.storage.write(key, registry.storage.read(key) + b"!")
        registry.set_alias("price", "production", 3)
        with pytest.raises(IntegrityError, match="The artifact of price:3 does not match"):
            s.check_alias()
        assert s.label == "price:2"  # still serving what it verified
    finally:
        s.close()
    with pytest.raises(IntegrityError, match="Nothing was deserialized"):
        serving(store, "price:3")


def test_a_pinned_version_does_not_follow_anything(store: str) -> None:
    s = serving(store, "price:1")
    try:
        assert s._thread is None and s.label == "price:1"
    finally:
        s.close()


def test_plain_columns_are_answered_counted_and_logged_as_their_table_would_be(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    example = pd.DataFrame(
        {"age": [30, 41, 52, 18], "spend": [1.5, 2.0, 9.0, 4.5], "plan": ["a", "b", "a", "c"]}
    )
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough"), LinearRegression()
    ).fit(example, [1.0, 2.0, 3.0, 4.0])
    url = str(tmp_path / "store")
    registry = mk.Registry(mk.storage(url))
    registry.register("spend", model, input_example=example)
    mk.LocalDeployer(registry).deploy("spend:1").close()
    columns = {"age": [33, 60], "spend": [3, 7.5], "plan": ["b", "c"]}  # JSON ints in a float column
    s = Serving(Options.parse(url, {"ref": "spend:1"}, "spend"))
    try:
        assert s.served.checker.plain(columns)
        plain = s.predict(s.served, columns, ["predict"], "plain")
        table = s.predict(s.served, pd.DataFrame(columns), ["predict"], "table")
        np.testing.assert_array_equal(plain[0], table[0])
        np.testing.assert_array_equal(plain[0], model.predict(pd.DataFrame(columns)))
    finally:
        s.close()
    dep = mk.LocalDeployer(mk.Registry(mk.storage(url)))
    log = dep.predictions("spend").set_index("request_id")
    names = ["version", "age", "spend", "plan", "prediction"]
    pd.testing.assert_frame_equal(
        log.loc[["plain"], names].reset_index(drop=True), log.loc[["table"], names].reset_index(drop=True)
    )
    assert log["spend"].dtype == np.float64 and log["age"].dtype == np.int64
    stats = dep.status("spend").versions["spend:1"]
    assert (stats.requests, stats.rows, stats.errors, stats.client_errors) == (2, 4, 0, 0)
