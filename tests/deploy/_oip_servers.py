"""Live servers for the Open Inference Protocol tests: one uvicorn server per endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

import mlops_kit as mk
from tests.deploy.conftest import Doubler, X, make_registry, running

MIXED_EXAMPLE = pd.DataFrame(
    {"age": [25, 40], "spend": [10.0, 80.5], "flag": [True, False], "plan": ["basic", "pro"]}
)


class Mixed:
    """Answers ``age + spend + 100 * flag + 1000 * len(plan)``: every column counts."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        flag = df["flag"].to_numpy().astype("float64")
        length = df["plan"].str.len().to_numpy().astype("float64")
        return df["age"].to_numpy() + df["spend"].to_numpy() + 100.0 * flag + 1000.0 * length


def mixed_answer(age: list[int], spend: list[float], flag: list[bool], plan: list[str]) -> np.ndarray:
    """What :class:`Mixed` answers, computed here by hand."""
    return np.array([a + s + 100.0 * f + 1000.0 * len(p) for a, s, f, p in zip(age, spend, flag, plan)])


@dataclass(frozen=True)
class Servers:
    """URLs of the live endpoints and the deployer behind them."""

    urls: dict[str, str]
    endpoints: dict[str, mk.Endpoint]
    registry: mk.Registry


@contextmanager
def oip_servers() -> Iterator[Servers]:
    """``m`` (a constant 1.0 on age, spend, plan), ``clf`` (a LogisticRegression on age and
    spend, with predict_proba), ``dbl`` (a DataFrame with columns ``double`` and ``age``) and
    ``mixed`` (int, float, bool and string columns)."""
    reg = make_registry(versions=1)
    reg.register("dbl", Doubler("frame"), input_example=X[["age", "spend"]].head(2))
    reg.register("mixed", Mixed(), input_example=MIXED_EXAMPLE)
    dep = mk.LocalDeployer(reg)
    endpoints = {name: dep.deploy(f"{name}:1", endpoint=name) for name in ("m", "clf", "dbl", "mixed")}
    with ExitStack() as stack:
        urls = {name: stack.enter_context(running(ep.asgi_app())) for name, ep in endpoints.items()}
        yield Servers(urls, endpoints, reg)
    for ep in endpoints.values():
        ep.close()
