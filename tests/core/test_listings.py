"""Every listing is a list with ``to_frame()``; records have short reprs."""

from __future__ import annotations

import pandas as pd

import mlops_kit as mk
from mlops_kit.core.listing import NameList, RecordList


def make_store() -> tuple[mk.MemoryStorage, mk.DatasetVersion, mk.Registry]:
    store = mk.MemoryStorage()
    version = mk.Dataset("churn", storage=store).save(
        pd.DataFrame({"x": range(500), "c": ["a", "b"] * 250}), tags={"source": "crm"}
    )
    reg = mk.Registry(store)
    reg.register("m", [1, 2], metrics={"auc": 0.9})
    reg.register("m", [1, 2, 3], metrics={"auc": 0.95})
    reg.set_alias("m", "production", 2)
    return store, version, reg


def test_dataset_and_registry_listings_have_frames() -> None:
    store, version, reg = make_store()
    versions = mk.Dataset("churn", storage=store).versions()
    assert isinstance(versions, RecordList) and versions == [version]
    frame = versions.to_frame()
    assert frame.loc[0, "tags.source"] == "crm" and frame.loc[0, "n_rows"] == 500
    assert "profile" not in frame and "schema" not in frame
    names = mk.Dataset.names(store)
    assert isinstance(names, NameList) and names == ["churn"]
    assert names.to_frame().to_dict("records")[0]["n_rows"] == 500
    assert list(reg.versions("m").to_frame()["metrics.auc"]) == [0.9, 0.95]
    assert list(reg.history("m").to_frame()["kind"]) == ["registered", "registered", "alias_set"]
    assert reg.models().to_frame().to_dict("records") == [{"name": "m", "versions": 2}]


def test_listings_render_as_tables_in_notebooks() -> None:
    _, _, reg = make_store()
    html = reg.versions("m")._repr_html_()
    assert html.startswith("<table") and "metrics.auc" in html
    assert RecordList()._repr_html_() == "<i>RecordList: empty</i>"


def test_bulky_records_have_short_reprs() -> None:
    _, version, reg = make_store()
    text = repr(version)
    assert len(text) < 200, text
    assert text.startswith("DatasetVersion(name='churn', version=1, n_rows=500, n_columns=2, fingerprint='")
    assert f"fingerprint='{version.fingerprint[:12]}'" in text
    assert repr(version.profile) == "Profile(n_rows=500, columns=['x', 'c'])"
    model = reg.get("m:1")
    assert len(repr(model)) < 200 and "metrics={'auc': 0.9}" in repr(model)
    assert str(version) == "churn:1"


def double(df: pd.DataFrame) -> pd.Series:
    return df["x"] * 2


def test_deployer_listings_have_frames() -> None:
    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    reg.register("f", double, input_example=pd.DataFrame({"x": [1.0]}))
    dep = mk.LocalDeployer(reg, storage=store)
    dep.deploy("f:1", endpoint="api").close()
    endpoints = dep.endpoints()
    assert endpoints == ["api"]
    row = endpoints.to_frame().to_dict("records")[0]
    assert row["name"] == "api" and row["primary"] == "f:1" and row["candidate"] is None
    assert list(dep.history("api").to_frame()["kind"]) == ["deploy"]
