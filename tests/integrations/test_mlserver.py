"""Our runtime in a real MLServer process, on the settings ``mlops-kit export mlserver`` wrote.

MLServer runs from a venv of its own (see ``_mlserver_env``), queried over REST and gRPC
by Triton's clients; what it served is read back through our deployer and monitor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from click.testing import CliRunner
from scipy import stats
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

import mlops_kit as mk
from mlops_kit.cli import main
from tests.conftest import free_port
from tests.integrations._mlserver_proc import MLServer, eventually

# The first test of a session on a clean machine builds MLServer's venv (minutes).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
FEATURES = ["age", "spend", "plan"]


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "spend": rng.normal(50, 20, n).round(2),
            "plan": rng.choice(["basic", "pro", "plus"], n),
        }
    )


REFERENCE = customers(300, seed=0)
CHURNED = (REFERENCE["spend"] + (REFERENCE["plan"] == "pro") * 20 > 55).astype(int)


def churn_model(c: float) -> Pipeline:
    encode = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    return make_pipeline(encode, LogisticRegression(C=c, max_iter=1000)).fit(REFERENCE, CHURNED)


def price_model(slope: float) -> LinearRegression:
    x = REFERENCE[["age"]].astype(float)
    return LinearRegression().fit(x, slope * x["age"])


def export(store: Path, endpoint: str, out: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--storage", str(store), "export", "mlserver", endpoint, "--out", str(out), *options]
    )
    return result.exit_code, result.output


def tamper(store: mk.Storage, mv: mk.ModelVersion) -> None:
    """Flip the last byte of a version's stored artifact."""
    key = f"blobs/sha256/{mv.fingerprint[:2]}/{mv.fingerprint}"
    data = store.read(key)
    store.write(key, data[:-1] + bytes([data[-1] ^ 0xFF]))


