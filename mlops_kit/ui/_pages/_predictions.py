"""The latest rows of a prediction log as table rows: time, version, inputs, outputs (newest first)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PredictionRow", "latest_predictions"]

MOST_INPUTS = 12  # input columns shown per row; the others are counted
MOST_CHARS = 40  # a value longer than this is cut
_META = {"time", "request_id", "version", "shadow_version", "latency_ms"}
_OUTPUT = re.compile(r"^(shadow_)?(prediction|proba)(_.+)?$")  # named so by the log (see docs/deploy.md)


@dataclass(frozen=True)
class PredictionRow:
    time: dt.datetime | None
    version: str
    request_id: str
    latency_ms: float | None
    inputs: list[tuple[str, str]]
    hidden_inputs: int
    outputs: list[tuple[str, str]]


def latest_predictions(frame: pd.DataFrame) -> list[PredictionRow]:
    """``frame`` (a prediction log, oldest first) as rows, newest first."""
    columns = [str(c) for c in frame.columns]
    inputs = [c for c in columns if c not in _META and not _OUTPUT.match(c)]
    outputs = [c for c in columns if _OUTPUT.match(c)]
    rows = []
    for record in reversed(frame.to_dict("records")):
        shown = [(c, _text(record[c])) for c in inputs[:MOST_INPUTS]]
        rows.append(
            PredictionRow(
                time=_time(record.get("time")),
                version=_text(record.get("version")),
                request_id=_text(record.get("request_id")),
                latency_ms=_float(record.get("latency_ms")),
                inputs=shown,
                hidden_inputs=max(0, len(inputs) - MOST_INPUTS),
                outputs=[(c, _text(record[c])) for c in outputs if not _missing(record[c])],
            )
        )
    return rows


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return text if len(text) <= MOST_CHARS else text[:MOST_CHARS] + "…"


def _float(value: Any) -> float | None:
    return None if _missing(value) or not isinstance(value, (int, float)) else float(value)


def _time(value: Any) -> dt.datetime | None:
    if _missing(value):
        return None
    convert = getattr(value, "to_pydatetime", None)  # a pandas Timestamp
    value = convert() if convert is not None else value
    return value if isinstance(value, dt.datetime) else None
