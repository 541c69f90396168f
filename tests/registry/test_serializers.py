"""Serializers: the built-ins, safe loading under skops, and user-registered ones."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.registry import (
    SerializationError,
    UntrustedTypesError,
    get_serializer,
    register_serializer,
    serializer_names,
)

from .conftest import Doubler

LOADED: list[str] = []


class Tattletale:
    """Records in LOADED whenever an instance is rebuilt from an artifact."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __setstate__(self, state: dict[str, Any]) -> None:
        LOADED.append(state["label"])
        self.__dict__.update(state)


@pytest.mark.parametrize("serializer", ["cloudpickle", "joblib", "skops"])
def test_sklearn_round_trip(reg: mk.Registry, fitted: Any, frame: pd.DataFrame, serializer: str) -> None:
    mv = reg.register("churn", fitted, serializer=serializer, input_example=frame.head(3))
    assert mv.serializer == serializer
    lib = {"cloudpickle": "cloudpickle", "joblib": "joblib", "skops": "skops"}[serializer]
    assert lib in mv.environment.libraries
    loaded = reg.load(mv.ref)
    np.testing.assert_array_equal(loaded.predict(frame), fitted.predict(frame))


def test_skops_refuses_untrusted_types_and_loads_nothing(reg: mk.Registry) -> None:
    LOADED.clear()
    mv = reg.register("m", Tattletale("x"), serializer="skops")
    with pytest.raises(UntrustedTypesError) as caught:
        reg.load(mv.ref)
    name = f"{Tattletale.__module__}.Tattletale"
    assert caught.value.types == (name,)
    assert name in str(caught.value) and "trusted=[...]" in str(caught.value)
    assert isinstance(caught.value, mk.MlopsKitError)
    assert LOADED == []  # nothing was instantiated
    # The caller decides what to trust, by name or by class.
    assert reg.load(mv.ref, trusted=[name]).label == "x"
    assert reg.load(mv.ref, trusted=[Tattletale]).label == "x"
    assert LOADED == ["x", "x"]


def test_skops_checks_trusted_argument(reg: mk.Registry) -> None:
    reg.register("m", Tattletale("x"), serializer="skops")
    with pytest.raises(mk.ConfigError, match="trusted= expects type names"):
        reg.load("m", trusted=[3])


def test_options_are_refused_by_serializers_that_take_none(reg: mk.Registry) -> None:
    reg.register("m", Doubler())
    with pytest.raises(
        mk.ConfigError,
        match=r"'cloudpickle' takes no load options, got \['trusted'\] \(trusted= applies to the 'skops'",
    ):
        reg.load("m", trusted=["x"])


def test_custom_serializer_round_trip() -> None:
    class JsonSerializer:
        name = "json-test"
        library = "pydantic"

        def dumps(self, obj: Any) -> bytes:
            return json.dumps(obj).encode()

        def loads(self, data: bytes, **options: Any) -> Any:
            return json.loads(data)

    serializer = register_serializer(JsonSerializer(), replace=True)
    assert get_serializer("json-test") is serializer and "json-test" in serializer_names()
    reg = mk.Registry(mk.MemoryStorage())
    mv = reg.register("m", {"w": [1, 2]}, serializer="json-test")
    assert mv.serializer == "json-test" and "pydantic" in mv.environment.libraries
    assert reg.storage.get_blob(mv.fingerprint) == b'{"w": [1, 2]}'
    assert reg.load("m") == {"w": [1, 2]}
    with pytest.raises(mk.ConflictError, match="already registered"):
        register_serializer(JsonSerializer())
    with pytest.raises(SerializationError, match="'json-test' cannot serialize the model"):
        reg.register("m", {1, 2}, serializer="json-test")


def test_register_serializer_checks_the_protocol() -> None:
    class NoLoads:
        name = "x"

        def dumps(self, obj: Any) -> bytes:
            return b""

    with pytest.raises(mk.ConfigError, match="Expected a serializer"):
        register_serializer(NoLoads())  # type: ignore[arg-type]

    class BadName:
        name = "../x"

        def dumps(self, obj: Any) -> bytes:
            return b""

        def loads(self, data: bytes, **options: Any) -> Any:
            return None

    with pytest.raises(mk.InvalidNameError):
        register_serializer(BadName())


def test_serializer_returning_non_bytes() -> None:
    class Liar:
        name = "liar-test"

        def dumps(self, obj: Any) -> bytes:
            return "text"  # type: ignore[return-value]

        def loads(self, data: bytes, **options: Any) -> Any:
            return None

    register_serializer(Liar(), replace=True)
    store = mk.MemoryStorage()
    with pytest.raises(SerializationError, match="returned str instead of bytes"):
        mk.Registry(store).register("m", 1, serializer="liar-test")
    assert store.list() == []


def test_loading_with_an_unregistered_serializer(reg: mk.Registry) -> None:
    class Temp:
        name = "temp-test"

        def dumps(self, obj: Any) -> bytes:
            return b"1"

        def loads(self, data: bytes, **options: Any) -> Any:
            return 1

    register_serializer(Temp(), replace=True)
    reg.register("m", 1, serializer="temp-test")
    from mlops_kit.registry import _serializers

    del _serializers._SERIALIZERS["temp-test"]  # as in a process that never registered it
    with pytest.raises(mk.ConfigError, match=r"Unknown serializer 'temp-test'.*register_serializer"):
        reg.load("m")


def test_load_failure_is_translated(reg: mk.Registry) -> None:
    mv = reg.register("m", Doubler())
    import pickle

    bad = pickle.dumps(Doubler()).replace(b"Doubler", b"Xoubler")
    digest = reg.storage.put_blob(bad)
    forged = mv.model_copy(update={"version": 2, "fingerprint": digest})
    reg.storage.append("models/m/versions", forged)
    with pytest.raises(SerializationError, match="could not load model m:2: AttributeError"):
        reg.load("m:2")


def test_missing_extra_is_reported(monkeypatch: pytest.MonkeyPatch, reg: mk.Registry) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "skops.io", None)  # as if skops were not installed
    with pytest.raises(mk.ConfigError, match=r"pip install 'mlops-kit\[skops\]'") as caught:
        reg.register("m", Doubler(), serializer="skops")
    assert isinstance(caught.value, ImportError)
    assert reg.storage.list() == []
