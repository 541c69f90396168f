"""Regenerate the Python modules of the Open Inference Protocol's gRPC service.

    python scripts/gen_grpc.py

Reads ``mlops_kit/deploy/_grpc/oip.proto`` and writes ``oip_pb2.py``, ``oip_pb2.pyi`` and
``oip_pb2_grpc.py`` next to it, with grpcio-tools (a development dependency; the
generated modules need only grpcio and protobuf). Run it after editing the .proto and
commit the results. The floors of the ``grpc`` extra in pyproject.toml must stay at or
above the versions the generated code checks for (printed at the end).

The descriptors are put in a descriptor pool of their own instead of protobuf's default
pool: tritonclient (and any other client of the protocol) registers messages with the
same full names (``inference.ModelInferRequest``...) in the default pool, and a process
that imports both would fail with "duplicate symbol". Only field numbers travel on the
wire, so a private pool changes nothing for clients.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO = Path("mlops_kit/deploy/_grpc/oip.proto")
DEFAULT_POOL = "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile("
PRIVATE_POOL = "DESCRIPTOR = _descriptor_pool.DescriptorPool().AddSerializedFile("


def main() -> int:
    from grpc_tools import protoc

    args = [
        "protoc",
        f"-I{ROOT}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        str(ROOT / PROTO),
    ]
    if protoc.main(args) != 0:
        print("protoc failed", file=sys.stderr)
        return 1
    pb2 = ROOT / PROTO.with_name("oip_pb2.py")
    text = pb2.read_text()
    if DEFAULT_POOL not in text:
        print(f"{pb2}: the descriptor line has changed; update this script", file=sys.stderr)
        return 1
    pb2.write_text(text.replace(DEFAULT_POOL, PRIVATE_POOL))
    protobuf = re.search(r"Protobuf Python Version: (\S+)", text)
    grpc = re.search(
        r"GRPC_GENERATED_VERSION = '([^']+)'", (ROOT / PROTO.with_name("oip_pb2_grpc.py")).read_text()
    )
    print(
        f"generated for protobuf>={protobuf.group(1) if protobuf else '?'} "
        f"and grpcio>={grpc.group(1) if grpc else '?'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