@dataclass
class Served:
    store: Path
    registry: mk.Registry
    server: MLServer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One MLServer with the models of three endpoints: churn (alias + canary), crm (pinned +
    canary), price (alias, moved by a test)."""
    root = tmp_path_factory.mktemp("mlserver")
    path = root / "store"
    registry = mk.Registry(mk.storage(str(path)))
    for c in (1.0, 0.01, 100.0):
        registry.register("churn", churn_model(c), input_example=REFERENCE.head(5))
    registry.set_alias("churn", "production", 1)
    registry.register("price", price_model(2.0), input_example=REFERENCE[["age"]].head(5))
    registry.register("price", price_model(3.0), input_example=REFERENCE[["age"]].head(5))
    registry.set_alias("price", "production", 1)
    deployer = mk.LocalDeployer(registry)
    deployer.deploy("churn@production", endpoint="churn")
    deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.2))
    deployer.deploy("churn:1", endpoint="crm")
    deployer.deploy("churn:2", endpoint="crm", strategy=mk.Canary(weight=0.5))
    deployer.deploy("price@production", endpoint="price")
    deployer.close()
    out = root / "models"
    http, grpc = free_port(), free_port()
    ports = ["--host", "127.0.0.1", "--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", "0"]
    for endpoint in ("churn", "crm", "price"):
        code, output = export(
            path, endpoint, out, *ports, "--poll-interval", "0.3", "--flush-interval", "0.3"
        )
        assert code == 0, output
    with MLServer(out, http, grpc) as server:
        assert server.wait(), server.log()
        yield Served(path, registry, server)


def http_infer(
    served: Served, model: str, frame: pd.DataFrame, request_id: str = ""
) -> tuple[np.ndarray, str]:
    client = triton_http.InferenceServerClient(served.server.http.removeprefix("http://"))
    inputs = []
    for name, datatype in (("age", "INT64"), ("spend", "FP64"), ("plan", "BYTES")):
        if name in frame:
            tensor = triton_http.InferInput(name, [len(frame)], datatype)
            values = frame[name].to_numpy(dtype=object if datatype == "BYTES" else None)
            tensor.set_data_from_numpy(values, binary_data=False)
            inputs.append(tensor)
    result = client.infer(model, inputs, request_id=request_id)
    return result.as_numpy("predict").ravel(), result.get_response()["model_version"]


def grpc_infer(
    served: Served, model: str, frame: pd.DataFrame, request_id: str = ""
) -> tuple[np.ndarray, str]:
    client = triton_grpc.InferenceServerClient(served.server.grpc)
    inputs = []
    for name, datatype in (("age", "INT64"), ("spend", "FP64"), ("plan", "BYTES")):
        tensor = triton_grpc.InferInput(name, [len(frame)], datatype)
        tensor.set_data_from_numpy(frame[name].to_numpy(dtype=object if datatype == "BYTES" else None))
        inputs.append(tensor)
    result = client.infer(model, inputs, request_id=request_id)
    return result.as_numpy("predict").ravel(), result.get_response().model_version


def test_rest_and_grpc_answers_are_the_registry_models_predictions(served: Served) -> None:
    rows = customers(40, seed=7)
    for model, ref in (("churn", "churn@production"), ("churn-candidate", "churn:2")):
        expected = served.registry.load(ref).predict(rows)
        label = served.registry.get(ref).ref
        for infer in (http_infer, grpc_infer):
            answer, version = infer(served, model, rows)
            assert version == label
            np.testing.assert_array_equal(answer, expected)
    # pandas' codec named on the request (content_type: pd), as MLServer's own clients send it
    body = {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": "age", "shape": [3], "datatype": "INT64", "data": rows["age"].head(3).tolist()},
            {"name": "spend", "shape": [3], "datatype": "FP64", "data": rows["spend"].head(3).tolist()},
            {
                "name": "plan",
                "shape": [3],
                "datatype": "BYTES",
                "data": rows["plan"].head(3).tolist(),
                "parameters": {"content_type": "str"},
            },
        ],
    }
    answer = httpx.post(f"{served.server.http}/v2/models/churn/infer", json=body, timeout=30).json()
    assert answer["outputs"][0]["data"] == served.registry.load("churn:1").predict(rows.head(3)).tolist()
    body["outputs"] = [{"name": "predict_proba"}]
    answer = httpx.post(f"{served.server.http}/v2/models/churn/infer", json=body, timeout=30).json()
    proba = served.registry.load("churn:1").predict_proba(rows.head(3))
    assert answer["outputs"][0]["shape"] == [3, 2]
    np.testing.assert_allclose(np.reshape(answer["outputs"][0]["data"], (3, 2)), proba, rtol=1e-12)


def test_input_that_does_not_fit_the_signature_is_a_400_naming_the_columns(served: Served) -> None:
    body = {"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [30]}]}
    answer = httpx.post(f"{served.server.http}/v2/models/churn/infer", json=body, timeout=30)
    assert answer.status_code == 400
    assert "missing columns ['spend', 'plan']" in answer.json()["error"]
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}]}
    answer = httpx.post(f"{served.server.http}/v2/models/churn/infer", json=body, timeout=30)
    assert answer.status_code == 400
    assert "has 2 columns; the model takes 3" in answer.json()["error"]


def test_traffic_reaches_the_endpoints_log_the_monitor_and_the_counts(served: Served) -> None:
    batches = [customers(3, seed=100 + i) for i in range(11)]
    ids = [f"t-{uuid.uuid4().hex}" for _ in batches]
    for i, (rows, rid) in enumerate(zip(batches, ids)):
        if i < 7:
            http_infer(served, "crm", rows, rid)  # the primary, over REST
        else:
            grpc_infer(served, "crm-candidate", rows, rid)  # the canary, over gRPC
    deployer = mk.LocalDeployer(mk.Registry(mk.storage(str(served.store))))
    eventually(lambda: len(deployer.predictions("crm")) == 33, "33 rows in crm's log")
    log = deployer.predictions("crm").set_index("request_id").loc[ids]
    sent = pd.concat(batches, ignore_index=True)
    assert log["version"].tolist() == ["churn:1"] * 21 + ["churn:2"] * 12
    pd.testing.assert_frame_equal(log[FEATURES].reset_index(drop=True), sent[FEATURES], check_dtype=False)
    expected = np.concatenate(
        [
            served.registry.load("churn:1").predict(sent[:21]),
            served.registry.load("churn:2").predict(sent[21:]),
        ]
    )
    np.testing.assert_array_equal(log["prediction"].to_numpy(), expected)

    report = mk.Monitor(REFERENCE, columns=["spend"], method="ks").check(deployer.predictions("crm"))
    ks = stats.ks_2samp(REFERENCE["spend"], sent["spend"])
    assert report.columns["spend"].statistic == pytest.approx(ks.statistic, abs=1e-12)
    assert report.columns["spend"].p_value == pytest.approx(ks.pvalue, rel=1e-9)

    def counted() -> bool:
        versions = deployer.status("crm").versions
        return versions["churn:1"].requests == 7 and versions["churn:2"].requests == 4

    eventually(counted, "7 and 4 requests in crm's counts")
    versions = deployer.status("crm").versions
    assert (versions["churn:1"].role, versions["churn:1"].rows) == ("primary", 21)
    assert (versions["churn:2"].role, versions["churn:2"].rows) == ("candidate", 12)


def test_the_runtime_follows_its_alias_and_refuses_a_tampered_version(served: Served) -> None:
    rows = customers(10, seed=3)[["age"]]
    assert http_infer(served, "price", rows)[1] == "price:1"
    served.registry.set_alias("price", "production", 2)
    eventually(lambda: http_infer(served, "price", rows)[1] == "price:2", "price:2 answering")
    answer, _ = grpc_infer_age(served, rows)
    np.testing.assert_allclose(answer, served.registry.load("price:2").predict(rows), rtol=1e-12)

    third = served.registry.register("price", price_model(4.0), input_example=REFERENCE[["age"]].head(5))
    tamper(served.registry.storage, third)
    served.registry.set_alias("price", "production", third.version)
    eventually(lambda: "IntegrityError: The artifact of price:3" in served.server.log(), "price:3 refused")
    assert http_infer(served, "price", rows)[1] == "price:2"  # still serving what it verified


def grpc_infer_age(served: Served, frame: pd.DataFrame) -> tuple[np.ndarray, str]:
    client = triton_grpc.InferenceServerClient(served.server.grpc)
    tensor = triton_grpc.InferInput("age", [len(frame)], "INT64")
    tensor.set_data_from_numpy(frame["age"].to_numpy())
    result = client.infer("price", [tensor])
    return result.as_numpy("predict").ravel(), result.get_response().model_version


def test_a_tampered_model_is_refused_at_load_with_our_integrity_error(tmp_path: Path) -> None:
    path = tmp_path / "store"
    registry = mk.Registry(mk.storage(str(path)))
    mv = registry.register("churn", churn_model(1.0), input_example=REFERENCE.head(5))
    mk.LocalDeployer(registry).deploy("churn:1", endpoint="churn").close()
    tamper(registry.storage, mv)
    http, grpc = free_port(), free_port()
    code, output = export(
        path, "churn", tmp_path / "models", "--host", "127.0.0.1", "--http-port", str(http),
        "--grpc-port", str(grpc), "--metrics-port", "0",
    )  # fmt: skip
    assert code == 0, output
    with MLServer(tmp_path / "models", http, grpc) as server:
        server.proc.wait(timeout=120)  # MLServer 1.7.1 stops (with status 0) when a model fails to load
        log = server.log()
    assert "Couldn't load model 'churn'" in log
    assert (
        "mlops_kit.core.errors.IntegrityError: The artifact of churn:1 does not match its recorded sha256"
        in log
    )
    assert "Nothing was deserialized" in log
