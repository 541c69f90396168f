"""Data larger than memory: streamed saves, partitioned versions, lazy readers, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

import mlops_kit as mk
from mlops_kit.core.errors import ConfigError, IntegrityError, NotFoundError, SchemaError
from mlops_kit.core.storage import MemoryStorage
from mlops_kit.core.storage.blobs import blob_key
from mlops_kit.datasets._fingerprint import ContentHasher, content_fingerprint


def frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nulls = rng.random(n) < 0.1
    return pd.DataFrame(
        {
            "i": rng.integers(0, 100, n),
            "f": np.where(nulls, np.nan, rng.normal(size=n)),
            "s": pd.Series(np.where(nulls, None, rng.choice(["a", "bb", "ccc"], n)), dtype="str"),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
            "b": rng.random(n) < 0.5,
            "t": pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC"),
        }
    )


def dask_strings_as_pandas():
    """Dask turns string columns into pyarrow strings by default; compare with pandas' own."""
    import dask

    return dask.config.set({"dataframe.convert-string": False})


def slices(df: pd.DataFrame, cuts: tuple[int, ...] = (1000, 2500)) -> list[pd.DataFrame]:
    edges = [0, *cuts, len(df)]
    return [df.iloc[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def write_folder(tmp_path, df: pd.DataFrame, cuts: tuple[int, ...] = (1000, 2000)):
    folder = tmp_path / "parquet"
    folder.mkdir()
    for k, part in enumerate(slices(df, cuts)):
        part.to_parquet(folder / f"part-{k}.parquet")
    return folder


def test_the_same_rows_have_one_fingerprint_however_they_are_given(tmp_path):
    import dask.dataframe as dd

    df = frame()
    folder = write_folder(tmp_path, df)
    ds = mk.Dataset("d", MemoryStorage())
    whole = ds.save(df)
    as_iterator = mk.Dataset("a", MemoryStorage()).save(iter(slices(df)), part_rows=700)
    as_folder = mk.Dataset("b", MemoryStorage()).save(folder, part_rows=1100)
    as_glob = mk.Dataset("g", MemoryStorage()).save(str(folder / "*.parquet"))
    as_arrow = mk.Dataset("c", MemoryStorage()).save(pads.dataset(str(folder)))
    as_dask = mk.Dataset("e", MemoryStorage()).save(dd.from_pandas(df, npartitions=4))
    for version in (as_iterator, as_folder, as_glob, as_arrow, as_dask):
        assert version.fingerprint == whole.fingerprint
        assert version.n_rows == 3000 and version.n_columns == 6
        assert version.schema == whole.schema
    assert [p.n_rows for p in as_iterator.parts] == [700] * 4 + [200]
    assert [p.n_rows for p in as_folder.parts] == [1100, 1100, 800]
    # Saving the same content streamed after the DataFrame returns the version: no duplicate.
    assert ds.save(iter(slices(df))).version == 1
    changed = df.copy()
    changed.loc[2999, "i"] += 1
    assert ds.save(iter(slices(changed))).version == 2


def test_the_streamed_fingerprint_reproduces_the_whole_table_one_with_changing_dictionaries():
    a = pa.array(["x", "y", None, "x"]).dictionary_encode()
    b = pa.array(["z", "x", "w", None, "z"]).dictionary_encode()
    table = pa.table({"c": pa.chunked_array([a, b]), "n": list(range(9))})
    hasher = ContentHasher(table.schema)
    for batch in table.to_batches():
        hasher.update(batch)
    assert hasher.hexdigest([]) == content_fingerprint(table)
    # pyarrow's own unification, then one chunk: the same digest.
    unified = pa.table({"c": table.column("c").unify_dictionaries().combine_chunks(), "n": table.column("n")})
    assert content_fingerprint(unified) == content_fingerprint(table)
    reordered = pa.table({"c": pa.chunked_array([b, a]), "n": list(range(9))})
    assert content_fingerprint(reordered) != content_fingerprint(table)


def test_a_partitioned_version_loads_as_pandas_with_columns_and_profiles_like_the_frame():
    df = frame()
    ds = mk.Dataset("d", MemoryStorage())
    v = ds.save(iter(slices(df)), part_rows=1000)
    assert len(v.parts) == 3 and v.blob == ""
    pd.testing.assert_frame_equal(ds.load(), df)
    pd.testing.assert_frame_equal(ds.load(columns=["f", "c"]), df[["f", "c"]])
    whole = mk.Profile.of(df)
    for name, col in whole.columns.items():
        got = v.profile.columns[name]
        assert (got.count, got.nulls, got.histogram, got.counts) == (
            col.count,
            col.nulls,
            col.histogram,
            col.counts,
        )
        if col.mean is not None:
            assert got.mean == pytest.approx(col.mean, rel=1e-12)
            assert got.variance == pytest.approx(col.variance, rel=1e-9)
    with pytest.raises(SchemaError, match="no columns"):
        ds.load(columns=["nope"])


def test_single_blob_versions_still_load_and_read_lazily():
    df = frame(200)
    ds = mk.Dataset("d", MemoryStorage())
    v = ds.save(df)
    assert v.parts == () and v.blob
    old = v.model_dump(exclude={"parts"})  # a record written before partitioned versions existed
    assert mk.DatasetVersion.model_validate(old).blobs[0].blob == v.blob
    pd.testing.assert_frame_equal(ds.load(), df)
    pd.testing.assert_frame_equal(ds.to_arrow().to_table().to_pandas(), df)
    with dask_strings_as_pandas():
        pd.testing.assert_frame_equal(ds.to_dask().compute(), df)


@pytest.mark.parametrize("backend", ["memory", "local"])
def test_to_arrow_is_lazy_and_verifies_each_blob_when_it_is_read(backend, tmp_path):
    df = frame()
    store = MemoryStorage() if backend == "memory" else mk.storage(str(tmp_path / "store"))  # local: mapped
    ds = mk.Dataset("d", store)
    v = ds.save(iter(slices(df)), part_rows=1000)
    lazy = ds.to_arrow()
    assert isinstance(lazy, pads.Dataset) and lazy.count_rows() == 3000
    assert lazy.to_table(columns=["i"], filter=pads.field("i") < 5).num_rows == int((df.i < 5).sum())
    pd.testing.assert_frame_equal(lazy.to_table().to_pandas(), df)
    key = blob_key(v.parts[1].blob)
    store.write(key, store.read(key)[:-10] + b"0123456789")  # the middle part tampered with
    lazy = ds.to_arrow()  # still lazy: nothing read yet
    with pytest.raises(IntegrityError):
        lazy.to_table()
    with pytest.raises(IntegrityError):
        ds.load()


def test_to_dask_has_one_partition_per_blob():
    df = frame()
    ds = mk.Dataset("d", MemoryStorage())
    ds.save(iter(slices(df)), part_rows=1000)
    with dask_strings_as_pandas():
        ddf = ds.to_dask()
        assert ddf.npartitions == 3
        pd.testing.assert_frame_equal(ddf.compute().reset_index(drop=True), df)
    assert list(ds.to_dask(columns=["f"]).compute().columns) == ["f"]
    with pytest.raises(SchemaError, match="no columns"):
        ds.to_dask(columns=["nope"])


def test_parquet_files_that_disagree_on_schema_are_refused_before_anything_is_written(tmp_path):
    df = frame(300)
    folder = write_folder(tmp_path, df, cuts=(100, 200))
    df.iloc[:10].assign(i=lambda d: d.i.astype("float64")).to_parquet(folder / "part-9.parquet")
    store = MemoryStorage()
    with pytest.raises(SchemaError, match=r"part-9.parquet.*'i' is double instead of int64"):
        mk.Dataset("d", store).save(folder)
    with pytest.raises(SchemaError, match="part-9"):
        mk.Dataset("d", store).save(pads.dataset(str(folder)))
    assert store.list("") == []


def test_a_dask_frame_whose_partitions_disagree_with_its_meta_commits_nothing():
    import dask.dataframe as dd

    good = pd.DataFrame({"x": np.arange(10), "y": np.ones(10)})
    bad = pd.DataFrame({"x": np.arange(10).astype("float64"), "y": np.ones(10)})
    ddf = dd.from_delayed(
        [_delayed(good), _delayed(good), _delayed(bad)], meta=good.iloc[:0], verify_meta=False
    )
    store = MemoryStorage()
    ds = mk.Dataset("d", store)
    with pytest.raises(SchemaError, match=r"Partition 2 .*'x' is float64, meta says int64"):
        ds.save(ddf, part_rows=5)
    with pytest.raises(NotFoundError):
        ds.latest()  # the version record is the commit point: none was appended


def _delayed(df: pd.DataFrame):
    import dask

    return dask.delayed(lambda: df)()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (iter([]), "no rows' pieces"),
        ([pd.DataFrame({"x": [1]}), {"x": [2]}], "item 2 .* got dict"),
        (
            [pd.DataFrame({"x": [1]}), pd.DataFrame({"x": ["a"]})],
            "Piece 2 .*'x' is (large_)?string instead of int64",
        ),
        ([pd.DataFrame({"x": [1]}), pd.DataFrame({"y": [1]})], "Piece 2"),
        ([pd.DataFrame({"x": [object()]})], "Cannot store item 1"),
    ],
)
def test_bad_streamed_input_is_a_schema_error_and_no_version(data, message):
    ds = mk.Dataset("d", MemoryStorage())
    with pytest.raises(SchemaError, match=message):
        ds.save(data)
    with pytest.raises(NotFoundError):
        ds.latest()


