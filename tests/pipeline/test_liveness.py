"""A pipeline run whose process is killed is shown as unfinished, never running forever."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.errors import ConfigError
from mlops_kit.pipeline import RunList
from mlops_kit.testing import FakeClock
from tests.deploy.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
import mlops_kit as mk

@mk.step
def train(x: int) -> int:
    print("training", flush=True)
    time.sleep(600)  # killed long before this ends
    return x

mk.Pipeline([train], name="train").run(inputs={"x": 1}, storage=sys.argv[1], heartbeat=0.1, progress=False)
"""


@pytest.mark.slow
def test_a_process_killed_mid_run_leaves_an_unfinished_pipeline_run(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "training"
        store = mk.storage(url)
        [alive] = RunList.read(store)
        wait_for(lambda: store.exists(f"pipelines/train/heartbeats/{alive.id}"), what="the first heartbeat")
        assert RunList.read(store)[0].status == "running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    later = FakeClock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2))
    [dead] = RunList.read(store, clock=later)
    assert dead.status == "unfinished"
    assert "stopped before the run could end" in (dead.error or "")
    [listed] = mk.runs(store, "train", clock=later)
    assert (listed.id, listed.status) == (dead.id, "unfinished")
    assert mk.runs(store, clock=later, status="running") == []


def test_heartbeats_keep_a_long_pipeline_run_running(tmp_path: Path) -> None:
    store = mk.MemoryStorage()
    writer = FakeClock("2026-01-01T00:00:00Z")
    release, started = threading.Event(), threading.Event()

    @mk.step
    def wait(x: int) -> int:
        started.set()
        release.wait(30)
        return x

    pipe = mk.Pipeline([wait], name="long", clock=writer)
    thread = threading.Thread(
        target=lambda: pipe.run(inputs={"x": 1}, storage=store, heartbeat=0.01, progress=False, cache=False)
    )
    thread.start()
    try:
        assert started.wait(30)
        writer.advance(dt.timedelta(hours=5))  # five hours into the step
        [run] = RunList.read(store, clock=FakeClock("2026-01-01T00:00:00Z"))
        beat = f"pipelines/long/heartbeats/{run.id}"
        wait_for(lambda: store.exists(beat) and b"T05:00:00" in store.read(beat), what="a heartbeat at 05:00")

        def status_at(when: str) -> str:
            return RunList.read(store, clock=FakeClock(when))[0].status

        assert status_at("2026-01-01T05:01:00Z") == "running"  # started long ago, alive now
        assert status_at("2026-01-01T05:02:00Z") == "unfinished"  # 3 beats + 60 s without one
    finally:
        release.set()
        thread.join()
    assert status_at("2026-01-02T00:00:00Z") == "succeeded"  # an ended run is never judged


def test_runs_recorded_before_heartbeats_are_shown_as_stored() -> None:
    store = mk.MemoryStorage()
    old = mk.RunRecord(id="20250101T000000000000Z-00000000", pipeline="old", status="running",
                       started_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    assert old.heartbeat_s is None
    from mlops_kit.pipeline._runlist import pipeline_catalog, runs_log

    pipeline_catalog(store).add("old", lambda: store.append(runs_log("old"), old))
    assert RunList.read(store)[0].status == "running"  # no heartbeat to judge by: as stored


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "30"])
def test_a_bad_heartbeat_is_refused_before_anything_is_written(bad: object) -> None:
    store = mk.MemoryStorage()

    @mk.step
    def one(x: int) -> int:
        return x

    with pytest.raises(ConfigError, match="heartbeat="):
        mk.Pipeline([one], name="p").run(inputs={"x": 1}, storage=store, heartbeat=bad, progress=False)  # type: ignore[arg-type]
    assert RunList.read(store) == []
