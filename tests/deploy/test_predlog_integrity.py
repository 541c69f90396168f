"""The prediction log loses nothing: no request poisons it, floods stay within its byte bound,
shadow rows are there as soon as the caller has its answer, and exit flushes everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.deploy._predlog import MAX_BATCH_COLUMNS, Entry, estimate_bytes
from mlops_kit.deploy._records import PredictionBatch
from tests.deploy.conftest import Doubler, X, make_registry, running

GOOD = {"age": 30, "spend": 1.5, "plan": "pro"}
ROOT = Path(__file__).resolve().parents[2]

POISON = {  # requests that each answer 200 and once made every later flush fail
    "int-then-str": ([{"x": 1}], [{"x": "a"}]),
    "float-then-str": ([{"x": 1.5}], [{"x": "a"}]),
    "bool-then-str": ([{"x": True}], [{"x": "a"}]),
    "mixed-in-one-request": ([{"x": 1}, {"x": "a"}],),
    "time-and-input_time": ([{"time": 1, "input_time": 2}],),
    "prediction-and-input_prediction": ([{"prediction": 1, "input_prediction": 2}],),
    "int-beyond-int64": ([{"id": 2**70}],),
}
STORED = {  # what the log keeps of them
    "int-then-str": {"x": ["1", "a"]},
    "float-then-str": {"x": ["1.5", "a"]},
    "bool-then-str": {"x": ["true", "a"]},
    "mixed-in-one-request": {"x": ["1", "a"]},
    "time-and-input_time": {"input_time": [1], "input_input_time": [2]},
    "prediction-and-input_prediction": {"input_prediction": [1], "input_input_prediction": [2]},
    "int-beyond-int64": {"id": [str(2**70)]},
}


def _records(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"dataframe_records": [{**GOOD, **row} for row in rows]}


@pytest.mark.parametrize("case", list(POISON))
def test_no_accepted_request_poisons_the_log(case: str) -> None:
    registry = make_registry()
    dep = mk.LocalDeployer(registry, flush_rows=50, poll_interval=0.05)
    ep = dep.deploy("m:1")
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url, timeout=30) as client:
        for rows in POISON[case]:
            assert client.post("/invocations", json=_records(rows)).status_code == 200
        for _ in range(300):
            assert client.post("/invocations", json=_records([{}])).status_code == 200
    # the server's shutdown flushed the rest: everything is in storage
    assert ep.live.log is not None and ep.live.log.buffered_rows == 0
    fresh = mk.LocalDeployer(registry).endpoint("m")
    frame = fresh.predictions()
    poisoned = sum(len(rows) for rows in POISON[case])
    assert len(frame) == poisoned + 300
    assert frame["request_id"].nunique() == len(POISON[case]) + 300
    for column, values in STORED[case].items():
        assert frame[column].iloc[:poisoned].tolist() == values
    assert pd.api.types.is_datetime64_any_dtype(frame["time"]) and frame.columns.is_unique
    assert fresh.dead_letters().empty
    ep.close()
    fresh.close()


def test_a_column_keeps_one_type_across_flushes(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    for value in (1, 2, "a", 3):  # int, int, then str: one flush each
        ep.predict({**GOOD, "x": value})
        assert ep.flush() == 1
    frame = ep.predictions()
    assert frame["x"].tolist() == ["1", "2", "a", "3"]  # str in every batch, read as one type
    ep.predict({**GOOD, "x": 4})
    assert ep.flush() == 1 and ep.predictions()["x"].tolist()[-1] == "4"  # still str once mixed
    ep.close()


def test_signature_columns_are_typed_from_the_signature(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    for age in (30.0, 31):  # a float that is a whole number, for an int column
        columns = {"age": [age], "spend": [2], "plan": ["pro"]}
        ep.live.infer(columns, raw=columns)
        ep.flush()
    frame = ep.predictions()
    assert frame["age"].dtype == np.int64 and frame["spend"].dtype == np.float64
    ep.close()


def test_an_entry_that_cannot_be_written_is_set_aside_with_its_reason() -> None:
    registry = make_registry()
    dep = mk.LocalDeployer(registry, flush_rows=10**6)
    ep = dep.deploy("m:1")
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/invocations", json=_records([{}])).status_code == 200
        ep.predict(X.head(2).assign(z=[1j, 2j]))  # an extra column of complex numbers
        for _ in range(5):
            assert client.post("/invocations", json=_records([{}])).status_code == 200
        assert ep.flush() == 6  # the others are written
        metrics = client.get("/metrics").text
    assert 'mlops_kit_prediction_log_problems_total{endpoint="m",reason="dead_letter"} 1.0' in metrics
    fresh = mk.LocalDeployer(registry).endpoint("m")
    assert len(fresh.predictions()) == 6
    letters = fresh.dead_letters()
    assert len(letters) == 1
    letter = letters.iloc[0]
    assert letter["n_rows"] == 2 and letter["version"] == "m:1"
    assert "complex" in letter["reason"].lower()
    assert letter["entry"]["inputs"]["z"] == ["1j", "2j"] and letter["entry"]["inputs"]["age"] == [25, 40]
    ep.close()
    fresh.close()


def test_extra_columns_beyond_the_limit_are_dropped_from_the_log_and_counted() -> None:
    registry = make_registry()
    dep = mk.LocalDeployer(registry, max_extra_columns=10)
    ep = dep.deploy("m:1")
    extras = {f"e{i}": i for i in range(25)}
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url, timeout=30) as client:
        response = client.post("/invocations", json=_records([extras]))
        assert response.status_code == 200 and response.json()["predictions"] == [1.0]
        metrics = client.get("/metrics").text
    assert 'mlops_kit_prediction_log_problems_total{endpoint="m",reason="extra_columns"} 1.0' in metrics
    frame = ep.predictions()
    kept = [c for c in frame.columns if c.startswith("e")]
    assert kept == [f"e{i}" for i in range(10)]  # the first ones, in the request's order
    assert frame["age"].tolist() == [30] and frame["prediction"].tolist() == [1.0]
    ep.close()


def test_the_estimate_follows_the_memory_a_request_holds() -> None:
    n = 5_000
    columns = {
        "age": list(range(1000, 1000 + n)),
        "spend": [float(i) + 0.5 for i in range(n)],
        "plan": [f"plan-{i}" for i in range(n)],
    }
    true = sum(sys.getsizeof(v) + sum(sys.getsizeof(x) for x in v) for v in columns.values())
    entry = Entry(
        time=pd.Timestamp.now(tz="UTC").to_pydatetime(),
        request_id="r",
        n_rows=n,
        inputs=columns,
        method="predict",
        output=np.zeros(n),
        version="m:1",
        latency_ms=1.0,
    )
    estimate = estimate_bytes(entry)
    assert 0.7 * (true + 8 * n) <= estimate <= 1.5 * (true + 8 * n)


class Unreachable(mk.MemoryStorage):
    """A storage that is down: every write fails."""

    def _write(self, key: str, data: bytes) -> None:
        raise mk.StorageError(f"storage is down (writing {key!r})")


def test_the_buffer_is_bounded_in_bytes_when_storage_cannot_keep_up() -> None:
    registry = make_registry()
    bound = 2**20
    dep = mk.LocalDeployer(registry, max_buffer_bytes=bound, flush_interval=10**6)
    ep = dep.deploy("m:1")
    log = ep.live.log
    assert log is not None
    log.storage = Unreachable()
    wide = {f"c{j}": [j] for j in range(250)}  # about 25 kB per request
    peak = 0
    for i in range(100):
        columns = {"age": [i], "spend": [1.0], "plan": ["pro"], **wide}
        ep.live.infer(columns, raw=columns)
        peak = max(peak, log.buffered_bytes)
    assert peak <= bound
    assert log.dropped > 0 and log.problems["buffer_full"] == log.dropped
    log.storage = registry.storage
    log.flush()
    assert log.buffered_rows == 0 and len(ep.predictions()) == 100 - log.dropped
    ep.close()


@pytest.mark.slow
def test_a_flood_of_wide_requests_flushes_early_in_bounded_batches() -> None:
    registry = make_registry()
    bound = 2**20
    dep = mk.LocalDeployer(
        registry, max_buffer_bytes=bound, max_extra_columns=1000, flush_rows=10**6, flush_interval=10**6
    )
    ep = dep.deploy("m:1")
    log = ep.live.log
    assert log is not None
    peak = 0
    for i in range(40):  # 40 requests with 1,000 extra columns each, named apart
        body = json.dumps(
            {"age": [i], "spend": [1.0], "plan": ["pro"], **{f"r{i}_{j}": [j] for j in range(1000)}}
        )
        columns = json.loads(body)
        ep.live.infer(columns, raw=columns)
        peak = max(peak, log.buffered_bytes)
    assert peak <= bound
    ep.flush()
    batches = [e.record for e in registry.storage.read_log(log.prefix, PredictionBatch)]
    assert len(batches) >= 2 and sum(b.n_rows for b in batches) == 40 - log.dropped
    for batch in batches:
        frame = pd.read_parquet(__import__("io").BytesIO(registry.storage.get_blob(batch.blob)))
        assert frame.shape[1] <= MAX_BATCH_COLUMNS + 6  # the meta columns and the prediction
    ep.close()


def test_predictions_include_every_shadowed_request(registry: mk.Registry) -> None:
    registry.register("m", Doubler(delay=0.02), input_example=X.head(2))  # m:4, a slow shadow
    dep = mk.LocalDeployer(registry)
    ep = dep.deploy("m:1")
    dep.deploy("m:4", strategy=mk.Shadow())
    for i in range(20):
        ep.predict(X.iloc[[i % len(X)]])
    frame = ep.predictions()  # right after the last answer
    assert len(frame) == 20
    assert frame["shadow_prediction"].tolist() == [float(X["age"].iloc[i % len(X)]) * 2 for i in range(20)]
    ep.close()


@pytest.mark.slow
def test_exit_flushes_shadowed_and_large_buffers(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    make_registry(mk.storage(store)).register("m", Doubler(delay=0.05), input_example=X.head(2))
    script = (
        "import pandas as pd\n"
        "import mlops_kit as mk\n"
        "from tests.deploy.conftest import X\n"
        f"reg = mk.Registry({store!r})\n"
        "dep = mk.LocalDeployer(reg)\n"
        "ep = dep.deploy('m:1')\n"
        "dep.deploy('m:4', strategy=mk.Shadow())\n"
        "for _ in range(10):\n"
        "    ep.predict(X.head(1))\n"
        "ep.predict(pd.concat([X] * 500, ignore_index=True))\n"  # 3,000 rows: pyarrow's threads
        # no close(), no flush(): the interpreter exits with shadow work queued
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120, capture_output=True, text=True
    )
    assert "could not flush" not in done.stderr, done.stderr
    ep = mk.LocalDeployer(mk.Registry(store)).endpoint("m")
    frame = ep.predictions()
    assert len(frame) == 10 + 3000
    assert frame["shadow_prediction"].notna().all()
    ep.close()
