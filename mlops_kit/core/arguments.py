"""One rule per kind of argument, shared by every block.

``Dataset``, ``Registry``, ``Pipeline``, the deployer, the monitor and the training
loop check what users pass with these functions, so the same mistake raises the same
error class, with the same message, wherever it is made. Nothing is written before
an argument passes.

============================================  ======================  =========================
the mistake                                   examples                raises
============================================  ======================  =========================
a malformed name, alias, reference, tag,      ``"my model"``,         :class:`InvalidNameError`
metric or param key, or version number        ``"m:0"``, ``0``,
(an int, or inside a reference)               ``-1``, ``True``,
                                              ``1.5``, ``"2"``
a well-formed name or version that does       ``"m:7"`` with 3        :class:`NotFoundError`
not exist                                     versions
a value of the wrong type or domain: tags     ``tags={"a": 1}``,      :class:`ConfigError`
(str to str), metrics (finite numbers),       ``metrics={"auc":
params (scalars), description (a str),        nan}``,
``storage=`` (see :data:`StorageLike`)        ``storage=42``
============================================  ======================  =========================

Keys of tags, metrics and params follow the name rule of
:func:`~mlops_kit.core.names.check_name`, like dataset and model names.

Examples
--------
>>> from mlops_kit.core.arguments import check_tags, check_version
>>> check_tags({"team": "crm"})
{'team': 'crm'}
>>> check_tags({"my team": "crm"})
Traceback (most recent call last):
...
mlops_kit.core.errors.InvalidNameError: Invalid tag key 'my team': ...
>>> check_version(0, "model version")
Traceback (most recent call last):
...
mlops_kit.core.errors.InvalidNameError: Invalid model version 0: ...
"""

from __future__ import annotations

import math
import numbers
import os
import reprlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from mlops_kit.core.errors import ConfigError, InvalidNameError
from mlops_kit.core.names import check_name

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = [
    "Scalar",
    "StorageLike",
    "check_description",
    "check_metric",
    "check_metrics",
    "check_page",
    "check_params",
    "check_positive_int",
    "check_storage",
    "check_tags",
    "check_version",
]

StorageLike: TypeAlias = "Storage | str | os.PathLike[str] | None"
"""What every ``storage=`` parameter accepts: a :class:`Storage`, a URL, a path, or
``None`` for the default (``$MLOPS_KIT_STORAGE``, else ``./.mlops``)."""

Scalar: TypeAlias = "str | int | float | bool | None"
"""A param value: what a JSON record stores and a search compares."""

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60


def _show(value: object) -> str:
    """``type (repr)``, the repr cut short: messages stay readable for big values."""
    return f"{type(value).__name__} ({_short.repr(value)})"


