"""Fixtures of the deployer tests: a registry with versions that say who they are, live servers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from tests.conftest import free_port

X = pd.DataFrame(
    {
        "age": [25, 40, 61, 33, 52, 47],
        "spend": [10.0, 80.5, 5.2, 42.0, 61.3, 12.9],
        "plan": ["basic", "pro", "basic", "plus", "pro", "basic"],
    }
)
Y = [0, 1, 0, 1, 1, 0]


def constant(value: float) -> DummyRegressor:
    """A model whose every prediction is ``value``: responses tell which version answered."""
    return DummyRegressor(strategy="constant", constant=value).fit(X, np.zeros(len(X)))


class Flaky:
    """Works at registration (its first predict), raises on every later call."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("flaky model broke")
        return np.zeros(len(df))


class Picky:
    """Raises on the age 13 (a model that really fails on some input)."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if (df["age"] == 13).any():
            raise ValueError("age 13 is unlucky")
        return df["age"].to_numpy() * 2.0


class Doubler:
    """Answers ``2 * age`` (as an array, a Series, a DataFrame or a list), raises on the age 13,
    and takes ``delay`` seconds per call, so that concurrent requests queue up for it.
    ``calls`` holds the rows of each call."""

    def __init__(self, output: str = "array", delay: float = 0.0) -> None:
        self.output = output
        self.delay = delay
        self.calls: list[int] = []

    def predict(self, df: pd.DataFrame) -> Any:
        time.sleep(self.delay)
        self.calls.append(len(df))
        if (df["age"] == 13).any():
            raise ValueError("age 13 is unlucky")
        doubled = df["age"].to_numpy() * 2.0
        if self.output == "series":
            return pd.Series(doubled, index=df.index + 100)  # an index of its own: never sent back
        if self.output == "frame":
            return pd.DataFrame({"double": doubled, "age": df["age"].to_numpy()})
        if self.output == "list":
            return doubled.tolist()
        return doubled


def make_registry(storage: mk.Storage | None = None, versions: int = 3) -> mk.Registry:
    """``m:1``..``m:N`` predicting 1.0..N.0, and ``clf:1`` with predict_proba."""
    reg = mk.Registry(storage or mk.MemoryStorage())
    for v in range(1, versions + 1):
        reg.register("m", constant(float(v)), input_example=X.head(3))
    numeric = X[["age", "spend"]]
    reg.register("clf", LogisticRegression().fit(numeric, Y), input_example=numeric.head(2))
    return reg


@pytest.fixture
def registry() -> mk.Registry:
    return make_registry()


@pytest.fixture
def deployer(registry: mk.Registry) -> mk.LocalDeployer:
    return mk.LocalDeployer(registry, poll_interval=0.2)


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Run an ASGI app on a real uvicorn server on 127.0.0.1 in a thread; yield its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_for(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
