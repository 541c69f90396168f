"""``LocalDeployer.predictions``: the stored log read without serving, and paged history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.errors import ConfigError, NotFoundError
from tests.deploy.conftest import X, make_registry

START = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


class TickingClock:
    """Each ``now()`` is one minute after the previous one: rows get known, distinct times."""

    def __init__(self) -> None:
        self.minutes = 0

    def now(self) -> dt.datetime:
        self.minutes += 1
        return START + dt.timedelta(minutes=self.minutes)

    def monotonic(self) -> float:
        return float(self.minutes * 60)

    def sleep(self, seconds: float) -> None:
        pass


class CountingStorage(mk.MemoryStorage):
    """Counts the blobs read, to show a page of the log fetches only the batches it needs."""

    def __init__(self) -> None:
        super().__init__()
        self.blob_reads = 0

    def get_blob(self, digest: str) -> bytes:
        self.blob_reads += 1
        return super().get_blob(digest)


def served(storage: Any, requests: int, rows: int = 1) -> mk.LocalDeployer:
    """``m:1`` served for ``requests`` requests of ``rows`` rows each, every one flushed as
    its own batch; the handle is closed, so only the stored log is left."""
    reg = make_registry(storage, versions=1)
    dep = mk.LocalDeployer(reg, clock=TickingClock())
    ep = dep.deploy("m:1", endpoint="ep")
    for i in range(requests):
        batch = X.head(rows).assign(age=[100 + i] * rows)
        ep.predict(batch)
        ep.flush()
    ep.close()
    return dep


def test_reads_the_stored_log_as_the_endpoint_does() -> None:
    storage = mk.MemoryStorage()
    dep = served(storage, requests=4, rows=2)
    ep = dep.endpoint("ep")
    expected = ep.predictions()
    ep.close()
    got = mk.LocalDeployer(mk.Registry(storage)).predictions("ep")
    pd.testing.assert_frame_equal(got, expected)
    assert got["age"].tolist() == [100, 100, 101, 101, 102, 102, 103, 103]


def test_limit_gives_the_newest_rows_from_the_newest_batches_only() -> None:
    storage = CountingStorage()
    served(storage, requests=30)
    reader = mk.LocalDeployer(mk.Registry(storage))
    storage.blob_reads = 0
    newest = reader.predictions("ep", limit=3)
    assert newest["age"].tolist() == [127, 128, 129]
    assert newest["time"].is_monotonic_increasing
    assert storage.blob_reads == 3  # 3 of the 30 batches, nothing else (no model either)
    assert len(reader.predictions("ep", limit=1000)) == 30


def test_since_keeps_rows_logged_at_or_after_it() -> None:
    storage = mk.MemoryStorage()
    dep = served(storage, requests=5)
    every = dep.predictions("ep")
    cut = every["time"].iloc[2].to_pydatetime()
    assert dep.predictions("ep", since=cut)["age"].tolist() == [102, 103, 104]
    assert dep.predictions("ep", since=cut, limit=2)["age"].tolist() == [103, 104]
    assert dep.predictions("ep", since=START + dt.timedelta(days=1)).empty


def test_reading_the_log_loads_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = mk.MemoryStorage()
    served(storage, requests=2)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a model was loaded to read the log")

    monkeypatch.setattr(mk.Registry, "load", refuse)
    monkeypatch.setattr("mlops_kit.deploy._deployer.load_served", refuse)
    assert mk.LocalDeployer(mk.Registry(storage)).predictions("ep", limit=5)["age"].tolist() == [100, 101]


def test_an_endpoint_without_traffic_has_an_empty_log() -> None:
    dep = mk.LocalDeployer(make_registry(versions=1))
    dep.deploy("m:1", endpoint="quiet").close()
    frame = dep.predictions("quiet", limit=50)
    assert frame.empty and list(frame.columns)[:3] == ["time", "request_id", "version"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": dt.datetime(2026, 1, 1)}, "timezone-aware"),
        ({"since": "yesterday"}, "timezone-aware"),
        ({"limit": 0}, "limit= must be a positive integer"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    dep = served(mk.MemoryStorage(), requests=1)
    with pytest.raises(ConfigError, match=message):
        dep.predictions("ep", **kwargs)


def test_an_unknown_endpoint_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="No endpoint 'nope'"):
        mk.LocalDeployer(make_registry(versions=1)).predictions("nope")


def test_history_pages_from_either_end() -> None:
    dep = mk.LocalDeployer(make_registry(versions=3))
    for v in (1, 2, 3):
        dep.deploy(f"m:{v}", endpoint="ep").close()
    dep.rollback("ep")
    every = dep.history("ep")
    assert [e.kind for e in every] == ["deploy", "deploy", "deploy", "rollback"]
    newest = dep.history("ep", limit=2, newest_first=True)
    assert [(e.kind, e.version) for e in newest] == [("rollback", 2), ("deploy", 3)]
    older = dep.history("ep", limit=2, offset=2, newest_first=True)
    assert [(e.kind, e.version) for e in older] == [("deploy", 2), ("deploy", 1)]
    assert [e.version for e in dep.history("ep", limit=1, offset=1)] == [2]
    with pytest.raises(ConfigError, match="offset="):
        dep.history("ep", offset=-1)


def _batch(store: mk.MemoryStorage, minutes: list[int], flushed: int) -> None:
    """A batch whose rows are at ``minutes`` after START, appended when its writer's clock read ``flushed``."""
    from mlops_kit.deploy._records import PredictionBatch

    times = pd.DatetimeIndex([START + dt.timedelta(minutes=m) for m in minutes]).as_unit("us")
    frame = pd.DataFrame({"time": times, "version": "m:1", "minute": minutes})
    blob = store.put_blob(frame.to_parquet())
    at = [START + dt.timedelta(minutes=m) for m in (minutes[0], minutes[-1], flushed)]
    store.append(
        "deployments/ep/predictions",
        PredictionBatch(
            blob=blob, n_rows=len(minutes), first_at=at[0], last_at=at[1], by="w", flushed_at=at[2]
        ),
    )


