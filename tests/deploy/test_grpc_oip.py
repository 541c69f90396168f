"""gRPC follows the Open Inference Protocol rules REST follows (``mlops_kit.deploy._oip``):
one ``[n, F]`` tensor for the signature's columns, requested outputs and
``parameters.method``, the extensions advertised. Checked side by side with the REST
answer of the same endpoint where the two must agree."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2 as pb
from tritonclient.utils import InferenceServerException

import mlops_kit as mk
from tests.deploy._grpc_clients import failure, grpc_of, request, stub_of, typed
from tests.deploy.conftest import running

MATRIX = np.array([[20.0 + 4 * i, 3.5 * i] for i in range(10)])


def matrix_input(array: np.ndarray, datatype: str = "FP64", name: str = "input-0") -> triton.InferInput:
    tensor = triton.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def expected_of(deployer: mk.LocalDeployer, matrix: np.ndarray, method: str = "predict") -> np.ndarray:
    frame = pd.DataFrame({"age": matrix[:, 0].astype("int64"), "spend": matrix[:, 1]})
    return np.asarray(getattr(deployer.registry.load("clf:1"), method)(frame))


@pytest.mark.parametrize("datatype", ["FP64", "FP32"])
def test_tritonclient_sends_one_n_by_f_tensor(deployer: mk.LocalDeployer, datatype: str) -> None:
    ep = deployer.deploy("clf")
    matrix = MATRIX.astype("float32" if datatype == "FP32" else "float64")
    with grpc_of(ep) as client:
        answer = client.infer("clf", [matrix_input(matrix, datatype)])
        proba = client.infer(
            "clf", [matrix_input(matrix, datatype)], outputs=[triton.InferRequestedOutput("predict_proba")]
        )
    assert answer.as_numpy("prediction").tolist() == expected_of(deployer, MATRIX).tolist()
    np.testing.assert_allclose(
        proba.as_numpy("predict_proba"), expected_of(deployer, MATRIX, "predict_proba"), rtol=1e-12
    )
    ep.close()


def test_one_n_by_f_tensor_in_typed_contents_and_one_row(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf")
    with stub_of(ep) as stub:
        many = stub.ModelInfer(
            request("clf", typed("x", "FP64", "fp64_contents", MATRIX.ravel().tolist(), shape=[10, 2]))
        )
        one = stub.ModelInfer(request("clf", typed("x", "FP64", "fp64_contents", [30.0, 50.0], shape=[1, 2])))
    assert (
        np.frombuffer(many.raw_output_contents[0], "<i8").tolist() == expected_of(deployer, MATRIX).tolist()
    )
    one_row = expected_of(deployer, np.array([[30.0, 50.0]]))
    assert np.frombuffer(one.raw_output_contents[0], "<i8").tolist() == one_row.tolist()
    ep.close()


@pytest.mark.parametrize("width", [1, 3])
def test_an_n_by_f_tensor_of_the_wrong_width_names_the_columns(
    deployer: mk.LocalDeployer, width: int
) -> None:
    ep = deployer.deploy("clf")
    with grpc_of(ep) as client, pytest.raises(InferenceServerException) as info:
        client.infer("clf", [matrix_input(np.ones((2, width)))])
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert (
        f"shape [2, {width}] is not a column, and as one tensor of the model's columns it has {width}; "
        "the model takes 2: ['age', 'spend'] (in this order)"
    ) in info.value.message()
    ep.close()


def test_a_big_raw_request_keeps_its_arrays(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf")
    rng = np.random.default_rng(0)
    matrix = np.column_stack([rng.integers(18, 80, 5000).astype(float), rng.gamma(2.0, 30.0, 5000)])
    with grpc_of(ep) as client:
        answer = client.infer("clf", [matrix_input(matrix)])
    assert answer.as_numpy("prediction").tolist() == expected_of(deployer, matrix).tolist()
    ep.close()


@pytest.mark.parametrize(
    ("outputs", "parameters", "message"),
    [
        (["nope"], {}, "Unknown output 'nope' of model clf:1"),
        (["prediction", "predict_proba"], {}, "ask for the outputs of one method per request"),
        (["prediction"], {"method": "predict_proba"}, "'parameters.method' asks for predict_proba"),
        (["prediction", "prediction"], {}, "Output 'prediction' is asked for twice"),
        ([], {"method": "fit"}, "Unknown method 'fit'"),
    ],
)
def test_output_and_method_mistakes_get_the_rest_message(
    deployer: mk.LocalDeployer, outputs: list[str], parameters: dict[str, str], message: str
) -> None:
    ep = deployer.deploy("clf")
    app = ep.asgi_app()
    numeric = [typed("age", "INT64", "int64_contents", [30]), typed("spend", "FP64", "fp64_contents", [50.0])]
    grpc_request = request(
        "clf", *numeric, outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name=n) for n in outputs]
    )
    for key, value in parameters.items():
        grpc_request.parameters[key].string_param = value
    body: dict[str, Any] = {
        "inputs": [
            {"name": "age", "shape": [1], "datatype": "INT64", "data": [30]},
            {"name": "spend", "shape": [1], "datatype": "FP64", "data": [50.0]},
        ],
        "outputs": [{"name": n} for n in outputs],
        "parameters": parameters,
    }
    with ep.grpc_server(port=0, app=app) as server, grpc.insecure_channel(server.address) as channel:
        from tritonclient.grpc import service_pb2_grpc as pb_grpc

        error = failure(pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer, grpc_request)
        with running(app) as url:
            rest = httpx.post(f"{url}/v2/models/clf/infer", json=body, timeout=30)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and rest.status_code == 400
    assert message in error.details()
    assert message in rest.json()["error"]
    ep.close()


def test_predict_outputs_by_method_name(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf")
    with grpc_of(ep) as client:
        answer = client.infer("clf", [matrix_input(MATRIX)], outputs=[triton.InferRequestedOutput("predict")])
    assert [o.name for o in answer.get_response().outputs] == ["predict"]
    assert answer.as_numpy("predict").tolist() == expected_of(deployer, MATRIX).tolist()
    ep.close()


def test_metadata_and_extensions_agree_with_rest(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("clf")
    app = ep.asgi_app()
    with grpc_of(ep, app=app) as client, running(app) as url:
        grpc_meta = client.get_model_metadata("clf", as_json=True)
        extensions = client.get_server_metadata(as_json=True).get("extensions", [])
        rest_meta = httpx.get(f"{url}/v2/models/clf", timeout=30).json()
        rest_extensions = httpx.get(f"{url}/v2", timeout=30).json()["extensions"]

    def tensors(meta: dict[str, Any], key: str) -> list[tuple[str, str, list[int]]]:
        return [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in meta[key]]

    assert tensors(grpc_meta, "outputs") == tensors(rest_meta, "outputs")
    assert tensors(grpc_meta, "inputs") == tensors(rest_meta, "inputs")
    assert ("predict_proba", "FP64", [-1, 2]) in tensors(grpc_meta, "outputs")
    # binary_tensor_data is REST's: gRPC carries raw bytes in the protocol itself
    assert "binary_tensor_data" in rest_extensions
    assert extensions == [e for e in rest_extensions if e != "binary_tensor_data"]
    ep.close()
