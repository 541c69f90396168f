"""Typed data fingerprints: equal content agrees; any change of type, shape, dtype, name or value differs."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlops_kit.pipeline._datafp import fingerprint

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_equal_values_agree(value: object) -> None:
    import copy

    assert fingerprint(value) == fingerprint(copy.deepcopy(value))


@given(st.lists(st.integers(), min_size=1, max_size=5), st.integers())
def test_changing_one_element_changes_the_fingerprint(values: list[int], new: int) -> None:
    changed = [new, *values[1:]]
    assert (fingerprint(values) == fingerprint(changed)) == (values == changed)


def test_types_are_part_of_the_fingerprint() -> None:
    values = [1, 1.0, True, "1", b"1", (1,), [1], {1}, frozenset([1]), None, np.int64(1), np.float32(1)]
    assert len({fingerprint(v) for v in values}) == len(values)


def test_sets_ignore_order_dicts_do_not() -> None:
    assert fingerprint({3, 1, 2}) == fingerprint({1, 2, 3})
    assert fingerprint({"a": 1, "b": 2}) != fingerprint({"b": 2, "a": 1})


@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(max_dims=3, max_side=4)))
def test_arrays_agree_with_their_copies(array: np.ndarray) -> None:
    assert fingerprint(array) == fingerprint(array.copy())
    assert fingerprint(array) == fingerprint(np.asfortranarray(array))  # memory layout does not count


def test_array_shape_and_dtype_count() -> None:
    base = np.arange(6, dtype=np.int64)
    prints = {
        fingerprint(a) for a in (base, base.reshape(2, 3), base.astype(np.int32), base.view(np.float64))
    }
    assert len(prints) == 4
    assert fingerprint(np.arange(0)) != fingerprint(np.arange(0).reshape(0, 1))


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [1, 2, 3], "b": ["x", "y", None], "c": pd.Categorical(["p", "q", "p"])},
        index=pd.Index([10, 11, 12], name="id"),
    )


def test_frames_agree_with_copies() -> None:
    assert fingerprint(frame()) == fingerprint(frame().copy())


def test_frame_changes_are_seen() -> None:
    base = fingerprint(frame())
    variants = [
        frame().rename(columns={"a": "A"}),  # column names
        frame().astype({"a": "int32"}),  # dtypes (Hamilton missed this one)
        frame().astype({"a": "float64"}),  # same numbers, other dtype
        frame()[["b", "a", "c"]],  # column order
        frame().iloc[::-1],  # row order
        frame().reset_index(drop=True),  # index
        frame().rename_axis("key"),  # index name
        frame().assign(c=pd.Categorical(["p", "q", "p"], categories=["q", "p"])),  # category order
        frame().iloc[:2],  # shape
    ]
    changed = frame()
    changed.loc[11, "a"] = 5
    variants.append(changed)
    prints = [fingerprint(v) for v in variants]
    assert base not in prints
    assert len(set(prints)) == len(prints)


def test_series_name_counts() -> None:
    s = pd.Series([1, 2], name="x")
    assert fingerprint(s) == fingerprint(s.copy())
    assert fingerprint(s) != fingerprint(s.rename("y"))


def test_frames_with_unhashable_cells_fall_back_to_pickle() -> None:
    df = pd.DataFrame({"a": [[1], [2]]})
    assert fingerprint(df) is not None
    assert fingerprint(df) == fingerprint(pd.DataFrame({"a": [[1], [2]]}))
    assert fingerprint(df) != fingerprint(pd.DataFrame({"a": [[1], [3]]}))


def test_pydantic_models_and_objects() -> None:
    from mlops_kit.core.lineage import RunLink

    assert fingerprint(RunLink(id="a")) == fingerprint(RunLink(id="a"))
    assert fingerprint(RunLink(id="a")) != fingerprint(RunLink(id="b"))
    assert fingerprint(range(3)) == fingerprint(range(3))


def test_unpicklable_values_have_no_fingerprint() -> None:
    assert fingerprint(threading.Lock()) is None
    assert fingerprint([1, threading.Lock()]) is None
    assert fingerprint({threading.Lock()}) is None
