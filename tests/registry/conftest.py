"""Small models and a registry on memory storage, shared by the registry tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk


class Doubler:
    """A plain Python model: ``predict`` doubles the first column."""

    def __init__(self, tag: Any = None) -> None:
        self.tag = tag

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(X.iloc[:, 0], dtype=float) * 2

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Doubler) and other.tag == self.tag

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 60),
            "spend": rng.gamma(2.0, 30.0, 60),
            "plan": pd.Categorical(rng.choice(["basic", "pro"], 60)),
        }
    )


@pytest.fixture
def fitted(frame: pd.DataFrame) -> Any:
    """A fitted sklearn pipeline (one-hot + logistic regression) on ``frame``."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer((StandardScaler(), ["age", "spend"]), (OneHotEncoder(), ["plan"]))
    y = (frame["spend"] > 60).astype(int)
    return make_pipeline(pre, LogisticRegression()).fit(frame, y)


@pytest.fixture
def reg() -> mk.Registry:
    return mk.Registry(mk.MemoryStorage())
