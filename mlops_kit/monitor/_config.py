"""Checking a monitor's options once, at construction, with errors that say what to change."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.profile import Profile
from mlops_kit.monitor._evaluate import CORRECTIONS
from mlops_kit.monitor._methods import METHODS, DriftMethod, get_method

__all__ = [
    "MethodSpec",
    "check_fraction",
    "resolve_columns",
    "resolve_methods",
    "resolve_min_effect",
    "resolve_thresholds",
]

MethodSpec = str | DriftMethod


def check_fraction(value: object, what: str, *, zero: bool = False) -> float:
    """``value`` as a float in ``(0, 1]`` (``[0, 1]`` with ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{what} must be a number between 0 and 1, got {value!r}.")
    low_ok = value >= 0 if zero else value > 0
    if not (low_ok and value <= 1):
        raise ConfigError(f"{what} must be between 0 and 1, got {value!r}.")
    return float(value)


def check_correction(correction: object) -> str | None:
    if correction is None or correction in CORRECTIONS:
        return correction
    raise ConfigError(f"Unknown correction {correction!r}; expected None, 'bonferroni' or 'fdr_bh'.")


def resolve_columns(
    profile: Profile,
    columns: Sequence[str] | None,
    target: str | None,
    prediction: str | None,
    known: Sequence[str],
) -> list[str]:
    """The feature columns: ``columns``, or every reference column but the target and prediction.

    ``known`` lists every column of the reference (the profile may cover only the wanted ones).
    """
    for role, name in (("target", target), ("prediction", prediction)):
        if name is None:
            continue
        if not isinstance(name, str):
            raise ConfigError(f"{role} must be a column name, got {name!r}.")
        if name not in profile.columns:
            raise ConfigError(
                f"The {role} column {name!r} is not in the reference, which has {list(known)}. The reference "
                f"needs the {role} to measure {role} drift and the reference performance."
            )
    if target is not None and target == prediction:
        raise ConfigError(f"target and prediction must be different columns, both are {target!r}.")
    if columns is None:
        features = [c for c in profile.columns if c not in (target, prediction)]
    else:
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise ConfigError(f"columns must be a list of column names, got {columns!r}.")
        features = list(dict.fromkeys(columns))
        missing = [c for c in features if c not in profile.columns]
        if missing:
            raise SchemaError(f"Columns {missing} are not in the reference, which has {list(known)}.")
        features = [c for c in features if c not in (target, prediction)]
    monitored = [*features, *(c for c in (prediction, target) if c is not None)]
    empty = [c for c in monitored if not profile.columns[c].count]
    if empty:
        raise SchemaError(
            f"Reference columns {empty} hold only nulls, so there is nothing to compare with; "
            "leave them out with columns=[...] or use a reference where they have values."
        )
    return features


def resolve_methods(
    method: MethodSpec | Mapping[str, MethodSpec], profile: Profile, monitored: Sequence[str]
) -> dict[str, DriftMethod | None]:
    """The method of every monitored column (``None`` for auto)."""
    if isinstance(method, Mapping):
        unknown = [c for c in method if c not in monitored]
        if unknown:
            raise ConfigError(
                f"method= names columns {unknown} that are not monitored; monitored: {list(monitored)}."
            )
        specs: dict[str, MethodSpec] = {c: method.get(c, "auto") for c in monitored}
    else:
        specs = dict.fromkeys(monitored, method)
    out: dict[str, DriftMethod | None] = {}
    for column, spec in specs.items():
        chosen = None if spec == "auto" else get_method(spec)
        kind = profile.columns[column].kind
        if chosen is not None and kind not in chosen.kinds:
            raise ConfigError(
                f"Method {chosen.name!r} does not apply to {profile.columns[column].dtype} column "
                f"{column!r}; it handles {sorted(chosen.kinds)} columns. Choose one of "
                f"{sorted(n for n, m in METHODS.items() if kind in m.kinds)} for it."
            )
        if chosen is not None and chosen.name == "ztest":
            categories = len(profile.columns[column].counts or {}) + bool(profile.columns[column].other)
            if categories > 2:
                raise ConfigError(
                    f"The z-test compares two proportions, but the reference column {column!r} has "
                    f"{categories} categories. Use method='chisquare' for it."
                )
        out[column] = chosen
    return out


def resolve_min_effect(
    min_effect: float | Mapping[str, float] | None, monitored: Sequence[str]
) -> dict[str, float | None]:
    """Per column: the minimum effect size, or ``None`` for the default.

    A mapping names columns; the others keep the default.
    """
    if min_effect is None:
        return dict.fromkeys(monitored)
    if isinstance(min_effect, Mapping):
        unknown = [c for c in min_effect if c not in monitored]
        if unknown:
            raise ConfigError(
                f"min_effect= names columns {unknown} that are not monitored; monitored: {list(monitored)}."
            )
        return {c: _check_min_effect(min_effect[c], c) if c in min_effect else None for c in monitored}
    return dict.fromkeys(monitored, _check_min_effect(min_effect, "min_effect"))


def _check_min_effect(value: object, what: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or math.isinf(value):
        raise ConfigError(
            f"The minimum effect size for {what!r} must be a number >= 0 (0 turns it off), got {value!r}."
        )
    return float(value)


def resolve_thresholds(
    threshold: float | Mapping[str, float] | None, methods: Mapping[str, DriftMethod | None]
) -> dict[str, float | dict[str, float] | None]:
    """Per column: a threshold, a per-method table (auto columns), or ``None`` (method defaults).

    A mapping may name columns or methods; a column entry wins over a method entry.
    """
    if threshold is None:
        return dict.fromkeys(methods)
    if isinstance(threshold, Mapping):
        for key, value in threshold.items():
            _check_threshold(value, key)
        unknown = [k for k in threshold if k not in methods and k not in METHODS]
        if unknown:
            raise ConfigError(
                f"threshold= names {unknown}, which are neither monitored columns nor methods; "
                f"columns: {list(methods)}, methods: {sorted(METHODS)}."
            )
        out: dict[str, Any] = {}
        for column, method in methods.items():
            if column in threshold:
                out[column] = float(threshold[column])
            elif method is not None:
                out[column] = threshold.get(method.name)
            else:
                out[column] = {k: float(v) for k, v in threshold.items() if k in METHODS}
        return out
    value = _check_threshold(threshold, "threshold")
    auto = [c for c, m in methods.items() if m is None]
    if auto:
        raise ConfigError(
            f"A single threshold={threshold!r} is ambiguous with method='auto' (columns {auto[:5]}), "
            "which mixes p-values and distances. Give one per method, e.g. "
            "threshold={'ks': 0.01, 'wasserstein': 0.2}, or choose the method explicitly."
        )
    return dict.fromkeys(methods, value)


def _check_threshold(value: object, what: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"The threshold for {what!r} must be a positive number, got {value!r}.")
    return float(value)
