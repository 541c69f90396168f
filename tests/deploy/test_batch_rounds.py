"""Rounds of batched model calls: requests of any size that share a call each get exactly their
own rows back, and clients that come back together are collected into one call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mlops_kit.deploy import _batching
from mlops_kit.deploy._calls import Call, Outcome
from tests.deploy.conftest import Doubler, running
from tests.deploy.test_batching import GatedDoubler, served_model, serving
from tests.deploy.test_big_requests import post_all, rows_body

PATHS = {"mlflow": "/invocations", "oip": "/v2/models/d/infer"}


def answer(response: Any) -> list[Any]:
    """The predictions of an MLflow or an OIP answer, as MLflow writes them."""
    body = response.json()
    if "predictions" in body:
        return list(body["predictions"])
    outputs = body["outputs"]
    if len(outputs) == 1:
        return list(outputs[0]["data"])
    names = [o["name"].split("_", 1)[-1] for o in outputs]  # predict_double -> double
    return [dict(zip(names, row)) for row in zip(*(o["data"] for o in outputs))]


@pytest.mark.parametrize("output", ["array", "series", "frame", "list"])
def test_concurrent_requests_of_different_sizes_get_exactly_their_own_rows(output: str) -> None:
    _, ep, app = serving(GatedDoubler(output))
    model = served_model(ep)
    warm_up = len(model.calls)
    # Sizes on both sides of the bound below which plain columns stay lists (64 rows).
    sizes = [1, 1000, 3, 64, 65, 300, 1, 999]
    starts = [100 + 2000 * k for k in range(len(sizes))]
    protocols = ["mlflow", "oip"] * (len(sizes) // 2)
    bodies = [(PATHS[p], rows_body(s, n, p)) for s, n, p in zip(starts, sizes, protocols)]
    # The first model call holds until every request is in its round or waits for the next, so
    # the rest share the next round: at most one call for the plain ones and one for the others.
    batcher = app.state.batcher
    model.ready = lambda rows: batcher.running + batcher.waiting == len(sizes)
    with running(app) as url:
        responses = post_all(url, bodies)
    for start, n, r in zip(starts, sizes, responses):
        assert r.status_code == 200, r.text
        ages = range(start, start + n)
        if output == "frame":
            assert answer(r) == [{"double": 2.0 * a, "age": a} for a in ages]
        else:
            assert answer(r) == [2.0 * a for a in ages]
    calls = model.calls[warm_up:]
    assert len(calls) <= 4 and sum(calls) == sum(sizes)
    log = ep.predictions()
    assert sorted(log["age"]) == sorted(a for s, n in zip(starts, sizes) for a in range(s, s + n))
    column = "prediction_double" if output == "frame" else "prediction"
    assert (log[column] == 2.0 * log["age"]).all()
    by_request = log.groupby("request_id")["age"].agg(["min", "count"])
    assert sorted(map(tuple, by_request.to_numpy().tolist())) == sorted(zip(starts, sizes))
    ep.close()


def one_row_call(ep: Any, age: int) -> Call:
    call = ep.live.begin({"age": [age], "spend": [1.5], "plan": ["pro"]}, raw=None)
    assert isinstance(call, Call)
    return call


def test_clients_that_come_back_one_after_the_other_share_the_next_call(monkeypatch: Any) -> None:
    monkeypatch.setattr(_batching, "_MAX_LINGER", 60.0)  # the round's own time bounds the wait here
    _, ep, app = serving(Doubler(delay=0.3))
    model = served_model(ep)
    batcher = app.state.batcher
    warm_up = len(model.calls)

    async def rounds() -> list[Outcome]:
        first = [asyncio.ensure_future(batcher.run(one_row_call(ep, 20 + i))) for i in range(3)]
        await asyncio.gather(*first)  # one round of 3 calls: 3 clients in flight
        lone = asyncio.ensure_future(batcher.run(one_row_call(ep, 30)))
        for _ in range(20):  # turns of the loop, far shorter than the last round (0.3 s)
            await asyncio.sleep(0)
        assert len(model.calls) == warm_up + 1 and batcher.waiting == 1  # it waits for the others
        others = [asyncio.ensure_future(batcher.run(one_row_call(ep, 31 + i))) for i in range(2)]
        return list(await asyncio.gather(lone, *others))

    outcomes = asyncio.run(rounds())
    assert [list(o.output) for o in outcomes] == [[60.0], [62.0], [64.0]]
    assert model.calls[warm_up:] == [3, 3]  # without waiting: [3, 1, 2]
    ep.close()


def test_a_call_waits_for_others_at_most_as_long_as_the_last_round_took() -> None:
    _, ep, app = serving(Doubler(delay=0.05))
    model = served_model(ep)
    batcher = app.state.batcher
    warm_up = len(model.calls)

    async def rounds() -> list[Outcome]:
        await asyncio.gather(*(batcher.run(one_row_call(ep, 20 + i)) for i in range(4)))
        # Nobody else comes: the lone call runs once the wait is over, alone.
        return [await batcher.run(one_row_call(ep, 30)), await batcher.run(one_row_call(ep, 31))]

    outcomes = asyncio.run(rounds())
    assert [list(o.output) for o in outcomes] == [[60.0], [62.0]]
    assert model.calls[warm_up:] == [4, 1, 1]
    ep.close()
