"""Registering versions: what a ModelVersion records, and loading it back."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.lineage import RunLink
from mlops_kit.registry import Environment, ModelVersion
from mlops_kit.testing import FakeClock

from .conftest import Doubler


def test_versions_count_up_and_load_back(reg: mk.Registry) -> None:
    first = reg.register("m", {"weights": [1, 2]})
    second = reg.register("m", {"weights": [3]})
    assert (first.version, second.version) == (1, 2)
    assert (first.ref, str(second)) == ("m:1", "m:2")
    assert reg.load("m:1") == {"weights": [1, 2]}
    assert reg.load("m") == {"weights": [3]}  # latest
    assert reg.load(first) == {"weights": [1, 2]}  # a ModelVersion is a reference too
    assert [v.version for v in reg.versions("m")] == [1, 2]
    assert reg.models() == ["m"]


def test_sklearn_pipeline_record(reg: mk.Registry, fitted: Any, frame: pd.DataFrame) -> None:
    clock = FakeClock()
    reg = mk.Registry(reg.storage, clock=clock)
    data = mk.Dataset("customers", storage=reg.storage).save(frame)
    mv = reg.register(
        "churn",
        fitted,
        metrics={"auc": np.float64(0.91), "n": 3},
        params={"C": 1.0, "solver": "lbfgs", "seed": np.int64(4), "class_weight": None, "warm": False},
        tags={"team": "growth"},
        description="baseline",
        dataset=data,
        run=RunLink(id="r-17", pipeline="train"),
        input_example=frame.head(5),
    )
    assert mv.flavor == "sklearn-pipeline"
    assert mv.model_class == "sklearn.pipeline.Pipeline"
    assert mv.metrics == {"auc": 0.91, "n": 3.0}
    assert mv.params == {"C": 1.0, "solver": "lbfgs", "seed": 4, "class_weight": None, "warm": False}
    assert mv.tags == {"team": "growth"} and mv.description == "baseline"
    assert mv.dataset == data.link and mv.run == RunLink(id="r-17", pipeline="train")
    assert mv.created_at == clock.now() and "@" in mv.created_by
    assert mv.serializer == "cloudpickle" and len(mv.fingerprint) == 64 and mv.size_bytes > 0
    assert mv.environment.python.split(".")[:2] == [str(v) for v in sys.version_info[:2]]
    assert {"numpy", "pandas", "scikit-learn", "cloudpickle"} <= set(mv.environment.libraries)
    model = reg.load("churn:1")
    np.testing.assert_array_equal(model.predict(frame), fitted.predict(frame))


def test_signature_is_loose_and_describes_the_output(
    reg: mk.Registry, fitted: Any, frame: pd.DataFrame
) -> None:
    mv = reg.register("churn", fitted, input_example=frame.head(5))
    assert mv.signature is not None
    inputs = mv.signature.inputs
    assert inputs.names == ["age", "spend", "plan"]
    assert [c.dtype for c in inputs.columns.values()] == ["int", "float", "category"]
    # Five rows must not make the schema stricter than the model: no ranges, no
    # category sets, every column nullable.
    assert all(
        c.nullable and c.min is None and c.max is None and c.categories is None
        for c in inputs.columns.values()
    )
    assert inputs.validate(frame.assign(age=frame["age"] * 100)).ok
    assert mv.signature.outputs is not None and mv.signature.outputs.names == ["prediction"]
    assert mv.signature.outputs.columns["prediction"].dtype == "int"
    pd.testing.assert_frame_equal(reg.input_example("churn:1"), frame.head(5))


def test_signature_of_other_prediction_shapes(reg: mk.Registry, frame: pd.DataFrame) -> None:
    class Proba:
        def predict(self, X: pd.DataFrame) -> np.ndarray:
            return np.zeros((len(X), 2))

    class Named:
        def predict(self, X: pd.DataFrame) -> pd.Series:
            return pd.Series(["yes"] * len(X), name="label")

    proba = reg.register("p", Proba(), input_example=frame.head(3))
    assert proba.signature.outputs.names == ["prediction_0", "prediction_1"]  # type: ignore[union-attr]
    named = reg.register("n", Named(), input_example=frame.head(3))
    assert named.signature.outputs.columns["label"].dtype == "string"  # type: ignore[union-attr]
    plain = reg.register("o", {"no": "predict"}, input_example=frame.head(3))
    assert plain.flavor == "object" and plain.signature.outputs is None  # type: ignore[union-attr]
    assert plain.signature.inputs.names == ["age", "spend", "plan"]  # type: ignore[union-attr]


def test_flavors_and_classes(reg: mk.Registry, fitted: Any) -> None:
    assert reg.register("a", fitted[-1]).flavor == "sklearn"
    assert reg.register("a", fitted[-1]).model_class == "sklearn.linear_model.LogisticRegression"
    assert reg.register("b", Doubler()).flavor == "python"
    assert reg.register("c", [1, 2]).model_class == "list"


def test_without_example_there_is_no_signature(reg: mk.Registry) -> None:
    mv = reg.register("m", Doubler())
    assert mv.signature is None and mv.input_example is None
    assert reg.input_example("m") is None


def test_record_is_frozen_and_round_trips(reg: mk.Registry, frame: pd.DataFrame) -> None:
    mv = reg.register("m", Doubler(), metrics={"auc": 0.5}, tags={"a": "b"}, input_example=frame.head(2))
    with pytest.raises(TypeError):
        mv.metrics["auc"] = 1.0  # type: ignore[index]
    with pytest.raises(ValueError, match="frozen"):
        mv.version = 3  # type: ignore[misc]
    assert ModelVersion.model_validate_json(mv.model_dump_json()) == mv
    assert "m:1" in mv._repr_html_() and "auc=0.5" in mv._repr_html_()


def test_run_accepts_anything_with_an_id(reg: mk.Registry) -> None:
    class RunRecord:  # what the pipeline block returns, without importing it
        id = "run-42"
        pipeline = "churn-train"

    assert reg.register("m", 1, run=RunRecord()).run == RunLink(id="run-42", pipeline="churn-train")
    assert reg.register("m", 1, run="run-7").run == RunLink(id="run-7")


def test_same_model_twice_makes_two_versions_sharing_one_blob(reg: mk.Registry) -> None:
    a, b = reg.register("m", Doubler("x")), reg.register("m", Doubler("x"))
    assert (a.version, b.version) == (1, 2) and a.fingerprint == b.fingerprint
    assert len(reg.storage.list("blobs")) == 1


def test_environment_mismatch_warns_with_versions(reg: mk.Registry) -> None:
    mv = reg.register("m", Doubler())
    old = mv.environment.model_copy(
        update={"python": "2.7.18", "libraries": {**mv.environment.libraries, "numpy": "0.1"}}
    )
    forged = mv.model_copy(update={"environment": Environment.model_validate(old.model_dump()), "version": 2})
    reg.storage.append("models/m/versions", forged)
    with pytest.warns(
        mk.registry.EnvironmentMismatchWarning, match=r"Python 2\.7\.18 .*numpy 0\.1 \(here \d"
    ):
        assert reg.load("m:2") == Doubler()


def test_matching_environment_does_not_warn(reg: mk.Registry, recwarn: pytest.WarningsRecorder) -> None:
    reg.register("m", Doubler())
    reg.load("m")
    assert not [w for w in recwarn if issubclass(w.category, mk.registry.EnvironmentMismatchWarning)]


def test_a_second_registry_sees_new_versions_and_aliases(reg: mk.Registry) -> None:
    other = mk.Registry(reg.storage)
    reg.register("m", "one")
    assert other.get("m").version == 1
    reg.register("m", "two")
    reg.set_alias("m", "prod", 2)
    assert other.get("m").version == 2  # the other registry catches up with new versions
    assert other.get("m@prod").version == 2
    reg.set_alias("m", "prod", 1)
    assert other.get("m@prod").version == 1


def test_registry_pickles_without_its_cache(reg: mk.Registry) -> None:
    import pickle

    reg.register("m", "one")
    copy = pickle.loads(pickle.dumps(reg))
    assert copy.load("m") == "one" and repr(copy).startswith("Registry(MemoryStorage(")


def test_default_storage_is_the_local_folder(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_KIT_STORAGE", raising=False)
    mk.Registry().register("m", 1)
    assert (tmp_path / ".mlops" / "models" / "m" / "versions").is_dir()


def test_created_at_is_timezone_aware(reg: mk.Registry) -> None:
    assert reg.register("m", 1).created_at.tzinfo is not None
    assert reg.get("m").created_at <= dt.datetime.now(dt.UTC)
