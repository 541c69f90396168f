"""The Open Inference Protocol over gRPC: a real grpcio server on 127.0.0.1 and Triton's
gRPC client (``tritonclient.grpc``), or its generated stub where a request must be built
by hand (typed contents, malformed tensors, reading the metadata of an answer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as triton
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LogisticRegression
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc
from tritonclient.utils import InferenceServerException

import mlops_kit as mk
from mlops_kit.core.storage import MissingExtraError
from tests.conftest import free_port
from tests.deploy._grpc_clients import failure, grpc_of, inputs, request, stub_of, typed, version_of
from tests.deploy.conftest import Doubler, Picky, X, Y, make_registry, running

ROOT = Path(__file__).resolve().parents[2]
NUMERIC = X[["age", "spend"]]


class Mixed:
    """Uses every input type: ``age`` if ``flag`` else ``spend``, plus 100 for the plan "pro"."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        base = np.where(df["flag"].to_numpy(dtype=bool), df["age"].to_numpy() * 1.0, df["spend"].to_numpy())
        return base + np.where(df["plan"] == "pro", 100.0, 0.0)


MIXED = X.assign(flag=[True, False, True, False, True, False])


@pytest.fixture
def registry() -> mk.Registry:
    reg = make_registry()
    reg.register("mixed", Mixed(), input_example=MIXED)
    reg.register("picky", Picky(), input_example=X)
    reg.register("frame", Doubler("frame"), input_example=X)
    return reg


def row(age: int = 30, spend: float = 50.0, plan: str = "pro") -> list[triton.InferInput]:
    return inputs(age=("INT64", [age]), spend=("FP64", [spend]), plan=("BYTES", [plan]))


def typed_row(age: Any = 30, spend: float = 50.0, plan: bytes = b"pro") -> list[Any]:
    return [
        typed("age", "INT64", "int64_contents", [age]),
        typed("spend", "FP64", "fp64_contents", [spend]),
        typed("plan", "BYTES", "bytes_contents", [plan]),
    ]


# -- health and metadata ---------------------------------------------------------------


def test_live_ready_and_metadata(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    with grpc_of(ep) as client:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("m") and client.is_model_ready("m", "1")
        server = client.get_server_metadata(as_json=True)
        assert server["name"] == "mlops-kit" and server["version"] == mk.__version__
        meta = client.get_model_metadata("m", as_json=True)
        assert meta["name"] == "m" and meta["versions"] == ["1"] and meta["platform"] == "mlops-kit/sklearn"
        assert [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]] == [
            ("age", "INT64", ["-1"]),
            ("spend", "FP64", ["-1"]),
            ("plan", "BYTES", ["-1"]),
        ]
        assert [t["name"] for t in meta["outputs"]] == ["prediction"]
        assert client.get_model_metadata("m", "1", as_json=True)["name"] == "m"
        for call in (lambda: client.get_model_metadata("nope"), lambda: client.is_model_ready("m", "7")):
            with pytest.raises(InferenceServerException) as info:
                call()
            assert info.value.status() == "StatusCode.NOT_FOUND"
    ep.close()


