"""Adaptive batching over HTTP: concurrent requests share model calls, each still gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from mlops_kit.core.schema import Schema
from mlops_kit.deploy._inputs import InputChecker, as_frame
from tests.deploy.conftest import Doubler, X, make_registry, running, wait_for


def post_all(url: str, bodies: list[Any], path: str = "/invocations") -> list[httpx.Response]:
    """Send every body at once, each on its own connection."""

    async def send() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(bodies))
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            return list(await asyncio.gather(*(client.post(path, json=body) for body in bodies)))

    return asyncio.run(send())


def split(*ages: Any, columns: tuple[str, ...] = ("age", "spend", "plan")) -> dict[str, Any]:
    rows = [[{"age": age, "spend": 1.5, "plan": "pro"}[c] for c in columns] for age in ages]
    return {"dataframe_split": {"columns": list(columns), "data": rows}}


def serving(model: Doubler, **options: Any) -> tuple[mk.LocalDeployer, mk.Endpoint, Any]:
    reg = make_registry()
    reg.register("d", model, input_example=X.head(2))
    dep = mk.LocalDeployer(reg)
    ep = dep.deploy("d")
    return dep, ep, ep.asgi_app(**options)


def served_model(ep: mk.Endpoint) -> Doubler:
    primary = ep.live.snapshot.primary
    assert primary is not None
    return primary.model  # type: ignore[no-any-return]


class GatedDoubler(Doubler):
    """A Doubler whose first call, once armed, waits until ``ready(rows of that call)``."""

    ready: Callable[[int], bool] | None = None

    def predict(self, df: pd.DataFrame) -> Any:
        ready, self.ready = self.ready, None  # only the first call waits
        if ready is not None:
            wait_for(lambda: ready(len(df)), what="every request queued behind the first model call")
        return super().predict(df)


@pytest.mark.parametrize("output", ["array", "series", "frame", "list"])
def test_concurrent_requests_share_model_calls_and_each_gets_its_own_rows(output: str) -> None:
    _, ep, app = serving(GatedDoubler(output))
    model = served_model(ep)
    warm_up = len(model.calls)
    ages = list(range(20, 36))
    # Deterministic: the first model call holds until every other request waits in the
    # batcher's queue, so the next call must take them together (no reliance on a sleep).
    model.ready = lambda rows: rows + app.state.batcher.waiting == len(ages)
    with running(app) as url:
        responses = post_all(url, [split(age) for age in ages])
    for age, r in zip(ages, responses):
        assert r.status_code == 200, r.text
        assert r.headers["x-model-version"] == "d:1"
        expected = {"double": 2.0 * age, "age": age} if output == "frame" else 2.0 * age
        assert r.json() == {"predictions": [expected]}
    calls = model.calls[warm_up:]
    first = calls[0]  # the requests read before the first call started, then all the others at once
    assert calls == [first] + ([len(ages) - first] if first < len(ages) else []) and max(calls) > 1
    assert app.state.batcher.calls == len(ages) and app.state.batcher.batches == len(calls)
    log = ep.predictions()
    assert sorted(log["age"]) == ages and log["request_id"].nunique() == len(ages)
    column = "prediction_double" if output == "frame" else "prediction"
    assert (log[column] == 2.0 * log["age"]).all()
    ep.close()


def test_a_request_the_model_fails_on_fails_alone() -> None:
    _, ep, app = serving(Doubler(delay=0.05))
    ages = [20, 21, 13, 22, 23, 24, 25, 26]
    with running(app) as url:
        responses = post_all(url, [split(age) for age in ages])
        metrics = httpx.get(f"{url}/metrics").text
    for age, r in zip(ages, responses):
        if age == 13:
            assert r.status_code == 500 and "age 13 is unlucky" in r.json()["message"]
        else:
            assert r.status_code == 200 and r.json() == {"predictions": [2.0 * age]}
    assert 'status="500",version="d:1"} 1.0' in metrics
    assert 'status="200",version="d:1"} 7.0' in metrics
    status = ep.status().versions["d:1"]
    assert status.requests == len(ages) and status.errors == 1
    assert sorted(ep.predictions()["age"]) == sorted(a for a in ages if a != 13)
    ep.close()


def test_requests_of_every_shape_and_bad_ones_in_the_same_moment() -> None:
    _, ep, app = serving(Doubler(delay=0.05))
    bodies = [
        split(30),  # plain: joined with the others like it
        split(31, 32, 33),
        split(34.0),  # a whole float for an int column: checked and converted on its own
        split(35, columns=("plan", "spend", "age")),  # another column order
        {"instances": [{"age": 36, "spend": 1, "plan": "pro", "customer": "c-1"}]},  # an extra column
        {"instances": [{"age": 37, "spend": None, "plan": "pro"}]},  # a null float
        split("x"),  # not an int: 400 (MLflow's status for a schema error) for this one only
        {"inputs": {"age": [38], "spend": [2.0]}},  # a missing column: 400
    ]
    with running(app) as url:
        responses = post_all(url, bodies)
    answers = [r.json().get("predictions") for r in responses]
    assert answers[:6] == [[60.0], [62.0, 64.0, 66.0], [68.0], [70.0], [72.0], [74.0]]
    assert [r.status_code for r in responses[6:]] == [400, 400]
    assert "column 'age': expected int" in responses[6].json()["message"]
    assert "missing column ['plan']" in responses[7].json()["message"]
    log = ep.predictions()
    assert sorted(log["age"]) == list(range(30, 38)) and log["age"].dtype == np.int64
    ep.close()


def test_max_batch_rows_bounds_each_call_and_1_turns_batching_off() -> None:
    _, ep, app = serving(Doubler(delay=0.05), max_batch_rows=4)
    model = served_model(ep)
    warm_up = len(model.calls)
    with running(app) as url:
        responses = post_all(url, [split(20 + i, 40 + i) for i in range(8)] + [split(*range(50, 55))])
    assert all(r.status_code == 200 for r in responses)
    assert responses[-1].json() == {"predictions": [100.0, 102.0, 104.0, 106.0, 108.0]}  # 5 rows: alone
    calls = model.calls[warm_up:]
    assert calls.count(5) == 1 and all(c <= 4 for c in calls if c != 5) and sum(calls) == 21
    ep.close()

    _, ep, app = serving(Doubler(delay=0.02), max_batch_rows=1)
    model = served_model(ep)
    warm_up = len(model.calls)
    with running(app) as url:
        responses = post_all(url, [split(age) for age in range(20, 28)])
    assert [r.json()["predictions"] for r in responses] == [[2.0 * a] for a in range(20, 28)]
    assert model.calls[warm_up:] == [1] * 8 and app.state.batcher.calls == 0
    ep.close()


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "8"])
def test_max_batch_rows_must_be_a_positive_integer(bad: Any) -> None:
    ep = mk.LocalDeployer(make_registry()).deploy("m:1")
    with pytest.raises(mk.ConfigError, match="max_batch_rows= must be a positive integer"):
        ep.asgi_app(max_batch_rows=bad)
    ep.close()


def test_shadow_and_keyed_canary_see_json_requests() -> None:
    reg = make_registry()
    reg.register("m", Doubler(), input_example=X.head(2))  # m:4
    dep = mk.LocalDeployer(reg)
    ep = dep.deploy("m:1")
    dep.deploy("m:4", strategy=mk.Shadow())
    with running(ep.asgi_app()) as url:
        answers = [r.json()["predictions"] for r in post_all(url, [split(20), split(13), split(21)])]
        assert answers == [[1.0], [1.0], [1.0]]  # callers only see the primary; its error is hidden
        wait_for(lambda: len(ep.predictions()) == 3, what="the shadow's results")
        log = ep.predictions().sort_values("age")  # ages 13, 20, 21
        assert log["prediction"].tolist() == [1.0, 1.0, 1.0]
        assert log["shadow_prediction"].tolist()[1:] == [40.0, 42.0]
        assert pd.isna(log["shadow_version"].iloc[0]) and log["shadow_version"].iloc[1] == "m:4"
        dep.promote("m")  # m:4 is the primary now
        dep.deploy("m:2", strategy=mk.Canary(0.5, key="plan"))
        rows = [[30, 1.0, plan] for plan in ["a", "b", "c", "d", "e", "f", "g", "h"]]
        body = {"dataframe_split": {"columns": ["age", "spend", "plan"], "data": rows}}
        first, again = post_all(url, [body, body])
    assert first.json() == again.json()  # a key always goes to the same version
    assert set(first.json()["predictions"]) == {60.0, 2.0}  # rows of both versions, in order
    assert first.headers["x-model-version"] == "m:4,m:2"
    ep.close()


# -- the invariant that lets plain requests be joined before their table is made -----------

SIGNATURE = pd.DataFrame({"i": [1], "f": [1.5], "b": [True], "s": ["x"]})
VALUES = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
PLAIN = {
    "i": st.integers(-(2**63), 2**63 - 1),
    "f": st.one_of(st.floats(), st.integers(-(2**63), 2**63 - 1)),
    "b": st.booleans(),
    "s": st.text(max_size=5),
}


@st.composite
def requests(draw: st.DrawFn) -> list[dict[str, list[Any]]]:
    """1-4 requests of 1-3 rows; in each column, plain values or (one time in four) any JSON scalars."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        rows = draw(st.integers(1, 3))
        request = {}
        for name, values in PLAIN.items():
            if draw(st.integers(0, 3)) == 0:
                values = st.one_of(values, VALUES)
            request[name] = draw(st.lists(values, min_size=rows, max_size=rows))
        out.append(request)
    return out