def test_a_missing_folder_and_bad_part_rows_are_clear_errors(tmp_path):
    ds = mk.Dataset("d", MemoryStorage())
    with pytest.raises(NotFoundError, match="No Parquet file or folder"):
        ds.save(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaError, match="No Parquet files"):
        ds.save(tmp_path / "empty")
    with pytest.raises(ConfigError, match="part_rows"):
        ds.save(iter([frame(10)]), part_rows=0)


def test_a_streamed_profile_counts_every_row_exactly_at_common_quantiles():
    from mlops_kit.core.histogram import QUANTILE_LEVELS, QuantileCounts

    df = frame(5000, seed=3).assign(order=np.arange(5000.0))  # "order": rows sorted by it
    v = mk.Dataset("d", MemoryStorage()).save(iter(slices(df, (1200, 4000))), part_rows=1000)
    first = mk.Profile.of(df.iloc[:1000])
    for name in ("i", "f", "order"):
        col = v.profile.columns[name]
        values = np.sort(df[name].dropna().to_numpy(dtype="float64"))
        assert col.quantiles is not None
        # Every row is counted at these edges, as a profile made against them counts.
        assert col.quantiles == QuantileCounts.count(values, col.quantiles.quantiles)
    # A column in no order: the first part's exact quantiles, counted over all parts.
    assert v.profile.columns["f"].quantiles.quantiles == first.columns["f"].quantiles.quantiles
    # Rows sorted by a column: its edges come from the merged histogram and span all rows,
    # each within a bin width of the order statistics around its level.
    order = v.profile.columns["order"]
    edges, width = np.asarray(order.quantiles.quantiles), order.histogram.width
    virtual = 4999 * np.arange(QUANTILE_LEVELS + 1) / QUANTILE_LEVELS
    assert np.all((edges >= np.floor(virtual) - width) & (edges <= np.ceil(virtual) + width))
    assert (edges[0], edges[-1]) == (0.0, 4999.0)


@pytest.mark.parametrize("data", [pd.Series([1, 2]), np.arange(3), None, {"x": [1]}])
def test_what_is_neither_a_frame_nor_streamed_data_is_refused_as_before(data):
    with pytest.raises(SchemaError, match="Expected the data to save to be a pandas DataFrame"):
        mk.Dataset("d", MemoryStorage()).save(data)


def test_a_filtered_dataset_and_another_versions_handle_save_what_they_hold():
    df = frame()
    ds = mk.Dataset("d", MemoryStorage())
    ds.save(iter(slices(df)), part_rows=1000)
    copy = mk.Dataset("copy", MemoryStorage()).save(ds.to_arrow())
    assert copy.fingerprint == ds.latest().fingerprint
    small = mk.Dataset("small", MemoryStorage())
    v = small.save(ds.to_arrow().filter(pads.field("i") < 10))
    pd.testing.assert_frame_equal(small.load(), df[df.i < 10].reset_index(drop=True))
    assert (
        v.fingerprint
        == mk.Dataset("e", MemoryStorage()).save(df[df.i < 10].reset_index(drop=True)).fingerprint
    )
