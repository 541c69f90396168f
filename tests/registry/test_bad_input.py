"""Bad input gets a clear error from our hierarchy, and nothing is written."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.registry import SerializationError

from .conftest import Doubler

BAD_REFS = [
    "m:abc",
    "m@",
    ":1",
    "m:1:2",
    "m:0",
    "m:-1",
    "m@1",
    "../m",
    "m/x",
    "a..b",
    "",
    " m",
    "m@prod@x",
    "m:1@a",
]


@pytest.mark.parametrize("ref", BAD_REFS)
def test_malformed_refs_are_refused_before_storage(ref: str) -> None:
    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    for call in (reg.get, reg.load, reg.input_example):
        with pytest.raises(mk.InvalidNameError, match=r"Invalid model reference|Invalid name"):
            call(ref)
    assert store.list() == []


@pytest.mark.parametrize("ref", [None, 3, b"m", ["m"]])
def test_non_string_refs(reg: mk.Registry, ref: Any) -> None:
    with pytest.raises(mk.InvalidNameError, match="expected a string"):
        reg.get(ref)


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "x y", ".hidden", "a..b", "m\n", 7])
def test_invalid_model_names_write_nothing(name: Any) -> None:
    store = mk.MemoryStorage()
    with pytest.raises(mk.InvalidNameError):
        mk.Registry(store).register(name, Doubler())
    assert store.list() == []


def test_unknown_model_lists_the_models(reg: mk.Registry) -> None:
    with pytest.raises(mk.NotFoundError, match=r"No model named 'nope'; .* has no models yet"):
        reg.get("nope")
    reg.register("churn", 1)
    reg.register("fraud", 1)
    for call in (
        lambda: reg.get("nope"),
        lambda: reg.get("nope:2"),
        lambda: reg.get("nope@prod"),
        lambda: reg.load("nope"),
        lambda: reg.versions("nope"),
        lambda: reg.history("nope"),
        lambda: reg.aliases("nope"),
        lambda: reg.set_alias("nope", "prod", 1),
        lambda: reg.delete_alias("nope", "prod"),
        lambda: reg.archive("nope", 1),
    ):
        with pytest.raises(
            mk.NotFoundError, match=r"No model named 'nope'; models in .*\['churn', 'fraud'\]"
        ):
            call()


def test_unknown_version_gives_the_range(reg: mk.Registry) -> None:
    for i in range(3):
        reg.register("m", i)
    with pytest.raises(mk.NotFoundError, match="Model 'm' has no version 7; its versions are 1 to 3"):
        reg.get("m:7")
    with pytest.raises(mk.NotFoundError, match="has no version 9"):
        reg.set_alias("m", "prod", 9)
    with pytest.raises(mk.InvalidNameError, match="Invalid model version '2': expected a positive integer"):
        reg.set_alias("m", "prod", "2")  # type: ignore[arg-type]
    with pytest.raises(mk.InvalidNameError, match="expected a positive integer"):
        reg.archive("m", True)  # type: ignore[arg-type]


def test_unknown_alias_lists_the_aliases(reg: mk.Registry) -> None:
    reg.register("m", 1)
    with pytest.raises(mk.NotFoundError, match="Model 'm' has no alias 'prod'; its aliases: none"):
        reg.get("m@prod")
    reg.register("m", 2)
    reg.set_alias("m", "staging", 2)
    reg.set_alias("m", "canary", 1)
    with pytest.raises(
        mk.NotFoundError, match=r"no alias 'prod'; its aliases: 'canary' -> 1, 'staging' -> 2"
    ):
        reg.load("m@prod")
    with pytest.raises(mk.NotFoundError, match="no alias 'prod'"):
        reg.delete_alias("m", "prod")


@pytest.mark.parametrize("alias", ["", "a/b", "..", "123", "x y"])
def test_invalid_aliases(reg: mk.Registry, alias: str) -> None:
    reg.register("m", 1)
    with pytest.raises(mk.InvalidNameError):
        reg.set_alias("m", alias, 1)
    assert reg.history("m")[-1].kind == "registered"


def test_unserializable_model_names_serializer_and_type() -> None:
    store = mk.MemoryStorage()
    model = Doubler(tag={"inner": [1, threading.Lock()]})
    with pytest.raises(SerializationError) as caught:
        mk.Registry(store).register("m", model)
    message = str(caught.value)
    assert "Serializer 'cloudpickle'" in message
    assert "Doubler" in message  # the model's type
    assert "model.tag['inner'][1] is a _thread.lock" in message  # the offending part
    assert "Nothing was written" in message
    assert store.list() == []
    assert isinstance(caught.value, mk.MlopsKitError) and isinstance(caught.value, TypeError)


def test_unserializable_under_joblib_too() -> None:
    store = mk.MemoryStorage()
    with pytest.raises(SerializationError, match=r"Serializer 'joblib' .*_thread\.lock"):
        mk.Registry(store).register("m", {"lock": threading.Lock()}, serializer="joblib")
    assert store.list() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": {"auc": "high"}}, "Metric 'auc' must be a number"),
        ({"metrics": {"auc": True}}, "Metric 'auc' must be a number"),
        ({"metrics": {"auc": float("nan")}}, "Metric 'auc' must be finite"),
        ({"metrics": [("auc", 1.0)]}, "metrics= must be a dict of metric names to numbers"),
        ({"metrics": {"bad name": 1.0}}, "Invalid metric name 'bad name'"),
        ({"params": {"est": object()}}, "Param 'est' must be a str, int, float, bool or None"),
        ({"params": {"lr": float("inf")}}, "Param 'lr' must be finite"),
        ({"tags": {"team": 3}}, "Tag 'team' must be a string"),
        ({"description": None}, "description= must be a string"),
        ({"dataset": "customers:1"}, "dataset= expects a DatasetVersion"),
        ({"run": 42}, "Expected a run"),
        ({"serializer": "nope"}, r"Unknown serializer 'nope'; registered: \[.*'cloudpickle'.*\]"),
    ],
)
def test_bad_arguments_write_nothing(kwargs: dict[str, Any], message: str) -> None:
    store = mk.MemoryStorage()
    with pytest.raises((mk.ConfigError, mk.InvalidNameError), match=message):
        mk.Registry(store).register("m", Doubler(), **kwargs)
    assert store.list() == []


def test_bad_input_example_writes_nothing(frame: pd.DataFrame) -> None:
    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    with pytest.raises(mk.SchemaError, match="Expected input_example to be a pandas DataFrame"):
        reg.register("m", Doubler(), input_example=frame.to_numpy())

    class Broken:
        def predict(self, X: pd.DataFrame) -> None:
            raise RuntimeError("boom")

    with pytest.raises(
        mk.SchemaError, match=r"model.predict\(input_example\) failed with RuntimeError: boom"
    ):
        reg.register("m", Broken(), input_example=frame.head(2))
    assert store.list() == []


def test_search_arguments_are_checked(reg: mk.Registry) -> None:
    reg.register("m", 1, metrics={"auc": 0.5})
    with pytest.raises(mk.ConfigError, match="Cannot order by 'auc'"):
        reg.search("m", order_by="auc")
    with pytest.raises(mk.ConfigError, match="limit= must be"):
        reg.search("m", limit=-1)
    with pytest.raises(mk.ConfigError, match="where= must be a function"):
        reg.search("m", where="auc > 0.5")  # type: ignore[arg-type]
    with pytest.raises(mk.ConfigError, match="mode= must be"):
        reg.best("m", "auc", mode="highest")  # type: ignore[arg-type]
    with pytest.raises(mk.NotFoundError, match="has the metric 'f1'; metrics recorded: \\['auc'\\]"):
        reg.best("m", "f1")


def test_version_of_another_model_is_refused(reg: mk.Registry) -> None:
    other = reg.register("other", 1)
    reg.register("m", 1)
    with pytest.raises(mk.ConflictError, match="is a version of model 'other', not of 'm'"):
        reg.set_alias("m", "prod", other)


def test_storage_argument_is_checked() -> None:
    with pytest.raises(mk.ConfigError, match="storage= must be a Storage"):
        mk.Registry(42)  # type: ignore[arg-type]
