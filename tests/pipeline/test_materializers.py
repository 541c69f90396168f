"""Materializers: typed round trips, the most specific type wins, user registrations, fallbacks."""

from __future__ import annotations

import io
from typing import IO, Any

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.pipeline import Materializer, register_materializer
from mlops_kit.pipeline._materializers import candidates, materializer_named


def round_trip(value: Any) -> tuple[str, Any]:
    for materializer in candidates(value):
        buffer = io.BytesIO()
        try:
            materializer.save(value, buffer)
        except Exception:
            continue
        return materializer.name, materializer.load(io.BytesIO(buffer.getvalue()))
    raise AssertionError("no materializer")


def test_builtin_choices_round_trip() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]}, index=pd.Index([5, 6], name="id"))
    name, back = round_trip(df)
    assert name == "parquet"
    pd.testing.assert_frame_equal(back, df)
    name, back = round_trip(np.arange(6.0).reshape(2, 3))
    assert name == "npy"
    np.testing.assert_array_equal(back, np.arange(6.0).reshape(2, 3))
    assert round_trip({"a": [1, 2.5, None, True, "s"]}) == ("json", {"a": [1, 2.5, None, True, "s"]})
    assert round_trip((1, 2)) == ("cloudpickle", (1, 2))  # a tuple would come back as a list from JSON
    assert round_trip({1: "int key"}) == ("cloudpickle", {1: "int key"})
    name, back = round_trip(np.array([{"a": 1}], dtype=object))
    assert name == "cloudpickle"
    assert back[0] == {"a": 1}


def test_unstorable_frames_fall_back_to_pickle() -> None:
    for df in (
        pd.DataFrame({"a": pd.Series([1, "x"], dtype=object)}),  # mixed types
        pd.DataFrame({"a": pd.Series([1, 2], dtype=object)}),  # would come back as int64
        pd.DataFrame({"a": [[1], [2, 3]]}),  # lists
    ):
        name, back = round_trip(df)
        assert name == "cloudpickle"
        pd.testing.assert_frame_equal(back, df)
    strings = pd.DataFrame({"a": pd.Series(["x", None], dtype=object)})
    assert round_trip(strings)[0] == "parquet"


class Celsius(float):
    pass


class CelsiusMaterializer(Materializer):
    name = "test-celsius"

    def save(self, value: Any, file: IO[bytes]) -> None:
        file.write(repr(float(value)).encode())

    def load(self, file: IO[bytes]) -> Any:
        return Celsius(file.read().decode())


def test_user_materializer_wins_over_a_base_type() -> None:
    assert round_trip(Celsius(3.5))[0] == "cloudpickle"  # a float subclass is not plain JSON
    register_materializer(Celsius, CelsiusMaterializer())
    name, back = round_trip(Celsius(3.5))
    assert (name, back, type(back)) == ("test-celsius", 3.5, Celsius)
    assert round_trip(2.5)[0] == "json"
    assert isinstance(materializer_named("test-celsius"), CelsiusMaterializer)


def test_user_materializer_is_used_by_a_cached_run() -> None:
    register_materializer(Celsius, CelsiusMaterializer())
    temp = mk.step(lambda: Celsius(21.0), name="temp")
    store = mk.MemoryStorage()
    pipe = mk.Pipeline([temp], name="temps")
    run = pipe.run(storage=store, progress=False)
    assert run.step("temp").outputs["temp"].materializer == "test-celsius"
    stored = pipe.runs(store)[0].outputs["temp"]
    assert (stored, type(stored)) == (21.0, Celsius)


def test_registration_errors() -> None:
    with pytest.raises(mk.ConfigError, match="dotted type path"):
        register_materializer("DataFrame", CelsiusMaterializer())
    with pytest.raises(mk.ConfigError, match="Materializer instance"):
        register_materializer(Celsius, object())  # type: ignore[arg-type]

    class Impostor(CelsiusMaterializer):
        pass

    with pytest.raises(mk.ConfigError, match="named 'test-celsius' is already registered"):
        register_materializer(Celsius, Impostor())
    with pytest.raises(mk.PipelineError, match="materializer 'nope', which is not registered"):
        materializer_named("nope")