def test_batches_of_replicas_appended_out_of_time_order_lose_no_newest_row() -> None:
    store = mk.MemoryStorage()
    reg = make_registry(store, versions=1)
    mk.LocalDeployer(reg).deploy("m:1", endpoint="ep").close()
    # A replica flushes minute 9 at once; a stalled one flushes minutes 1-2 later; a third,
    # flushing every few minutes, appends minutes 5-6 last. The newest row is minute 9.
    _batch(store, [9], flushed=9)
    _batch(store, [1, 2], flushed=9)
    _batch(store, [5, 6], flushed=10)
    dep = mk.LocalDeployer(mk.Registry(store))
    assert dep.predictions("ep", limit=1)["minute"].tolist() == [9]
    assert dep.predictions("ep", limit=2)["minute"].tolist() == [6, 9]
    since = START + dt.timedelta(minutes=3)
    assert sorted(dep.predictions("ep", since=since)["minute"]) == [5, 6, 9]


@pytest.mark.parametrize("requests", [40, 400])
def test_reading_since_a_time_walks_back_from_the_end_of_the_log(requests: int) -> None:
    from tests.core.test_catalog import fresh
    from tests.core.test_logpacks import counted

    store = mk.MemoryStorage()
    dep = served(store, requests=requests)
    every = dep.predictions("ep")
    since = every.time.iloc[-3].to_pydatetime()  # the last three requests
    view = fresh(store)
    calls = counted(view)
    spans: list[tuple[int, int | None]] = []
    read_log = view.read_log

    def spying(prefix: str, *args: Any, after: int = 0, upto: int | None = None, **kw: Any) -> Any:
        if prefix.endswith("/predictions"):
            spans.append((after, upto))
        return read_log(prefix, *args, after=after, upto=upto, **kw)

    view.read_log = spying  # type: ignore[method-assign]
    recent = mk.LocalDeployer(mk.Registry(view)).predictions("ep", since=since)
    assert recent.reset_index(drop=True).equals(every[every.time >= since].reset_index(drop=True))
    assert len(recent) == 3
    # A page of batch records from the end of the log, never the whole log; a few requests.
    assert spans and min(after for after, _ in spans) >= requests - 64, spans
    assert sum(calls.values()) <= 20, calls
