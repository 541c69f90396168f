"""Requests of many rows (batch clients): checked by whole columns, batched, off the event loop,
logged as typed columns, with every check of the value-by-value way kept."""

from __future__ import annotations

import asyncio
import gc
import json
import math
from typing import Any

import httpx
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_kit.core.schema import Schema
from mlops_kit.deploy._inputs import InputChecker, as_frame
from mlops_kit.deploy._protocol import BadRequest, _check_datatype
from mlops_kit.deploy._serve import settle_heap
from tests.deploy.conftest import Doubler, running
from tests.deploy.test_batching import serving

SIGNATURE = pd.DataFrame({"i": [1], "f": [1.5], "b": [True], "s": ["a"]})
_INT64 = (-(2**63), 2**63 - 1)
JSON = {"content-type": "application/json"}


def plain_one_by_one(kind: str, value: Any) -> bool:
    """The reference: what a plain value is, decided for one value at a time."""
    if kind == "int":
        return type(value) is int and _INT64[0] <= value <= _INT64[1]
    if kind == "float":
        if type(value) is float:
            return math.isfinite(value)
        return type(value) is int and _INT64[0] <= value <= _INT64[1]
    if kind == "bool":
        return type(value) is bool
    return type(value) is str


values = st.one_of(
    st.integers(min_value=-(2**65), max_value=2**65),
    st.sampled_from([2**63, -(2**63) - 1, 2**63 - 1, -(2**63), 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 9.3e18]),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
kinds = {"int": "i", "float": "f", "bool": "b", "string": "s"}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(kinds)), st.lists(values, min_size=1, max_size=80))
def test_whole_column_plain_check_agrees_with_the_value_by_value_one(kind: str, column: list[Any]) -> None:
    checker = InputChecker(Schema.infer(SIGNATURE[[kinds[kind]]], ranges=False), "t:1")
    expected = all(plain_one_by_one(kind, v) for v in column)
    got = checker.plain({kinds[kind]: column})
    # The whole-column check may send a plain column the general way (finite floats whose sum
    # overflows), never the reverse.
    assert got == expected or (not got and kind == "float" and expected)
    if expected and not got:
        assert math.isinf(sum(column))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=65, max_value=300), st.data())
def test_the_typed_table_of_plain_columns_is_the_one_the_general_way_makes(rows: int, data: Any) -> None:
    checker = InputChecker(Schema.infer(SIGNATURE, ranges=False, categories=False), "t:1")
    draw = data.draw
    raw = {
        "i": draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=rows, max_size=rows)),
        "f": draw(
            st.lists(
                st.one_of(st.floats(-1e300, 1e300), st.integers(-(2**53), 2**53)),
                min_size=rows,
                max_size=rows,
            )
        ),
        "b": draw(st.lists(st.booleans(), min_size=rows, max_size=rows)),
        "s": draw(st.lists(st.text(max_size=4), min_size=rows, max_size=rows)),
    }
    assert checker.plain(raw)
    expected = checker.prepare(as_frame(raw))
    pd.testing.assert_frame_equal(checker.plain_frame(raw), expected, check_exact=True)


def test_oip_whole_tensor_checks_keep_the_value_by_value_messages() -> None:
    for datatype, data, message in [
        ("UINT8", [1, 2, 300], "300 is out of range for UINT8"),
        ("INT8", [None, -129], "-129 is out of range for INT8"),
        ("INT64", [1, 2.5], "datatype INT64 but 'data' holds 2.5"),
        ("FP64", [1.0, True], "datatype FP64 but 'data' holds True"),
        ("BYTES", ["a", 1], "datatype BYTES but 'data' holds 1"),
    ]:
        try:
            _check_datatype("x", datatype, data)
        except BadRequest as exc:
            assert message in str(exc), (datatype, data, str(exc))
        else:
            raise AssertionError(f"{datatype} {data} was accepted")
    _check_datatype("x", "FP64", [np.float64(1.5), None, 2])  # subclasses of float still fit
    _check_datatype("x", "UINT64", [2**64 - 1, 0])


