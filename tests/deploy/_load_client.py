"""A load generator run as its own process by the load tests and the serving benchmark.

    python _load_client.py URL REQUESTS CONCURRENCY OUT.json [PATH [BODY]]

Sends a 1-row ``dataframe_split`` request (or the JSON ``BODY``) to ``URL/PATH``
(default ``/invocations``)
over ``CONCURRENCY`` keep-alive connections, prints ``progress N`` every 500
responses, and writes one ``[send, receive, status, version]`` record per request
(times from ``time.monotonic``, which is system-wide on Linux).

It speaks HTTP/1.1 over asyncio streams instead of using httpx: httpx costs about
5 ms of CPU per request on a busy 2-core machine, more than the server under test,
so the load test would measure the client. Every other HTTP test uses httpx.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

BODY = json.dumps(
    {"dataframe_split": {"columns": ["age", "spend", "plan"], "data": [[30, 50.0, "pro"]]}}
).encode()


async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, str]:
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, version = 0, ""
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "x-model-version":
            version = value.strip()
    await reader.readexactly(length)
    return status, version


async def main(url: str, total: int, concurrency: int, out: str, path: str, body: bytes) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    records: list[list[object]] = []
    counter = iter(range(total))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for _ in counter:
                sent = time.monotonic()
                try:
                    status, version = await one(reader, writer, request)
                except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                    status, version = -1, type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                records.append([sent, time.monotonic(), status, version])
                if len(records) % 500 == 0:
                    print(f"progress {len(records)}", flush=True)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    with open(out, "w") as f:
        json.dump(records, f)
    print("done", flush=True)


if __name__ == "__main__":
    path = sys.argv[5] if len(sys.argv) > 5 else "/invocations"
    body = sys.argv[6].encode() if len(sys.argv) > 6 else BODY
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], path, body))