def test_nothing_deployed_is_unavailable(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    deployer.undeploy("m")
    with grpc_of(ep) as client:
        assert client.is_server_live()
        assert not client.is_server_ready() and not client.is_model_ready("m")
        with pytest.raises(InferenceServerException) as info:
            client.infer("m", row())
        assert info.value.status() == "StatusCode.UNAVAILABLE"
        assert "serves no model" in info.value.message()
    ep.close()


# -- inference -------------------------------------------------------------------------


def test_raw_inputs_of_every_kind_reach_the_model(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("mixed")
    columns = {
        "age": ("INT64", [25, 40, 61]),
        "spend": ("FP64", [10.5, 80.25, 5.0]),
        "plan": ("BYTES", ["pro", "basic", "pro"]),
        "flag": ("BOOL", [True, False, False]),
    }
    with grpc_of(ep) as client:
        result = client.infer("mixed", inputs(**columns))
    answer = result.get_response(as_json=True)
    assert answer["model_name"] == "mixed" and answer["model_version"] == "1"
    assert [(o["name"], o["datatype"], o["shape"]) for o in answer["outputs"]] == [
        ("prediction", "FP64", ["3"])
    ]
    assert result.as_numpy("prediction").tolist() == [125.0, 80.25, 105.0]
    ep.close()


def test_typed_contents_reach_the_model(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf")
    reference = LogisticRegression().fit(NUMERIC, Y)
    ages, spends = [25, 61, 33], [10.0, 5.2, 42.0]
    message = request(
        "clf", typed("age", "INT64", "int64_contents", ages), typed("spend", "FP64", "fp64_contents", spends)
    )
    with stub_of(ep) as stub:
        answer = stub.ModelInfer(message)
        # INT32 in int_contents and FP32 in fp32_contents are widened as the signature says
        narrow = stub.ModelInfer(
            request(
                "clf",
                typed("age", "INT32", "int_contents", ages),
                typed("spend", "FP32", "fp32_contents", [10.0, 5.25, 42.0]),
            )
        )
    expected = reference.predict(pd.DataFrame({"age": ages, "spend": spends}))
    assert answer.outputs[0].datatype == "INT64" and list(answer.outputs[0].shape) == [3]
    assert np.frombuffer(answer.raw_output_contents[0], "<i8").tolist() == expected.tolist()
    expected = reference.predict(pd.DataFrame({"age": ages, "spend": [10.0, 5.25, 42.0]}))
    assert np.frombuffer(narrow.raw_output_contents[0], "<i8").tolist() == expected.tolist()
    ep.close()


def test_typed_bool_and_bytes_and_a_column_shape(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("mixed")
    message = request(
        "mixed",
        typed("age", "INT64", "int64_contents", [25, 40], shape=[2, 1]),
        typed("spend", "FP64", "fp64_contents", [10.5, 80.25], shape=[2, 1]),
        typed("plan", "BYTES", "bytes_contents", [b"pro", b"basic"]),
        typed("flag", "BOOL", "bool_contents", [False, True]),
    )
    with stub_of(ep) as stub:
        answer = stub.ModelInfer(message)
    assert np.frombuffer(answer.raw_output_contents[0], "<f8").tolist() == [110.5, 40.0]
    ep.close()


def test_versions_are_chosen_like_over_rest(deployer: mk.LocalDeployer) -> None:
    deployer.deploy("m:1")
    ep = deployer.deploy("m:2", strategy=mk.Shadow())
    with grpc_of(ep) as client:
        assert client.infer("m", row()).as_numpy("prediction").tolist() == [1.0]
        second = client.infer("m", row(), model_version="2")
        assert second.as_numpy("prediction").tolist() == [2.0]
        assert second.get_response().model_version == "2"
        assert client.infer("m", row(), model_version="m:1").as_numpy("prediction").tolist() == [1.0]
        for name, version in (("m", "3"), ("nope", "")):
            with pytest.raises(InferenceServerException) as info:
                client.infer(name, row(), model_version=version)
            assert info.value.status() == "StatusCode.NOT_FOUND"
            assert ("not live" if version else "Unknown model") in info.value.message()
    ep.close()


@pytest.mark.parametrize(
    ("tensors", "fields", "expected"),
    [
        ([typed("age", "FP128", "fp64_contents", [1.0])], {}, "unknown datatype 'FP128'"),
        ([typed("age", "INT64", "int64_contents", [1, 2], shape=[1, 2])], {}, "is not a column"),
        ([typed("age", "INT8", "int_contents", [1000])], {}, "out of range for INT8"),
        ([typed("age", "INT64", "fp64_contents", [1.0])], {}, "carried in contents.int64_contents"),
        ([typed("age", "INT64", "int64_contents", [1, 2], shape=[3])], {}, "says 3 values"),
        (
            [pb.ModelInferRequest().InferInputTensor(name="age", datatype="INT64", shape=[2])],
            {"raw_input_contents": [b"\x01" * 8]},
            "needs 16 bytes",
        ),
        ([], {"raw_input_contents": [b"1"]}, "raw_input_contents has 1 entries for 0 inputs"),
        ([], {}, "non-empty list of tensors"),
        (typed_row(plan=b"\xff\xfe"), {}, "datatype BYTES but 'data' holds"),
        (typed_row()[1:], {}, "missing column ['age']"),
        ([typed("age", "INT64", "int64_contents", [])], {}, "no rows"),
    ],
)
def test_bad_tensors_are_invalid_arguments(
    deployer: mk.LocalDeployer, tensors: list[Any], fields: dict[str, Any], expected: str
) -> None:
    ep = deployer.deploy("m:1")
    with stub_of(ep) as stub:
        error = failure(stub.ModelInfer, request("m", *tensors, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert expected in error.details()
    assert dict(error.trailing_metadata())["x-model-version"] == "m:1"
    ep.close()


def test_a_column_of_the_wrong_type_is_an_invalid_argument(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    with grpc_of(ep) as client, pytest.raises(InferenceServerException) as info:
        client.infer("m", inputs(age=("INT64", [1]), spend=("BYTES", ["lots"]), plan=("BYTES", ["pro"])))
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "column 'spend': expected float" in info.value.message()
    ep.close()


def test_a_model_that_raises_is_internal_with_its_message(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("picky")
    with stub_of(ep) as stub:
        error = failure(stub.ModelInfer.with_call, request("picky", *typed_row(age=13)))
        assert stub.ModelInfer(request("picky", *typed_row(age=14))).outputs[0].name == "prediction"
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "Model picky:1 raised ValueError: age 13 is unlucky"
    assert dict(error.trailing_metadata())["x-model-version"] == "picky:1"
    ep.close()


def test_a_bug_is_internal_and_logged_without_a_traceback(
    deployer: mk.LocalDeployer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mlops_kit.deploy._grpc import _codec

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug in the encoder")

    monkeypatch.setattr(_codec, "infer_response", broken)
    ep = deployer.deploy("m:1")
    with stub_of(ep) as stub:
        error = failure(stub.ModelInfer, request("m", *typed_row()))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "Internal error (RuntimeError); see the server log."
    assert any(r.exc_info and "a bug in the encoder" in str(r.exc_info[1]) for r in caplog.records)
    ep.close()


def test_requested_outputs(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("frame")
    with grpc_of(ep) as client:
        every = client.infer("frame", row(age=21))
        assert [o.name for o in every.get_response().outputs] == ["double", "age"]
        one = client.infer("frame", row(age=21), outputs=[triton.InferRequestedOutput("age")])
        assert [o.name for o in one.get_response().outputs] == ["age"]
        assert one.as_numpy("age").tolist() == [21]
        for name in ("prediction", "nope"):  # a DataFrame's outputs are its columns
            with pytest.raises(InferenceServerException) as info:
                client.infer("frame", row(), outputs=[triton.InferRequestedOutput(name)])
            assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
            assert f"Unknown output {name!r}" in info.value.message()
    ep.close()


def test_predict_proba_by_output_name_or_parameter(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf")
    reference = (
        LogisticRegression().fit(NUMERIC, Y).predict_proba(pd.DataFrame({"age": [30], "spend": [50.0]}))
    )
    numeric = inputs(age=("INT64", [30]), spend=("FP64", [50.0]))
    with grpc_of(ep) as client:
        by_name = client.infer("clf", numeric, outputs=[triton.InferRequestedOutput("predict_proba")])
        by_parameter = client.infer("clf", numeric, parameters={"method": "predict_proba"})
        label = client.infer("clf", numeric, outputs=[triton.InferRequestedOutput("prediction")])
        with pytest.raises(InferenceServerException) as info:
            client.infer(
                "clf",
                numeric,
                outputs=[triton.InferRequestedOutput("predict_proba")],
                parameters={"method": "predict"},
            )
        assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
        with pytest.raises(InferenceServerException) as info:
            client.infer("clf", numeric, parameters={"method": "fit"})
        assert "Unknown method 'fit'" in info.value.message()
    np.testing.assert_allclose(by_name.as_numpy("predict_proba"), reference, rtol=1e-12)
    np.testing.assert_allclose(by_parameter.as_numpy("predict_proba"), reference, rtol=1e-12)  # as REST
    assert label.as_numpy("prediction").tolist() == [int(reference.argmax())]
    deployer.deploy("m:1", endpoint="plain")
    with grpc_of(deployer.endpoint("plain")) as client:  # a regressor has no predict_proba
        with pytest.raises(InferenceServerException) as info:
            client.infer("m", row(), outputs=[triton.InferRequestedOutput("predict_proba")])
        assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
        assert "Unknown output 'predict_proba' of model m:1" in info.value.message()  # as REST
    ep.close()


def test_every_answer_carries_the_version(deployer: mk.LocalDeployer) -> None:
    deployer.deploy("m:1")
    ep = deployer.deploy("m:2", strategy=mk.Shadow())
    with stub_of(ep) as stub:
        _, call = stub.ModelInfer.with_call(request("m", *typed_row(), version="2"))
        assert version_of(call) == "m:2"
        _, call = stub.ServerLive.with_call(pb.ServerLiveRequest())
        assert version_of(call) == "m:1"
        _, call = stub.ModelMetadata.with_call(pb.ModelMetadataRequest(name="m", version="2"))
        assert version_of(call) == "m:2"
        _, call = stub.ModelReady.with_call(pb.ModelReadyRequest(name="m"))
        assert version_of(call) == "m:1"
        error = failure(stub.ModelInfer, request("m", *typed_row(), version="9"))
        assert error.code() == grpc.StatusCode.NOT_FOUND and version_of(error) == "m:1"
    ep.close()


def test_calls_are_logged_and_counted(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    app = ep.asgi_app()
    with ep.grpc_server(port=0, app=app) as server, grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        stub.ModelInfer(request("m", *typed_row(age=41), id="grpc-1"))
        stub.ModelInfer(request("m", *typed_row(age=42), id="grpc-2"))
        failure(stub.ModelInfer, request("m", *typed_row(age=43), version="9"))
        with running(app) as url:
            import httpx

            text = httpx.get(f"{url}/metrics").text
    log = ep.predictions()
    rows = log[log["request_id"].isin(["grpc-1", "grpc-2"])]
    assert rows["age"].tolist() == [41, 42] and rows["version"].tolist() == ["m:1", "m:1"]
    assert rows["plan"].tolist() == ["pro", "pro"] and rows["prediction"].tolist() == [1.0, 1.0]
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "mlops_kit_requests_total":
                counts[sample.labels["status"]] = counts.get(sample.labels["status"], 0) + sample.value
    assert counts == {"200": 2.0, "404": 1.0}
    ep.close()


# -- lifecycle -------------------------------------------------------------------------


def test_start_stop_and_a_port_in_use(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    server = ep.grpc_server(port=0).start()
    try:
        with pytest.raises(mk.ConfigError, match="already started"):
            server.start()
        with pytest.raises(mk.ConfigError, match="Cannot listen for gRPC"):
            ep.grpc_server(port=server.port).start()
    finally:
        server.stop()
    server.stop()  # idempotent
    with pytest.raises(mk.ConfigError, match="port must be an integer"):
        ep.grpc_server(port=70000)
    with pytest.raises(mk.ConfigError, match="app= must be an app made by this endpoint"):
        ep.grpc_server(app=object())
    with pytest.raises(mk.ConfigError, match="grpc_port must be a port number"):
        mk.serve(ep, grpc_port=0)
    ep.close()


def test_a_missing_extra_names_it(deployer: mk.LocalDeployer, monkeypatch: pytest.MonkeyPatch) -> None:
    ep = deployer.deploy("m:1")
    monkeypatch.setitem(sys.modules, "grpc", None)  # as if grpcio were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'mlops-kit\[grpc\]'"):
        ep.grpc_server()
    ep.close()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_with_a_grpc_port(tmp_path: Path, workers: int) -> None:
    from tests.cli.test_serve import serving, version

    store = str(tmp_path / "store")
    make_registry(mk.storage(store))
    port = free_port()
    args = ("m:2", "--grpc-port", str(port), "--workers", str(workers))
    with serving(store, *args) as (http, proc, _):
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        assert client.is_server_ready()
        for i in range(6):  # a new connection each: with two workers, the kernel spreads them
            answer = triton.InferenceServerClient(f"127.0.0.1:{port}").infer(
                "m", row(age=60 + i), request_id=f"g{i}"
            )
            assert answer.as_numpy("prediction").tolist() == [2.0]
        assert version(http) == "m:2"  # HTTP beside it
        proc.terminate()
        assert proc.wait(timeout=60) == 0
    log = mk.LocalDeployer(mk.Registry(mk.storage(store))).endpoint("m").predictions()
    rows = log[log["request_id"].str.startswith("g", na=False)].sort_values("age")
    assert rows["age"].tolist() == list(range(60, 66)) and set(rows["version"]) == {"m:2"}


def test_http_serving_never_imports_grpc() -> None:
    code = (
        "import sys, mlops_kit as mk; from tests.deploy.conftest import make_registry; "
        "ep = mk.LocalDeployer(make_registry()).deploy('m:1'); ep.asgi_app(); "
        "print([m for m in ('grpc', 'google.protobuf') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
