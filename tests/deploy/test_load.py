"""Load on a real uvicorn server: switches under 32 concurrent clients, canary shares.

The server runs in this process (so a deploy through the deployer takes effect at
a known moment); the load comes from a separate process (so the two do not share
a GIL).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import mlops_kit as mk
from tests.deploy.conftest import make_registry, running

CLIENT = Path(__file__).with_name("_load_client.py")


def load(
    url: str, total: int, concurrency: int, tmp: Path, at: dict[int, Callable[[], None]] | None = None
) -> list:
    """Run the client; call ``at[n]`` when ``n`` responses are in. Returns the records."""
    out = tmp / "records.json"
    proc = subprocess.Popen(
        [sys.executable, str(CLIENT), url, str(total), str(concurrency), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    pending = dict(sorted((at or {}).items()))
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("progress"):
            done = int(line.split()[1])
            for n in [n for n in pending if n <= done]:
                pending.pop(n)()
    assert proc.wait(timeout=600) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
def test_20000_requests_through_a_promote_and_a_rollback(tmp_path: Path) -> None:
    dep = mk.LocalDeployer(make_registry())
    ep = dep.deploy("m:1")
    dep.deploy("m:2", strategy=mk.Canary(0.5))
    moments: dict[str, float] = {}

    def switch(kind: str) -> Callable[[], None]:
        def act() -> None:
            moments[f"{kind}_start"] = time.monotonic()
            getattr(dep, kind)("m")
            moments[f"{kind}_end"] = time.monotonic()

        return act

    with running(ep.asgi_app()) as url:
        records = load(url, 20_000, 32, tmp_path, at={6_500: switch("promote"), 13_500: switch("rollback")})
    ep.close()
    assert len(records) == 20_000
    assert Counter(r[2] for r in records) == {200: 20_000}  # zero failed requests
    promoted, rolled_back = moments["promote_end"], moments["rollback_start"]
    only_v2 = 0
    for sent, received, _, version in records:
        # live windows: m:1 before the promote finished and after the rollback began; m:2 until
        # the rollback finished. A response must come from a version live during its request.
        if version == "m:1":
            assert sent <= promoted or received >= rolled_back, (sent, received, moments)
        else:
            assert version == "m:2" and sent <= moments["rollback_end"], (sent, received, version, moments)
        if sent > promoted and received < rolled_back:
            only_v2 += 1
    assert only_v2 > 1_000  # the window between the switches was really exercised
    history = [e.kind for e in dep.history("m")]
    assert history == ["deploy", "deploy", "promote", "rollback"]


@pytest.mark.slow
def test_canary_share_over_5000_http_requests(tmp_path: Path) -> None:
    dep = mk.LocalDeployer(make_registry())
    ep = dep.deploy("m:1")
    dep.deploy("m:2", strategy=mk.Canary(weight=0.2))
    with running(ep.asgi_app()) as url:
        records = load(url, 5_000, 16, tmp_path)
    ep.close()
    versions = Counter(r[3] for r in records)
    assert sum(versions.values()) == 5_000 and set(versions) == {"m:1", "m:2"}
    assert abs(versions["m:2"] / 5_000 - 0.2) <= 0.03
