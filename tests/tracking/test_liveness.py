"""A tracked run whose process dies is shown as unfinished, never "running" forever.

The writer records a heartbeat every ``heartbeat`` seconds; readers judge a ``running``
run whose heartbeat is older than three periods plus a minute as ``unfinished``. The
reader's clock is injected, so no test waits for a run to go stale.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.storage import FsspecStorage
from mlops_kit.testing import FakeClock
from tests.conftest import s3_options

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import json, sys, time
import mlops_kit as mk
from mlops_kit.core.storage import FsspecStorage

store = FsspecStorage(sys.argv[1], **json.loads(sys.argv[2]))
run = mk.start_run("killed", storage=store, params={"C": 0.5}, heartbeat=0.1)
run.log_params({"penalty": "l2"})
for step in range(3):
    run.log_metric("loss", 1.0 / (step + 1), step=step)
run.flush()
print(run.id, flush=True)
while True:
    run.log_metric("loss", 0.0)  # buffered: the heartbeat writes these
    time.sleep(0.01)
"""


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_a_process_killed_mid_run_leaves_an_unfinished_run(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "local":
        url, options = str(tmp_path / "store"), {}
    else:
        url, options = f"s3://test/{uuid.uuid4().hex}", s3_options(request.getfixturevalue("s3_endpoint"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, json.dumps(options)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        store = FsspecStorage(url, **options)
        _wait_for(lambda: store.exists(f"tracking/{run_id}/heartbeat.json"), "the first heartbeat")
        [alive] = mk.runs(store, "killed")
        assert (alive.id, alive.status) == (run_id, "running")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    store = FsspecStorage(url, **options)
    later = FakeClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    [dead] = mk.runs(store, "killed", clock=later)
    assert dead.status == "unfinished" and dead.ended_at is None
    assert dead.error is not None and dead.error.startswith("No heartbeat since")
    assert "stopped before the run could end" in dead.error
    # what the process wrote before it was killed is shown
    assert dict(dead.params) == {"C": 0.5, "penalty": "l2"}
    assert [p.value for p in dead.metric_history("loss")][:3] == [1.0, 0.5, 1.0 / 3]
    assert mk.runs(store, "killed", clock=later, status="unfinished") == [dead]
    assert mk.runs(store, "killed", clock=later, status="running") == []


def test_heartbeats_keep_a_long_run_running_and_their_absence_makes_it_unfinished() -> None:
    store = mk.MemoryStorage()
    writer = FakeClock("2026-01-01T00:00:00Z")
    run = mk.start_run("long", storage=store, heartbeat=0.01, clock=writer)
    try:
        writer.advance(dt.timedelta(hours=5))  # five hours of training without logging anything
        beat = f"tracking/{run.id}/heartbeat.json"
        _wait_for(lambda: store.exists(beat) and b"T05:00:00" in store.read(beat), "a heartbeat at 05:00")

        def status_at(when: str) -> str:
            return mk.runs(store, "long", clock=FakeClock(when))[0].status

        assert status_at("2026-01-01T05:01:00Z") == "running"  # started long ago, alive now
        assert status_at("2026-01-01T05:02:00Z") == "unfinished"  # 3 beats + 60 s without one
    finally:
        run.end()
    assert status_at("2026-01-02T00:00:00Z") == "finished"  # an ended run is never judged


def test_a_run_killed_before_its_first_heartbeat_is_judged_from_its_start() -> None:
    store = mk.MemoryStorage()
    run = mk.start_run("short", storage=store, heartbeat=30, clock=FakeClock("2026-01-01T00:00:00Z"))
    run._pulse.stop()  # as if the process died at once: no heartbeat is ever written
    # judged from the start: 3 heartbeats of 30 s plus a minute is 150 s
    assert mk.runs(store, clock=FakeClock("2026-01-01T00:02:30Z"))[0].status == "running"
    assert mk.runs(store, clock=FakeClock("2026-01-01T00:02:31Z"))[0].status == "unfinished"
