"""Datasets: versions, round trips of every dtype, fingerprints, lineage, errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.errors import ConfigError, IntegrityError, InvalidNameError, NotFoundError, SchemaError
from mlops_kit.core.storage import MemoryStorage, Storage
from mlops_kit.testing import FakeClock, FaultyStorage


def every_dtype(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nulls = rng.random(n) < 0.2
    return pd.DataFrame(
        {
            "int": rng.integers(-1000, 1000, n),
            "int32": rng.integers(0, 100, n).astype("int32"),
            "nullable_int": pd.array(np.where(nulls, None, rng.integers(0, 9, n)), dtype="Int64"),
            "float": np.where(nulls, np.nan, rng.normal(size=n)),
            "float32": rng.normal(size=n).astype("float32"),
            "bool": rng.random(n) < 0.5,
            "nullable_bool": pd.array(np.where(nulls, None, rng.random(n) < 0.5), dtype="boolean"),
            "string": pd.Series(np.where(nulls, None, rng.choice(["a", "bb", "ccc"], n)), dtype="str"),
            "category": pd.Categorical(rng.choice(["lo", "hi"], n), categories=["lo", "hi", "unused"]),
            "ordered": pd.Categorical(
                rng.choice(["s", "m", "l"], n), categories=["s", "m", "l"], ordered=True
            ),
            "naive": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), "s"),
            "aware": pd.Timestamp("2024-01-01", tz="America/New_York")
            + pd.to_timedelta(rng.integers(0, 10**7, n), "s"),
            "aware_nulls": pd.Series(pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")).where(
                ~nulls
            ),
        }
    )


def test_round_trip_of_every_dtype(any_storage: Storage) -> None:
    df = every_dtype()
    ds = mk.Dataset("all-types", storage=any_storage)
    v = ds.save(df)
    pd.testing.assert_frame_equal(ds.load(), df)
    pd.testing.assert_frame_equal(ds.load(v.version, columns=["aware", "string"]), df[["aware", "string"]])
    assert (v.n_rows, v.n_columns) == (50, 13)


def test_index_round_trips() -> None:
    ds = mk.Dataset("indexed", storage=MemoryStorage())
    df = every_dtype(10).set_index("string")
    ds.save(df)
    pd.testing.assert_frame_equal(ds.load(), df)
    sliced = every_dtype(10).iloc[3:]
    ds.save(sliced)
    pd.testing.assert_frame_equal(ds.load(), sliced)


def test_versions_and_deduplication() -> None:
    ds = mk.Dataset("d", storage=MemoryStorage())
    a, b = every_dtype(seed=1), every_dtype(seed=2)
    v1 = ds.save(a)
    assert ds.save(a.copy()) == v1  # identical to the latest: no new version
    v2 = ds.save(b)
    v3 = ds.save(a)  # identical to an older version: a new one, so latest() stays true
    assert [v.version for v in ds.versions()] == [1, 2, 3]
    assert ds.latest() == v3 and v3.fingerprint == v1.fingerprint and v2.fingerprint != v1.fingerprint
    assert v3.blob == v1.blob  # the bytes are stored once
    assert ds.get(2) == v2 and ds.get() == v3


def test_fingerprint_is_about_content_not_encoding() -> None:
    import pyarrow as pa

    from mlops_kit.datasets._fingerprint import content_fingerprint

    df = every_dtype(100)
    base = content_fingerprint(pa.Table.from_pandas(df))
    chunked = pa.concat_tables([pa.Table.from_pandas(df.iloc[:30]), pa.Table.from_pandas(df.iloc[30:])])
    assert (
        content_fingerprint(chunked.replace_schema_metadata(pa.Table.from_pandas(df).schema.metadata)) == base
    )
    as_object = df.assign(string=df["string"].astype(object))
    assert content_fingerprint(pa.Table.from_pandas(as_object)) == base
    reordered = df.iloc[::-1].reset_index(drop=True)
    assert content_fingerprint(pa.Table.from_pandas(reordered)) != base
    assert content_fingerprint(pa.Table.from_pandas(df[df.columns[::-1]])) != base
    renamed = df.rename(columns={"int": "integer"})
    assert content_fingerprint(pa.Table.from_pandas(renamed)) != base
    one_value = df.copy()
    one_value.loc[7, "float32"] += 1
    assert content_fingerprint(pa.Table.from_pandas(one_value)) != base
    null_moved = df.copy()
    null_moved["nullable_int"] = null_moved["nullable_int"].fillna(0)
    assert content_fingerprint(pa.Table.from_pandas(null_moved)) != base


def test_saving_what_was_loaded_returns_the_same_version(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ds = mk.Dataset("d", storage=tmp_path)
    v1 = ds.save(every_dtype())
    assert ds.save(ds.load()) == v1


def test_version_record() -> None:
    store = MemoryStorage()
    parent = mk.Dataset("raw", storage=store).save(pd.DataFrame({"x": [1, 2]}))
    ds = mk.Dataset("features", storage=store, clock=FakeClock("2026-01-02T03:04:05Z"))
    v = ds.save(every_dtype(), tags={"source": "crm"}, description="January", parents=[parent])
    assert (v.name, v.version, v.tags, v.description) == ("features", 1, {"source": "crm"}, "January")
    assert v.parents == (parent.link,) and str(v.parents[0]) == "raw:1"
    assert v.created_at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC) and "@" in v.created_by
    assert v.schema.columns["aware"].tz == "America/New_York"
    assert v.profile.columns["int"].count == 50 and v.size_bytes > 0
    assert str(v) == "features:1" and "features:1" in v._repr_html_()
    with pytest.raises(TypeError):
        v.tags["x"] = "y"  # type: ignore[index]


def test_names_lists_datasets() -> None:
    store = MemoryStorage()
    for name in ("b", "a"):
        mk.Dataset(name, storage=store).save(pd.DataFrame({"x": [1]}))
    assert mk.Dataset.names(store) == ["a", "b"]


@pytest.mark.parametrize("name", ["", "a/b", "../x", " x", "x\n"])
def test_bad_names_fail_before_storage_is_touched(name: str) -> None:
    store = FaultyStorage(MemoryStorage())
    with pytest.raises(InvalidNameError):
        mk.Dataset(name, storage=store)
    assert store.calls == 0


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        ([1, 2, 3], {}, "pandas DataFrame"),
        (pd.Series([1]), {}, "pandas DataFrame"),
        (pd.DataFrame({"x": [{"a": 1}]}), {}, "dict values"),
        (pd.DataFrame({"x": [1]}), {"tags": {"a": 1}}, "Tag 'a' must be a string"),
        (pd.DataFrame({"x": [1]}), {"parents": ["raw:1"]}, "Parents"),
        (pd.DataFrame({"x": [1]}), {"description": None}, "description= must be a string"),
    ],
)
def test_bad_input_writes_nothing(data: object, kwargs: dict[str, object], match: str) -> None:
    store = MemoryStorage()
    with pytest.raises((SchemaError, ConfigError), match=match):
        mk.Dataset("d", storage=store).save(data, **kwargs)  # type: ignore[arg-type]
    assert store.list() == []


def test_unknown_versions_and_columns() -> None:
    store = MemoryStorage()
    ds = mk.Dataset("d", storage=store)
    with pytest.raises(NotFoundError, match="has no datasets"):
        ds.latest()
    ds.save(pd.DataFrame({"x": [1]}))
    ds.save(pd.DataFrame({"x": [2]}))
    with pytest.raises(NotFoundError, match="versions are 1-2"):
        ds.get(5)
    for bad in (0, -1, "1", 1.0, True):
        with pytest.raises(
            InvalidNameError, match=r"Invalid dataset version .*: expected a positive integer"
        ):
            ds.get(bad)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match=r"datasets in .*\['d'\]"):
        mk.Dataset("other", storage=store).load()
    with pytest.raises(SchemaError, match=r"no columns \['nope'\]"):
        ds.load(columns=["nope"])


def test_corrupted_data_is_detected_on_load(any_storage: Storage) -> None:
    ds = mk.Dataset("d", storage=any_storage)
    v = ds.save(every_dtype())
    key = f"blobs/sha256/{v.blob[:2]}/{v.blob}"
    data = any_storage.read(key)
    any_storage.write(key, data[:-10] + b"0123456789")
    with pytest.raises(IntegrityError, match="corrupted"):
        ds.load()


def test_tampered_signed_record_is_detected() -> None:
    store = MemoryStorage(signing_key="secret")
    ds = mk.Dataset("d", storage=store)
    ds.save(pd.DataFrame({"x": [1, 2]}))
    key = "datasets/d/versions/000000000001.json"
    store.write(key, store.read(key).replace(b'"n_rows":2', b'"n_rows":3'))
    with pytest.raises(IntegrityError, match="signature"):
        ds.get(1)
    with pytest.raises(IntegrityError, match="signature"):
        mk.Dataset("d", storage=store).load()
