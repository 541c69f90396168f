"""The runs table's query string: filters mapped onto ``mk.runs``, sorting, and the table's columns.

``?experiment=&status=`` filter as their names say; ``?param.<name>=<value>`` keeps runs
whose param equals the value (read as JSON when it parses: ``0.5`` is a number, ``"0.5"``
a string); ``?tag.<key>=<value>`` keeps runs carrying that tag; ``?metric=<name><op><value>``
(op one of ``>``, ``>=``, ``<``, ``<=``, ``=``) keeps runs whose last value compares true.
``?sort=<column>&order=asc|desc`` sorts every matching run (a fold of them all).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import InvalidNameError
from mlops_kit.core.names import check_name
from mlops_kit.ui._context import BadRequest

if TYPE_CHECKING:
    from starlette.requests import Request

    from mlops_kit.tracking import AnyRun

__all__ = [
    "FIXED",
    "STATUSES",
    "RunQuery",
    "cell",
    "columns_of",
    "experiment_of",
    "kind_of",
    "param_text",
    "sort_runs",
]

FIXED = ("id", "kind", "experiment", "status", "started", "duration")
STATUSES = ("finished", "failed", "running", "unfinished", "succeeded")
_OPS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "=="}
_METRIC = re.compile(r"^\s*(?P<name>[^<>=\s]+)\s*(?P<op>>=|<=|>|<|=)\s*(?P<value>\S+)\s*$")
_KNOWN = {"experiment", "status", "metric", "sort", "order", "limit", "offset"}


@dataclass(frozen=True)
class RunQuery:
    """What ``/runs?...`` asks for, checked: the arguments of ``mk.runs`` and the sort."""

    experiment: str | None = None
    status: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, tuple[str, float]] = field(default_factory=dict)
    metric_text: tuple[str, ...] = ()
    sort: str | None = None
    descending: bool = True

    @classmethod
    def of(cls, request: Request) -> RunQuery:
        """The query of ``request``; :class:`BadRequest` says what was expected for a malformed one."""
        query = request.query_params
        params: dict[str, Any] = {}
        tags: dict[str, str] = {}
        for key, value in query.multi_items():
            kind, _, name = key.partition(".")
            if key in _KNOWN:
                continue
            if kind not in ("param", "tag") or not name:
                raise BadRequest(
                    f"Unknown filter {key!r}. Filters are ?experiment=, ?status=, ?param.<name>=<value>, "
                    "?tag.<key>=<value> and ?metric=<name><op><value> (for example metric=auc>=0.8)."
                )
            _check(name, f"{kind} name in ?{key}=")
            if kind == "param":
                params[name] = _param_value(value)
            else:
                tags[name] = value
        metrics, texts = _metrics(query.getlist("metric"))
        return cls(
            experiment=_experiment(query.get("experiment")),
            status=_status(query.get("status")),
            params=params,
            tags=tags,
            metrics=metrics,
            metric_text=texts,
            sort=query.get("sort") or None,
            descending=_descending(query.get("order")),
        )

    @property
    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``mk.runs``."""
        return {
            "experiment": self.experiment,
            "status": self.status,
            "params": self.params or None,
            "tags": self.tags or None,
            "metrics": self.metrics or None,
        }


def _check(name: str, what: str) -> str:
    try:
        return check_name(name, what)
    except InvalidNameError as exc:
        raise BadRequest(str(exc)) from None


def _experiment(raw: str | None) -> str | None:
    return _check(raw, "experiment name in ?experiment=") if raw else None


def _status(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in STATUSES:
        raise BadRequest(f"?status= must be one of {', '.join(STATUSES)}; got {raw!r}.")
    return raw


def _descending(raw: str | None) -> bool:
    if raw in (None, "", "desc"):
        return True
    if raw == "asc":
        return False
    raise BadRequest(f"?order= must be asc or desc, got {raw!r}.")


def _param_value(raw: str) -> Any:
    """A param filter's value: JSON when it parses to a scalar (``0.5``, ``true``, ``"text"``), else the text."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, (str, int, float, bool)) or value is None else raw


def param_text(value: Any) -> str | None:
    """How ``?param.<name>=`` spells ``value`` so that it reads back equal (``None`` for NaN: nothing equals it)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and _param_value(value) == value:
        return value
    return json.dumps(value)


def _metrics(texts: list[str]) -> tuple[dict[str, tuple[str, float]], tuple[str, ...]]:
    found: dict[str, tuple[str, float]] = {}
    kept = []
    for text in texts:
        if not text.strip():
            continue  # an empty box of the form
        match = _METRIC.match(text)
        number = _number(match.group("value")) if match else None
        if match is None or number is None:
            raise BadRequest(
                f"?metric= must be <name><op><number> with op one of > >= < <= =, for example "
                f"metric=auc>=0.8; got {text!r}."
            )
        name = _check(match.group("name"), "metric name in ?metric=")
        if name in found:
            raise BadRequest(f"?metric= can filter metric {name!r} once; got two conditions on it.")
        found[name] = (_OPS[match.group("op")], number)
        kept.append(text.strip())
    return found, tuple(kept)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# -- the table --------------------------------------------------------------------


def kind_of(run: AnyRun) -> str:
    """``tracked`` or ``pipeline``."""
    from mlops_kit.tracking import TrackedRun

    return "tracked" if isinstance(run, TrackedRun) else "pipeline"


def experiment_of(run: AnyRun) -> str:
    """The experiment of a tracked run, the pipeline of a pipeline run."""
    from mlops_kit.tracking import TrackedRun

    return run.experiment if isinstance(run, TrackedRun) else run.pipeline


def columns_of(runs: list[AnyRun]) -> list[str]:
    """``params.*``, ``metrics.*`` and ``tags.*`` columns of the keys these runs have, each group sorted."""
    groups: list[set[str]] = [set(), set(), set()]
    for run in runs:
        groups[0].update(run.params)
        groups[1].update(run.metrics)
        groups[2].update(run.tags)
    return [
        f"{p}.{k}"
        for p, keys in zip(("params", "metrics", "tags"), groups, strict=True)
        for k in sorted(keys)
    ]


def cell(run: AnyRun, column: str) -> Any:
    """The value of ``column`` for ``run`` (``None`` if the run has no such key)."""
    if column in FIXED:
        fixed: dict[str, Any] = {
            "id": run.id,
            "kind": kind_of(run),
            "experiment": experiment_of(run),
            "status": run.status,
            "started": run.started_at,
            "duration": run.duration_s,
        }
        return fixed[column]
    group, _, key = column.partition(".")
    values = {"params": run.params, "metrics": run.metrics, "tags": run.tags}.get(group, {})
    return values.get(key)


def sort_runs(runs: list[AnyRun], column: str, *, descending: bool) -> list[AnyRun]:
    """``runs`` sorted by ``column``; runs without a value (or with NaN) come last either way."""
    valid = [*FIXED, *columns_of(runs)]
    keyed = column.partition(".")[0] in ("params", "metrics", "tags") and column.partition(".")[2]
    if column not in valid and not (keyed and not runs):  # nothing matched: any key column sorts nothing
        raise BadRequest(f"Cannot sort by {column!r}: the columns are {', '.join(valid)}.")
    present, missing = [], []
    for run in runs:
        value = cell(run, column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(run)
        else:
            present.append((_rank(value), run))
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [run for _, run in present] + missing


def _rank(value: Any) -> tuple[int, Any]:
    # Params can mix types: numbers sort among themselves, then text, each naturally.
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (2, str(value))