@settings(max_examples=200, deadline=None)
@given(requests())
def test_plain_requests_joined_make_the_table_each_makes_alone(batch: list[dict[str, list[Any]]]) -> None:
    checker = InputChecker(Schema.infer(SIGNATURE, ranges=False, categories=False), "t:1")
    plain = [raw for raw in batch if checker.plain(raw)]
    alone = [checker.prepare(as_frame(raw)) for raw in plain]  # never raises for a plain request
    if not plain:
        return
    joined = {name: [v for raw in plain for v in raw[name]] for name in checker.names}
    assert checker.plain(joined)
    together = checker.prepare(as_frame(joined))
    expected = pd.concat(alone, ignore_index=True)
    pd.testing.assert_frame_equal(together, expected, check_exact=True, check_column_type=False)


def test_what_is_not_plain() -> None:
    checker = InputChecker(Schema.infer(SIGNATURE, ranges=False, categories=False), "t:1")
    assert checker.plain({"i": [1, 2], "f": [1, 2.5], "b": [True, False], "s": ["a", "b"]})
    for changes in [
        {"i": [1.0]},  # a float in an int column
        {"i": [True]},  # a bool is not an int here
        {"i": [2**63]},  # beyond int64
        {"f": [None]},
        {"b": [1]},
        {"s": [3]},
    ]:
        assert not checker.plain({"i": [1], "f": [1.5], "b": [True], "s": ["a"], **changes}), changes
    assert not checker.plain({"f": [1.5], "i": [1], "b": [True], "s": ["a"]})  # another order
    assert not checker.plain({"i": [1], "f": [1.5], "b": [True]})  # a column missing
    assert not checker.plain({"i": [1], "f": [1.5, 2.5], "b": [True], "s": ["a"]})  # ragged
    assert not checker.plain({"i": [], "f": [], "b": [], "s": []})  # no rows
    assert not InputChecker(None, "t:1").plain({"i": [1]})  # no signature
    dated = InputChecker(Schema.infer(pd.DataFrame({"t": pd.to_datetime(["2026-01-01"])})), "t:1")
    assert not dated.plain({"t": ["2026-01-01"]})
