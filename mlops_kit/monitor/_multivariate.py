"""Multivariate drift: a change in how columns relate that no per-column test sees.

Two detectors, both fitted on the reference's raw rows:

``domain_classifier``
    A gradient-boosting classifier is told to separate reference rows from current
    rows. It learns on a stratified half of the rows and scores the other half: the ROC
    AUC of those held-out scores is the statistic. Without drift the held-out scores are
    independent of the labels, so the Mann-Whitney U test of current-row scores against
    reference-row scores is exact under the null: its p-value is the calibrated
    threshold, whatever the sample size. (Pooled k-fold out-of-fold scores are not:
    the folds' models share training rows.) Drift needs that
    p-value below ``alpha`` and an AUC of at least ``0.5 + min_effect``.
``pca_reconstruction``
    The reference's standardized rows are compressed by PCA to the components that keep
    65% of the variance and decompressed; the error is the mean Euclidean distance of a
    row to its reconstruction. The PCA is fitted on one half of the reference; the other
    half gives the error's no-drift mean and spread, so a current chunk of ``n`` rows is
    judged by a z-test of its mean error (the chunk means of independent rows are
    normal to a good approximation from a few dozen rows). Drift needs that p-value
    below ``alpha`` and a relative change of the mean error of at least ``min_effect``.

Both sample at most ``max_rows`` rows of each side (seeded, so a check is repeatable).
Categorical columns are coded by their reference frequency (unseen values: 0), numeric
nulls and infinities are imputed with the reference median; the share of missing values
is the univariate checks' business.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.record import Record

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["METHODS", "MultivariateDrift", "check_multivariate", "multivariate_drift"]

Method = Literal["domain_classifier", "pca_reconstruction"]
METHODS: tuple[Method, ...] = ("domain_classifier", "pca_reconstruction")
_DEFAULT_EFFECT = {"domain_classifier": 0.05, "pca_reconstruction": 0.1}
_MIN_ROWS = 20
_VARIANCE_KEPT = 0.65


class MultivariateDrift(Record):
    """The verdict of one multivariate drift detector.

    Attributes
    ----------
    method : str
        ``"domain_classifier"`` (statistic: cross-validated ROC AUC, 0.5 = no drift) or
        ``"pca_reconstruction"`` (statistic: the current mean reconstruction error).
    statistic : float or None
        The detector's statistic; ``None`` when there was not enough data.
    baseline : float or None
        The statistic's no-drift value: 0.5, or the reference's mean error.
    p_value : float or None
        The calibrated p-value (Mann-Whitney U, or the z-test of the mean error).
    effect_size : float or None
        AUC - 0.5, or the relative change of the mean error.
    alpha, min_effect : float
        Drift needs ``p_value < alpha`` and ``effect_size >= min_effect``.
    drifted : bool
    n_reference, n_current : int
        The rows used from each side (after sampling).
    columns : tuple of str
        The columns the detector saw.
    note : str
        Why a detector gave no verdict ("not enough data: ..."), else empty.
    """

    method: Method
    statistic: float | None
    baseline: float | None
    p_value: float | None
    effect_size: float | None
    alpha: float
    min_effect: float
    drifted: bool
    n_reference: int
    n_current: int
    columns: tuple[str, ...]
    note: str = ""


def check_multivariate(value: object) -> tuple[Method, ...]:
    """The detectors ``Monitor(multivariate=...)`` asks for: ``False``/``None`` (none), ``True``
    (both), a method name or a list of them."""
    if value is None or value is False:
        return ()
    if value is True:
        return METHODS
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names or not all(n in METHODS for n in names):
        raise ConfigError(
            f"multivariate= must be True, False, one of {list(METHODS)} or a list of them; got {value!r}."
        )
    return tuple(dict.fromkeys(names))


def multivariate_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    *,
    methods: Sequence[Method] = METHODS,
    alpha: float = 0.05,
    min_effect: float | None = None,
    max_rows: int = 5_000,
    seed: int = 0,
) -> tuple[MultivariateDrift, ...]:
    """Run the multivariate detectors on the ``columns`` of two frames.

    Examples
    --------
    Two columns whose correlation flips from +0.9 to -0.9 keep their distributions:
    every per-column test passes, the joint detectors do not.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def sample(rho, n):
    ...     xy = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    ...     return pd.DataFrame(xy, columns=["x", "y"])
    >>> found = multivariate_drift(sample(0.9, 2000), sample(-0.9, 2000), ["x", "y"])
    >>> [(d.method, d.drifted) for d in found]
    [('domain_classifier', True), ('pca_reconstruction', True)]
    >>> found = multivariate_drift(sample(0.9, 2000), sample(0.9, 2000), ["x", "y"])
    >>> [d.drifted for d in found]
    [False, False]
    """
    if not columns:
        raise ConfigError("Multivariate drift needs at least one column.")
    missing = [c for c in columns if c not in reference.columns or c not in current.columns]
    if missing:
        raise SchemaError(
            f"Multivariate drift: columns {missing} are not in both the reference and the current data."
        )
    ref = _sample(reference[list(columns)], max_rows, seed)
    cur = _sample(current[list(columns)], max_rows, seed + 1)
    encode = _Encoder(ref)
    ref_x, cur_x = encode(ref), encode(cur)
    results = []
    for method in methods:
        effect = _DEFAULT_EFFECT[method] if min_effect is None else float(min_effect)
        base = {
            "method": method,
            "alpha": alpha,
            "min_effect": effect,
            "n_reference": len(ref_x),
            "n_current": len(cur_x),
            "columns": tuple(columns),
        }
        if len(ref_x) < 2 * _MIN_ROWS or len(cur_x) < _MIN_ROWS:
            results.append(
                MultivariateDrift(
                    **base,
                    statistic=None,
                    baseline=0.5 if method == "domain_classifier" else None,
                    p_value=None,
                    effect_size=None,
                    drifted=False,
                    note=f"not enough data: needs {2 * _MIN_ROWS} reference and {_MIN_ROWS} current rows",
                )
            )
            continue
        detector = _domain_classifier if method == "domain_classifier" else _reconstruction
        statistic, baseline, p_value, size = detector(ref_x, cur_x, seed)
        drifted = bool(p_value < alpha and size >= effect)
        results.append(
            MultivariateDrift(
                **base,
                statistic=statistic,
                baseline=baseline,
                p_value=p_value,
                effect_size=size,
                drifted=drifted,
            )
        )
    return tuple(results)


def _sample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= max_rows else frame.sample(n=max_rows, random_state=seed)


class _Encoder:
    """Numbers for every column, learned on the reference: numeric values with nulls and
    infinities at the reference median, categories as their reference frequency."""

    def __init__(self, reference: pd.DataFrame) -> None:
        import numpy as np
        import pandas as pd

        self.plan: list[tuple[str, Any]] = []
        for name in reference.columns:
            column = reference[name]
            if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
                values = column.to_numpy(dtype="float64", na_value=np.nan)
                finite = values[np.isfinite(values)]
                self.plan.append((name, float(np.median(finite)) if finite.size else 0.0))
            else:
                self.plan.append((name, column.astype("string").value_counts(normalize=True, dropna=False)))

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np
        import pandas as pd

        out = np.empty((len(frame), len(self.plan)))
        for j, (name, rule) in enumerate(self.plan):
            if isinstance(rule, pd.Series):
                out[:, j] = frame[name].astype("string").map(rule).astype("float64").fillna(0.0).to_numpy()
            else:
                values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
                out[:, j] = np.where(np.isfinite(values), values, rule)
        return out


def _domain_classifier(ref: np.ndarray, cur: np.ndarray, seed: int) -> tuple[float, float, float, float]:
    import numpy as np
    from scipy.stats import mannwhitneyu
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    x = np.vstack([ref, cur])
    y = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
    fit_x, test_x, fit_y, test_y = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
    model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, random_state=seed)
    scores = model.fit(fit_x, fit_y).predict_proba(test_x)[:, 1]
    current, reference = scores[test_y == 1], scores[test_y == 0]
    test = mannwhitneyu(current, reference, alternative="greater")
    auc = float(test.statistic) / (len(current) * len(reference))
    return auc, 0.5, float(test.pvalue), auc - 0.5


def _reconstruction(ref: np.ndarray, cur: np.ndarray, seed: int) -> tuple[float, float, float, float]:
    import numpy as np
    from scipy.stats import norm
    from sklearn.decomposition import PCA

    order = np.random.default_rng(seed).permutation(len(ref))
    fit_rows, null_rows = ref[order[: len(ref) // 2]], ref[order[len(ref) // 2 :]]
    center, scale = fit_rows.mean(axis=0), fit_rows.std(axis=0)
    scale[scale == 0] = 1.0
    pca = PCA(n_components=_VARIANCE_KEPT if fit_rows.shape[1] > 1 else None, svd_solver="full")
    pca.fit((fit_rows - center) / scale)

    def errors(rows: np.ndarray) -> np.ndarray:
        z = (rows - center) / scale
        return np.asarray(np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1))

    null, now = errors(null_rows), errors(cur)
    mean, spread = float(null.mean()), float(null.std(ddof=1))
    current = float(now.mean())
    if spread == 0.0:  # the reference lies exactly on its components
        p_value = 1.0 if current == mean else 0.0
    else:
        # Two spreads: the null half's mean is itself an estimate.
        se = spread * math.sqrt(1 / len(now) + 1 / len(null))
        p_value = float(2 * norm.sf(abs(current - mean) / se))
    size = abs(current - mean) / mean if mean > 0 else (math.inf if current > 0 else 0.0)
    return current, mean, p_value, size
