"""``registry.register(..., run=run)`` records lineage from a tracked run as from a pipeline run."""

from __future__ import annotations

import mlops_kit as mk
from mlops_kit.core.lineage import RunLink


def test_a_model_registered_from_a_tracked_run_points_back_to_it(any_storage: mk.Storage) -> None:
    reg = mk.Registry(any_storage)
    with mk.start_run("churn-exp", storage=any_storage) as run:
        run.log_metric("auc", 0.91)
        live = reg.register("churn", {"threshold": 0.5}, metrics=run.metrics, run=run)
    stored = mk.runs(any_storage, "churn-exp")[0]
    from_record = reg.register("churn", {"threshold": 0.6}, run=stored)

    expected = RunLink(id=run.id, experiment="churn-exp")
    assert live.run == expected and from_record.run == expected
    assert reg.get("churn:1").run == expected  # read back from storage
    assert str(live.run) == f"churn-exp/{run.id}"
    assert [r.id for r in mk.runs(any_storage, "churn-exp") if r.id == reg.get("churn:1").run.id] == [run.id]


def test_pipeline_runs_keep_their_link() -> None:
    @mk.step
    def fit() -> dict:
        return {"w": 1}

    store = mk.MemoryStorage()
    pipeline_run = mk.Pipeline([fit], name="train").run(storage=store, progress=False)
    mv = mk.Registry(store).register("m", pipeline_run.outputs["fit"], run=pipeline_run)
    assert mv.run == RunLink(id=pipeline_run.id, pipeline="train")
    assert repr(mv.run) == f"RunLink(id={pipeline_run.id!r}, pipeline='train')"
    assert str(mv.run) == f"train/{pipeline_run.id}"
    # stored exactly as before tracked runs existed: readers of earlier versions still read it
    assert mv.run.model_dump(mode="json") == {"id": pipeline_run.id, "pipeline": "train"}