def rows_body(first_age: int, rows: int, protocol: str) -> dict[str, Any]:
    ages = list(range(first_age, first_age + rows))
    if protocol == "mlflow":
        data = [[age, 1.5, "pro"] for age in ages]
        return {"dataframe_split": {"columns": ["age", "spend", "plan"], "data": data}}
    inputs = [
        {"name": "age", "datatype": "INT64", "shape": [rows], "data": ages},
        {"name": "spend", "datatype": "FP64", "shape": [rows], "data": [1.5] * rows},
        {"name": "plan", "datatype": "BYTES", "shape": [rows], "data": ["pro"] * rows},
    ]
    return {"inputs": inputs}


def post_all(url: str, bodies: list[tuple[str, Any]]) -> list[httpx.Response]:
    async def send() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(bodies))
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            return list(await asyncio.gather(*(client.post(path, json=body) for path, body in bodies)))

    return asyncio.run(send())


def test_concurrent_requests_of_1000_rows_share_a_model_call_and_are_logged_typed() -> None:
    _, ep, app = serving(Doubler(delay=0.2))
    model = ep.live.snapshot.primary.model  # type: ignore[union-attr]
    paths = {"mlflow": "/invocations", "oip": "/v2/models/d/infer"}
    bodies = [(paths[p], rows_body(100 + 1000 * k, 1000, p)) for k, p in enumerate(["mlflow", "oip"] * 3)]
    with running(app) as url:
        warm_up = len(model.calls)
        responses = post_all(url, bodies)
    for k, r in enumerate(responses):
        assert r.status_code == 200, r.text
        expected = [2.0 * age for age in range(100 + 1000 * k, 1100 + 1000 * k)]
        body = r.json()
        got = body["predictions"] if "predictions" in body else body["outputs"][0]["data"]
        assert got == expected
    calls = model.calls[warm_up:]
    assert sum(calls) == 6000 and max(calls) > 1000  # rows of several requests in one call
    log = ep.predictions()
    assert len(log) == 6000 and log["request_id"].nunique() == 6
    assert log["age"].dtype == np.int64 and log["spend"].dtype == np.float64
    assert sorted(log["age"]) == list(range(100, 6100)) and (log["prediction"] == 2.0 * log["age"]).all()
    assert set(log["plan"]) == {"pro"} and set(log["version"]) == {"d:1"}
    ep.close()


def test_a_big_request_predicts_off_the_event_loop_without_batching() -> None:
    _, ep, app = serving(Doubler(delay=1.0), max_batch_rows=1)

    async def both(url: str) -> list[str]:
        finished: list[str] = []
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def big() -> None:
                r = await client.post("/invocations", json=rows_body(100, 300, "mlflow"))
                assert r.status_code == 200, r.text
                finished.append("big")

            async def health() -> None:
                await asyncio.sleep(0.3)  # the big request is in the model by now
                assert (await client.get("/v2/health/live")).status_code == 200
                finished.append("health")

            await asyncio.gather(big(), health())
        return finished

    with running(app) as url:
        assert asyncio.run(both(url)) == ["health", "big"]  # the loop kept answering meanwhile
    ep.close()


def test_bad_cells_of_a_big_request_are_still_refused_with_400() -> None:
    _, ep, app = serving(Doubler())
    ragged = rows_body(100, 500, "mlflow")
    ragged["dataframe_split"]["data"][250] = [1, 1.5]
    nested = rows_body(100, 500, "mlflow")
    nested["dataframe_split"]["data"][499][1] = [1.5]
    huge = rows_body(100, 500, "oip")
    huge["inputs"][0]["data"][400] = 2**64
    with running(app) as url, httpx.Client(base_url=url) as client:
        r = client.post("/invocations", json=ragged)
        assert r.status_code == 400 and "each a list of 3 values" in r.json()["message"]
        r = client.post("/invocations", json=nested)
        assert r.status_code == 400 and "Column 'spend' holds a nested list" in r.json()["message"]
        r = client.post("/v2/models/d/infer", json=huge)
        assert r.status_code == 400 and str(2**64) in r.json()["error"]
        infinite = rows_body(100, 500, "mlflow")
        infinite["dataframe_split"]["data"][7][1] = math.inf  # sent as JSON's Infinity
        r = client.post("/invocations", content=json.dumps(infinite), headers=JSON)
        assert r.status_code == 400 and "infinite value at rows [7]" in r.json()["message"]
    ep.close()


def test_settle_heap_exempts_what_is_loaded_from_collections() -> None:
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0 and gc.isenabled()
    finally:
        gc.unfreeze()
