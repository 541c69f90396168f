"""A load generator run as its own process by the load tests (so it does not share the server's GIL).

    python _load_client.py URL REQUESTS CONCURRENCY OUT.json

Sends 1-row ``dataframe_split`` requests to ``URL/invocations`` with httpx, prints
``progress N`` every 500 responses, and writes one ``[send, receive, status, version]``
record per request (times from ``time.monotonic``, which is system-wide on Linux).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

BODY = {"dataframe_split": {"columns": ["age", "spend", "plan"], "data": [[30, 50.0, "pro"]]}}


async def main(url: str, total: int, concurrency: int, out: str) -> None:
    records: list[list[object]] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for _ in counter:
                sent = time.monotonic()
                try:
                    r = await client.post("/invocations", json=BODY)
                    status, version = r.status_code, r.headers.get("x-model-version", "")
                except httpx.HTTPError as exc:
                    status, version = -1, type(exc).__name__
                records.append([sent, time.monotonic(), status, version])
                if len(records) % 500 == 0:
                    print(f"progress {len(records)}", flush=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    with open(out, "w") as f:
        json.dump(records, f)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