def _mapping(value: object, argument: str, expected: str, key_kind: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{argument}= must be a dict of {expected}, got {_show(value)}.")
    for key in value:
        check_name(key, key_kind)
    return value


def check_tags(tags: object) -> dict[str, str]:
    """Tags as a plain dict: keys are names, values strings; ``None`` is ``{}``.

    Raises
    ------
    InvalidNameError
        If a key breaks the name rule (``"my team"``, ``""``, ``3``).
    ConfigError
        If ``tags`` is not a mapping, or a value is not a string.

    Examples
    --------
    >>> check_tags(None), check_tags({"source": "crm"})
    ({}, {'source': 'crm'})
    >>> check_tags({"n": 3})
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: Tag 'n' must be a string, got int (3); pass str(value) to record it.
    """
    checked = {}
    for key, value in _mapping(tags, "tags", "strings to strings", "tag key").items():
        if not isinstance(value, str):
            raise ConfigError(
                f"Tag {key!r} must be a string, got {_show(value)}; pass str(value) to record it."
            )
        checked[key] = value
    return checked


def check_metric(name: object, value: object, *, finite: bool = True) -> float:
    """One metric: a name, and a real number (finite unless ``finite=False``).

    ``log_metric`` passes ``finite=False``: a diverging loss is worth recording.
    Numbers are anything with ``__float__`` (numpy scalars included) except bools.

    Raises
    ------
    InvalidNameError
        If ``name`` breaks the name rule.
    ConfigError
        If ``value`` is not a number, or not finite when ``finite`` is set.

    Examples
    --------
    >>> check_metric("auc", 0.91)
    0.91
    >>> check_metric("auc", float("nan"))
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: Metric 'auc' must be finite, got nan; leave it out instead.
    """
    name = check_name(name, "metric name")
    if isinstance(value, bool | str | bytes) or not (
        isinstance(value, numbers.Real) or hasattr(value, "__float__")
    ):
        raise ConfigError(f"Metric {name!r} must be a number, got {_show(value)}.")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Metric {name!r} must be a number, got {_show(value)}.") from exc
    if finite and not math.isfinite(number):
        raise ConfigError(f"Metric {name!r} must be finite, got {value!r}; leave it out instead.")
    return number


def check_metrics(metrics: object) -> dict[str, float]:
    """Metrics as a plain dict of finite floats; ``None`` is ``{}``.

    Raises
    ------
    InvalidNameError
        If a metric name breaks the name rule.
    ConfigError
        If ``metrics`` is not a mapping, or a value is not a finite number.

    Examples
    --------
    >>> check_metrics({"auc": 0.91, "rows": 10})
    {'auc': 0.91, 'rows': 10.0}
    """
    mapping = _mapping(metrics, "metrics", "metric names to numbers", "metric name")
    return {key: check_metric(key, value) for key, value in mapping.items()}


def check_params(params: object) -> dict[str, Any]:
    """Params as a plain dict of scalars (see :data:`Scalar`); ``None`` is ``{}``.

    numpy scalars become Python ones; floats must be finite.

    Raises
    ------
    InvalidNameError
        If a param name breaks the name rule.
    ConfigError
        If ``params`` is not a mapping, or a value is not a finite scalar.

    Examples
    --------
    >>> check_params({"C": 0.5, "penalty": "l2", "seed": None})
    {'C': 0.5, 'penalty': 'l2', 'seed': None}
    """
    checked: dict[str, Any] = {}
    expected = "names to scalars (str, int, float, bool or None)"
    for key, value in _mapping(params, "params", expected, "param name").items():
        if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
            try:
                value = value.item()
            except (TypeError, ValueError):
                pass  # an array of several values: refused below
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ConfigError(
                f"Param {key!r} must be a str, int, float, bool or None, got {_show(value)}; "
                "pass str(value) to record it."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"Param {key!r} must be finite, got {value!r}; pass str(value) to record it.")
        checked[key] = value
    return checked


def check_description(description: object) -> str:
    """A description is a string (``""`` for none).

    Raises
    ------
    ConfigError
        If ``description`` is not a string.

    Examples
    --------
    >>> check_description("trained on January")
    'trained on January'
    """
    if not isinstance(description, str):
        raise ConfigError(f"description= must be a string, got {_show(description)}.")
    return description


def check_positive_int(value: object, argument: str, *, hint: str = "") -> int:
    """``value`` if it is an int of at least 1 (not a bool), else :class:`ConfigError`
    naming ``argument`` (and ``hint``, which says what a value means).

    Examples
    --------
    >>> check_positive_int(4, "workers")
    4
    >>> check_positive_int(0, "workers", hint="1 runs in the calling process")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: workers= must be a positive integer (1 runs in the calling process), got int (0).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        detail = f" ({hint})" if hint else ""
        raise ConfigError(f"{argument}= must be a positive integer{detail}, got {_show(value)}.")
    return value


def check_page(limit: object, offset: object) -> tuple[int | None, int]:
    """A listing's page: ``limit`` (``None`` for all, else at least 1) and ``offset`` (at least 0).

    Examples
    --------
    >>> check_page(50, 0), check_page(None, 100)
    ((50, 0), (None, 100))
    >>> check_page(0, 0)
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: limit= must be a positive integer (None lists everything), got int (0).
    """
    if limit is not None:
        limit = check_positive_int(limit, "limit", hint="None lists everything")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ConfigError(
            f"offset= must be an integer of 0 or more (how many entries to skip), got {_show(offset)}."
        )
    return limit, offset


def check_version(version: object, kind: str = "version") -> int:
    """A version number: a positive integer (numpy integers too), never a bool.

    Parameters
    ----------
    version : object
        The candidate.
    kind : str
        What it numbers (``"model version"``, ``"dataset version"``), for the message.

    Raises
    ------
    InvalidNameError
        If ``version`` is not a positive integer: ``0``, ``-1``, ``True``, ``1.5``,
        ``"2"``. Whether a well-formed version exists is for the caller to find out
        (:class:`NotFoundError`).

    Examples
    --------
    >>> check_version(3)
    3
    >>> check_version(True)
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.InvalidNameError: Invalid version True: ...
    """
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise InvalidNameError(
            f"Invalid {kind} {version!r}: expected a positive integer (1, 2, ...), got {type(version).__name__}."
        )
    return int(version)


def check_storage(value: object) -> StorageLike:
    """Check the type of a ``storage=`` argument without opening it.

    Raises
    ------
    ConfigError
        If ``value`` is not a :class:`Storage`, a string, a path or ``None``.

    Examples
    --------
    >>> check_storage("memory://")
    'memory://'
    """
    from mlops_kit.core.storage import Storage

    if value is None or isinstance(value, str | os.PathLike | Storage):
        return value
    raise ConfigError(
        f"storage= must be a Storage, a URL or a path, got {_show(value)}; for example "
        "mk.storage('s3://bucket/prefix'), './.mlops' or mk.MemoryStorage()."
    )
