"""A storage failure at any point of a tracked run leaves nothing half-written."""

from __future__ import annotations

import pytest

import mlops_kit as mk
from mlops_kit.testing import FaultyStorage


def _session(store: mk.Storage) -> None:
    with mk.start_run("exp", storage=store, params={"C": 1}, heartbeat=3600) as run:
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_artifact(b"weights", name="w.bin")
        run.set_tag("stage", "dev")
        run.log_dict({"a": 1}, "config.json")


@pytest.mark.filterwarnings("ignore::mlops_kit.MlopsKitWarning")  # heads that lag are allowed
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_failure_at_any_storage_operation_leaves_readable_whole_runs(when: str) -> None:
    counter = FaultyStorage(mk.MemoryStorage())
    _session(counter)
    assert counter.calls > 10
    for fail_at in range(1, counter.calls + 1):
        inner = mk.MemoryStorage()
        try:
            _session(FaultyStorage(inner, fail_at=fail_at, when=when))
        except mk.StorageError:
            pass  # the caller is told
        listed = mk.runs(inner)  # never raises: every record it reads is whole
        assert len(listed) <= 1, fail_at
        for run in listed:
            assert run.status in {"running", "finished", "failed"}
            for artifact in run.artifacts.values():  # blobs are written before what points to them
                assert inner.has_blob(artifact.blob), (fail_at, artifact)
            if run.status == "failed":
                assert run.error is not None and run.error.startswith("StorageError: Injected fault")
            if run.status == "finished":
                assert dict(run.params) == {"C": 1} and run.metrics["loss"] == 1.0 / 3
