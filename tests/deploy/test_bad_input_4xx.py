"""A client's bad values get a 400 naming the column, never the model's 500: numbers too long to
read, nulls, NaN and infinities, CSV rows with a missing cell (a real uvicorn server, httpx)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from mlops_kit.deploy._values import BadValues
from tests.deploy.conftest import X, Y, running

NUMERIC = X[["age", "spend"]]


class NeedsPlan:
    """Raises on a missing plan, as a model that encodes strings does."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if df["plan"].isna().any():
            raise ValueError("plan is missing")
        return np.ones(len(df))


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[httpx.Client, mk.Endpoint]]]:
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("lr", LogisticRegression().fit(NUMERIC, Y), input_example=NUMERIC.head(3))
    reg.register("plan", NeedsPlan(), input_example=X.head(3))
    hgb = HistGradientBoostingRegressor(max_iter=5).fit(NUMERIC, Y)
    reg.register("hgb", hgb, input_example=NUMERIC.head(3))  # takes NaN: histogram trees route it
    dep = mk.LocalDeployer(reg, log_predictions=False)
    out = {}
    with (
        running(dep.deploy("lr").asgi_app()) as lr_url,
        running(dep.deploy("plan").asgi_app()) as plan_url,
        running(dep.deploy("hgb").asgi_app()) as hgb_url,
    ):
        for name, url in (("lr", lr_url), ("plan", plan_url), ("hgb", hgb_url)):
            out[name] = (httpx.Client(base_url=url, timeout=30), dep.endpoint(name))
        yield out
        for client, ep in out.values():
            client.close()
            ep.close()
    dep.close()


def split(age: str, spend: str) -> bytes:
    """A dataframe_split body with the cells written as raw JSON (NaN, Infinity, 1e999...)."""
    return f'{{"dataframe_split": {{"columns": ["age", "spend"], "data": [[{age}, {spend}]]}}}}'.encode()


def oip(age: str, spend: str) -> bytes:
    return (
        f'{{"inputs": [{{"name": "age", "shape": [1], "datatype": "INT64", "data": [{age}]}}, '
        f'{{"name": "spend", "shape": [1], "datatype": "FP64", "data": [{spend}]}}]}}'
    ).encode()


JSON = {"content-type": "application/json"}
LONG = "1" * 4301  # one digit past Python's int-to-str limit


@pytest.mark.parametrize(("age", "spend"), [(LONG, "1.0"), ("30", LONG)], ids=["int", "float"])
def test_a_number_too_long_to_read_is_a_400_on_both_protocols(
    servers: dict[str, tuple[httpx.Client, mk.Endpoint]], age: str, spend: str
) -> None:
    client, _ = servers["lr"]
    r = client.post("/invocations", content=split(age, spend), headers=JSON)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "BAD_REQUEST" and "number too long" in r.json()["message"]
    r = client.post("/v2/models/lr/infer", content=oip(age, spend), headers=JSON)
    assert r.status_code == 400, r.text
    assert "number too long" in r.json()["error"]


@pytest.mark.parametrize(
    ("spend", "what"),
    [
        ("NaN", "1 null"),
        ("null", "1 null"),
        ("Infinity", "1 infinite value"),
        ("-Infinity", "1 infinite"),
        ("1e999", "1 infinite"),
    ],
)
def test_nulls_and_infinities_in_a_float_column_are_a_400_naming_it(
    servers: dict[str, tuple[httpx.Client, mk.Endpoint]], spend: str, what: str
) -> None:
    client, _ = servers["lr"]
    r = client.post("/invocations", content=split("30", spend), headers=JSON)
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert f"column 'spend': {what}" in message and "lr:1" in message
    r = client.post("/v2/models/lr/infer", content=oip("30", spend), headers=JSON)
    assert r.status_code == 400, r.text
    assert f"column 'spend': {what}" in r.json()["error"]
    records = f'{{"dataframe_records": [{{"age": 30, "spend": 1.0}}, {{"age": 31, "spend": {spend}}}]}}'
    r = client.post("/invocations", content=records.encode(), headers=JSON)
    assert r.status_code == 400 and "at rows [1]" in r.json()["message"], r.text


def test_a_csv_row_with_a_missing_cell_is_a_400_naming_the_column(
    servers: dict[str, tuple[httpx.Client, mk.Endpoint]],
) -> None:
    client, _ = servers["lr"]
    csv = {"content-type": "text/csv"}
    r = client.post("/invocations", content=b"age,spend\n30,1.5\n40,\n", headers=csv)
    assert r.status_code == 400, r.text
    assert "column 'spend': 1 null at rows [1]" in r.json()["message"]
    r = client.post("/invocations", content=b"age,spend\n,1.5\n", headers=csv)  # an int column
    assert r.status_code == 400 and "column 'age': 1 null" in r.json()["message"], r.text
    assert client.post("/invocations", content=b"age,spend\n30,1.5\n", headers=csv).status_code == 200


def test_a_null_string_reaches_no_model_that_fails_on_it(
    servers: dict[str, tuple[httpx.Client, mk.Endpoint]],
) -> None:
    client, _ = servers["plan"]
    row = {"age": 30, "spend": 1.0, "plan": None}
    r = client.post("/invocations", json={"dataframe_records": [row]})
    assert r.status_code == 400 and "column 'plan': 1 null" in r.json()["message"], r.text
    assert (
        client.post("/invocations", json={"dataframe_records": [{**row, "plan": "pro"}]}).status_code == 200
    )


def test_a_model_that_takes_nulls_still_gets_them(
    servers: dict[str, tuple[httpx.Client, mk.Endpoint]],
) -> None:
    client, ep = servers["hgb"]
    r = client.post("/invocations", content=split("30", "NaN"), headers=JSON)
    assert r.status_code == 200, r.text
    r = client.post("/invocations", content=split("30", "Infinity"), headers=JSON)  # but not infinities
    assert r.status_code == 400 and "column 'spend': 1 infinite value" in r.json()["message"], r.text
    r = client.post("/invocations", content=split("null", "1.0"), headers=JSON)  # nor a null int
    assert r.status_code == 400 and "column 'age': 1 null" in r.json()["message"], r.text
    assert ep.predict({"age": 30, "spend": float("nan")}).shape == (1,)


def test_in_process_predict_raises_a_schema_error_naming_the_column(
    servers: dict[str, tuple[httpx.Client, mk.Endpoint]],
) -> None:
    _, ep = servers["lr"]
    frame = pd.DataFrame({"age": [30, 40], "spend": [np.inf, np.nan]})
    with pytest.raises(
        BadValues, match=r"column 'spend': 1 null at rows \[1\] and 1 infinite value at rows \[0\]"
    ):
        ep.predict(frame)
    with pytest.raises(mk.SchemaError):  # a SchemaError like every input problem
        ep.predict({"age": 30, "spend": None})
    assert ep.predict({"age": 30, "spend": 1.0}).shape == (1,)


def test_nulls_the_input_example_had_are_let_through() -> None:
    reg = mk.Registry(mk.MemoryStorage())
    example = NUMERIC.head(3).assign(spend=[1.0, None, 3.0])
    model = HistGradientBoostingRegressor(max_iter=5).fit(NUMERIC, Y)
    reg.register("gaps", model, input_example=example)
    with mk.LocalDeployer(reg, log_predictions=False).deploy("gaps") as ep:
        assert ep.live.snapshot.primary.checker.values.complete == {"age"}  # type: ignore[union-attr]
        assert ep.predict({"age": 30, "spend": None}).shape == (1,)
