"""The gRPC load generator of ``bench_serving.py --grpc``, run as its own process.

    python _grpc_load_client.py HOST:PORT REQUESTS CONCURRENCY OUT.json MODEL KIND

Sends 1-row ``ModelInferRequest`` messages of the Open Inference Protocol (inputs as
``raw_input_contents``, tritonclient's default) for model ``MODEL`` with the columns of
``KIND`` (``linear``: age, spend; ``pipeline``: age, spend, plan), ``CONCURRENCY`` calls
in flight on one channel (one HTTP/2 connection, as a gRPC client has), and writes one
``[send, receive, status, version]`` record per request like ``_load_client.py``
(status 200 for OK, else the gRPC code's name).

The request is serialized once and the answer is not parsed (its status and
``x-model-version`` are read), so the client spends as little CPU as it can: on a
2-core machine it competes with the server under test.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def request_bytes(model: str, kind: str) -> bytes:
    from mlops_kit.deploy._grpc import oip_pb2

    request = oip_pb2.ModelInferRequest(model_name=model)
    request.inputs.add(name="age", datatype="INT64", shape=[1])
    request.raw_input_contents.append(struct.pack("<q", 30))
    request.inputs.add(name="spend", datatype="FP64", shape=[1])
    request.raw_input_contents.append(struct.pack("<d", 50.0))
    if kind == "pipeline":
        request.inputs.add(name="plan", datatype="BYTES", shape=[1])
        request.raw_input_contents.append(struct.pack("<I", 3) + b"pro")
    return request.SerializeToString()


async def main(address: str, total: int, concurrency: int, out: str, model: str, kind: str) -> None:
    import grpc

    body = request_bytes(model, kind)
    records: list[list[object]] = []
    counter = iter(range(total))
    async with grpc.aio.insecure_channel(address) as channel:
        infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")  # bytes in, bytes out

        async def worker() -> None:
            for _ in counter:
                sent = time.monotonic()
                call = infer(body)
                try:
                    await call
                    status: object = 200
                except grpc.aio.AioRpcError as exc:
                    status = exc.code().name
                metadata = await call.trailing_metadata()
                version = dict(metadata or ()).get("x-model-version", "")
                records.append([sent, time.monotonic(), status, version])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    with open(out, "w") as f:
        json.dump(records, f)
    print("done", flush=True)


if __name__ == "__main__":
    address, total, concurrency, out, model, kind = sys.argv[1:7]
    asyncio.run(main(address, int(total), int(concurrency), out, model, kind))
