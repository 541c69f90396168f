"""Direct loss estimation for regression models: a model of the primary model's error.

Two gradient-boosted models (scikit-learn's ``HistGradientBoostingRegressor``, Poisson
loss: their predictions are positive means) learn the absolute and the squared error of
the primary model on the reference, from the features and the prediction. On a window,
their means estimate MAE and MSE (so RMSE). The band is the window's sampling noise given
its rows: each row's error varies around its predicted mean, with the spread the reference
shows (a delta method for RMSE).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlops_kit.monitor._estimation import EstimatedPerformance, judge
from mlops_kit.monitor._scoring import Scores
from mlops_kit.monitor._uncertainty import SEED, normal_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DLE"]

_THREADED_ROWS = 100_000
_MAX_CATEGORIES = 250  # HistGradientBoosting's limit is 255 bins per feature
_PARAMS: dict[str, Any] = {
    "loss": "poisson",
    "learning_rate": 0.05,
    "max_iter": 200,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "random_state": SEED,
}


class DLE:
    """A fitted DLE: the encoding of the inputs and the two error models."""

    method: Literal["cbpe", "dle"] = "dle"

    def __init__(
        self,
        prediction: str,
        inputs: tuple[str, ...],
        categories: dict[str, list[str]],
        models: tuple[Any, Any],
        spread: tuple[float, float],
    ) -> None:
        self.prediction = prediction
        self.inputs = inputs
        self._categories = categories
        self._abs_model, self._sq_model = models
        # Var(|e|) / E[e^2] and E[e^4] / E[e^2]^2 on the reference: the noise of a row's error.
        self._abs_var, self._kurtosis = spread

    @classmethod
    def fit(cls, reference: pd.DataFrame, target: str, prediction: str, features: Sequence[str]) -> DLE:
        from sklearn.ensemble import HistGradientBoostingRegressor

        inputs = (*(f for f in features if f != prediction), prediction)
        categories = {
            name: reference[name].astype(str).value_counts().index[:_MAX_CATEGORIES].tolist()
            for name in inputs
            if _is_categorical(reference[name])
        }
        err = reference[target].to_numpy(dtype=np.float64) - reference[prediction].to_numpy(dtype=np.float64)
        abs_err, sq_err = np.abs(err), err**2
        mse = float(sq_err.mean())
        if mse == 0:
            spread = (0.0, 1.0)
        else:
            spread = (max(1.0 - float(abs_err.mean()) ** 2 / mse, 0.0), float((sq_err**2).mean()) / mse**2)
        x = _design(reference, inputs, categories)
        mask = [name in categories for name in inputs]
        with _threads(len(x)):
            models = tuple(
                HistGradientBoostingRegressor(categorical_features=mask, **_PARAMS).fit(x, y)
                if y.sum() > 0
                else None
                for y in (abs_err, sq_err)
            )
        return cls(prediction, inputs, categories, models, spread)  # type: ignore[arg-type]

    def estimate(self, frame: pd.DataFrame, reference: Scores, tolerance: float) -> EstimatedPerformance:
        frame = frame.loc[frame[self.prediction].notna()]
        n = len(frame)
        if not n:
            return judge("dle", "regression", self.prediction, Scores({}), reference, tolerance)
        x = _design(frame, self.inputs, self._categories)
        with _threads(n):
            abs_err = self._abs_model.predict(x) if self._abs_model is not None else np.zeros(n)
            sq_err = self._sq_model.predict(x) if self._sq_model is not None else np.zeros(n)
        mae, mse = float(abs_err.mean()), float(sq_err.mean())
        rmse = math.sqrt(mse)
        se_mae = math.sqrt(self._abs_var * float(sq_err.sum())) / n
        se_mse = math.sqrt(max(self._kurtosis - 1.0, 0.0) * float((sq_err**2).sum())) / n
        se_rmse = se_mse / (2 * rmse) if rmse > 0 else 0.0
        bounds = (0.0, math.inf)
        estimate = Scores(
            {"mae": mae, "rmse": rmse},
            {"mae": se_mae, "rmse": se_rmse},
            {
                "mae": normal_interval(mae, se_mae, bounds=bounds),
                "rmse": normal_interval(rmse, se_rmse, bounds=bounds),
            },
            n,
        )
        return judge("dle", "regression", self.prediction, estimate, reference, tolerance)


def _threads(rows: int) -> Any:
    """One OpenMP thread below 100,000 rows: fast enough, and no spinning threads on a busy host."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1 if rows < _THREADED_ROWS else None)


def _is_categorical(series: pd.Series) -> bool:
    import pandas as pd

    return bool(
        isinstance(series.dtype, pd.CategoricalDtype)
        or series.dtype == object
        or pd.api.types.is_string_dtype(series)
    )


def _design(frame: pd.DataFrame, inputs: Sequence[str], categories: dict[str, list[str]]) -> np.ndarray:
    """The model's input matrix: numbers as floats, categories as codes (unknown ones missing)."""
    import pandas as pd

    columns = []
    for name in inputs:
        series = frame[name]
        if name in categories:
            codes = pd.Categorical(
                series.astype(str).where(series.notna()), categories=categories[name]
            ).codes
            columns.append(np.where(codes < 0, np.nan, codes).astype(np.float64))
        elif pd.api.types.is_datetime64_any_dtype(series):
            seconds = series.astype("int64").to_numpy(dtype=np.float64) / 1e9
            columns.append(np.where(series.isna().to_numpy(), np.nan, seconds))
        else:
            columns.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0))
