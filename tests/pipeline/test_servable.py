"""A model that ships with its preprocessing: ModelWithSteps and Pipeline.as_model."""

from __future__ import annotations

import json
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlops_kit as mk
from mlops_kit.core.errors import PipelineError, SchemaError
from mlops_kit.pipeline import PreprocessingError
from mlops_kit.pipeline._codefp import code_fingerprint

FIT = ["x1", "x2", "x1_band"]  # the model's columns; the raw data has x1 and x2 only


def sample(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(0, 2, n), rng.normal(0, 1, n)
    y = (np.floor(x1) + 0.5 * x2 + rng.normal(0, 0.5, n) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


@mk.step
def features(data: pd.DataFrame, width: float = 1.0) -> pd.DataFrame:
    if (data["x1"].abs() > 1e6).any():
        raise ValueError("x1 is out of range")
    return data.assign(x1_band=np.floor(data["x1"] / width))


@mk.step(name="train", outputs=("model",))
def train(features: pd.DataFrame) -> tuple[LogisticRegression]:
    return (LogisticRegression().fit(features[FIT], features["y"]),)


@mk.step
def evaluate(model: Any, features: pd.DataFrame) -> float:
    mk.log_metric("fitted_is_plain", float(isinstance(model, LogisticRegression)))
    return float(model.score(features[FIT], features["y"]))


def fitted(data: pd.DataFrame, width: float = 1.0) -> LogisticRegression:
    return LogisticRegression().fit(features(data, width)[FIT], data["y"])


def test_predict_and_predict_proba_pass_through_the_steps() -> None:
    data = sample(400, seed=1)
    inner = fitted(data)
    model = mk.ModelWithSteps([features], inner)
    raw = sample(100, seed=2)[["x1", "x2"]]
    prepared = features(raw)[FIT]
    np.testing.assert_array_equal(model.predict(raw), inner.predict(prepared))
    np.testing.assert_array_equal(model.predict_proba(raw), inner.predict_proba(prepared))
    np.testing.assert_array_equal(model.decision_function(raw), inner.decision_function(prepared))
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert (model.input, model.output, model.values) == ("data", "features", {})
    # the label and the column order of the prepared frame do not matter: the model's columns are taken
    np.testing.assert_array_equal(model.transform(sample(5, seed=3)).columns, FIT)


def test_methods_the_model_lacks_are_absent() -> None:
    data = sample(100, seed=1)
    model = mk.ModelWithSteps([features], LinearRegression().fit(features(data)[FIT], data["y"]))
    assert not hasattr(model, "predict_proba") and not hasattr(model, "decision_function")
    assert not hasattr(model, "classes_")
    assert model.predict(data).shape == (100,)


def test_as_model_outputs_a_model_that_takes_raw_data() -> None:
    pipe = mk.Pipeline([features, train, evaluate], name="train").as_model(preprocess=[features])
    assert pipe.outputs == ["features", "model_fitted", "evaluate", "model"]
    assert pipe.inputs == ["data"] and pipe.params == {"width": 1.0}
    data = sample(400, seed=4)
    run = pipe.run(inputs={"data": data}, params={"width": 0.5}, storage=mk.MemoryStorage(), progress=False)
    model = run.outputs["model"]
    assert isinstance(model, mk.ModelWithSteps) and model.values == {"width": 0.5}
    assert run.metrics["fitted_is_plain"] == 1.0  # steps that took the model still get the fitted one
    raw = sample(50, seed=5)[["x1", "x2"]]
    expected = fitted(data, width=0.5).predict_proba(features(raw, width=0.5)[FIT])
    np.testing.assert_allclose(model.predict_proba(raw), expected, rtol=0, atol=1e-12)


def test_the_bundle_is_never_cached_so_it_follows_the_steps() -> None:
    store = mk.MemoryStorage()
    pipe = mk.Pipeline([features, train], name="train").as_model(preprocess=["features"])
    data = sample(200, seed=6)
    pipe.run(inputs={"data": data}, storage=store, progress=False)
    again = pipe.run(inputs={"data": data}, storage=store, progress=False)
    assert [(s.name, s.cache_hit) for s in again.steps] == [
        ("features", True),
        ("train", True),
        ("model_with_steps", False),
    ]
    assert isinstance(again.outputs["model"], mk.ModelWithSteps)


def test_it_pickles_with_cloudpickle_and_runs_in_worker_processes(process_runner: mk.ProcessRunner) -> None:
    pipe = mk.Pipeline([features, train], name="train").as_model(preprocess=[features])
    data = sample(300, seed=7)
    run = pipe.run(inputs={"data": data}, runner=process_runner, cache=False, progress=False)
    model = run.outputs["model"]
    copy = cloudpickle.loads(cloudpickle.dumps(model))
    raw = sample(40, seed=8).drop(columns="y")
    np.testing.assert_array_equal(copy.predict_proba(raw), fitted(data).predict_proba(features(raw)[FIT]))
    assert copy.code == model.code == {"features": code_fingerprint(features.func)}


def test_a_step_that_fails_at_predict_time_is_named() -> None:
    model = mk.ModelWithSteps([features], fitted(sample(100, seed=1)))
    bad = pd.DataFrame({"x1": [0.0, 2e6], "x2": [0.0, 0.0]})
    with pytest.raises(
        PreprocessingError, match=r"Step 'features' .* at predict time on 2 rows: ValueError: x1 is out"
    ) as info:
        model.predict(bad)
    assert info.value.step == "features" and isinstance(info.value.__cause__, ValueError)
    with pytest.raises(PreprocessingError, match="Step 'features'"):
        model.predict_proba(bad)


def test_a_prepared_frame_missing_model_columns_is_a_schema_error() -> None:
    @mk.step
    def renamed(data: pd.DataFrame) -> pd.DataFrame:
        return data.rename(columns={"x2": "other"}).assign(x1_band=0.0)

    model = mk.ModelWithSteps([renamed], fitted(sample(100, seed=1)))
    with pytest.raises(SchemaError, match=r"lacks the columns \['x2'\] the model was fit on"):
        model.predict(sample(3, seed=2))


def test_the_registry_records_raw_signature_code_and_environment() -> None:
    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    model = mk.ModelWithSteps([features], fitted(sample(200, seed=1)))
    raw = sample(20, seed=2)[["x1", "x2"]]
    mv = reg.register("churn", model, input_example=raw.head(5))
    assert mv.flavor == "steps"
    assert mv.model_class == "mlops_kit.ModelWithSteps(sklearn.linear_model.LogisticRegression)"
    assert mv.signature is not None and mv.signature.inputs.names == ["x1", "x2"]
    assert dict(mv.code) == {"features": code_fingerprint(features.func)}
    assert {"mlops-kit", "numpy", "scikit-learn"} <= set(mv.environment.libraries)  # numpy: the step's np
    np.testing.assert_array_equal(reg.load("churn").predict(raw), model.predict(raw))
    # other models' records are stored exactly as before: no "code" key at all
    plain = reg.register("plain", model.model)
    assert dict(plain.code) == {}
    key = "models/plain/versions/000000000001.json"
    assert "code" not in json.loads(store.read(key))["data"]


def test_the_code_fingerprint_follows_the_step_code() -> None:
    @mk.step(name="features")
    def other(data: pd.DataFrame, width: float = 1.0) -> pd.DataFrame:
        return data.assign(x1_band=np.ceil(data["x1"] / width))

    inner = fitted(sample(100, seed=1))
    assert mk.ModelWithSteps([other], inner).code != mk.ModelWithSteps([features], inner).code


@mk.step
def lookup_features(data: pd.DataFrame, table: dict) -> pd.DataFrame:
    return data.assign(x1_band=data["x1"].round().map(table).fillna(0.0))


@mk.step
def extra(features: pd.DataFrame) -> pd.DataFrame:
    return features


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: mk.ModelWithSteps([features], object()), "needs a fitted model with a predict method"),
        (lambda: mk.ModelWithSteps([lookup_features], LinearRegression()), r"take 2 names without a default"),
        (
            lambda: mk.ModelWithSteps([lookup_features], LinearRegression(), input="data"),
            r"need \['table'\], which have no default",
        ),
        (
            lambda: mk.ModelWithSteps([features], LinearRegression(), values={"depth": 3}),
            r"values= has \['depth'\]",
        ),
        (lambda: mk.ModelWithSteps([features], LinearRegression(), output="nope"), "output='nope' is not"),
        (
            lambda: mk.Pipeline([features, train]).as_model("weights", preprocess=[features]),
            "'weights' is not an output",
        ),
        (
            lambda: mk.Pipeline([features, train]).as_model(preprocess=["cleaning"]),
            "'cleaning', which is not a step",
        ),
        (lambda: mk.Pipeline([features, train]).as_model(preprocess=[]), "non-empty list"),
        (
            lambda: mk.Pipeline([features, train, evaluate]).as_model(preprocess=[features, evaluate]),
            "Step 'evaluate' runs after",
        ),
        (
            lambda: mk.Pipeline([features, extra, train]).as_model(preprocess=[extra]),
            "takes 'features' from step 'features', which is not in preprocess=",
        ),
    ],
)
def test_mistakes_are_clear_errors(build: Any, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        build()


def test_values_fill_inputs_the_steps_need() -> None:
    data = sample(100, seed=1)
    table = {-1.0: -1.0, 0.0: 0.0, 1.0: 1.0}
    inner = LogisticRegression().fit(lookup_features(data, table)[FIT], data["y"])
    model = mk.ModelWithSteps([lookup_features], inner, input="data", values={"table": table})
    np.testing.assert_array_equal(model.predict(data), inner.predict(lookup_features(data, table)[FIT]))
