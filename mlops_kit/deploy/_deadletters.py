"""Dead letters: prediction-log entries that could not be stored as Parquet, kept apart.

Each one is a JSON blob of the request (inputs by column, output, versions) and a
:class:`DeadLetter` record with the reason, appended to the endpoint's
``dead_letters`` log, so one bad entry never blocks the others.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.clock import current_user
from mlops_kit.deploy._records import DeadLetter

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.deploy._predlog import Entry

__all__ = ["read_dead_letters", "write_dead_letter"]

COLUMNS = ["time", "request_id", "version", "n_rows", "reason", "entry"]


def write_dead_letter(storage: Storage, prefix: str, entry: Entry, reason: str) -> None:
    """Store ``entry`` as JSON (values JSON cannot hold become their ``str``) with ``reason``."""
    digest = storage.put_blob(json.dumps(_jsonable(entry), default=str).encode())
    version = entry.version if isinstance(entry.version, str) else ",".join(sorted(set(entry.version)))
    letter = DeadLetter(
        blob=digest,
        request_id=entry.request_id,
        n_rows=entry.n_rows,
        version=version,
        reason=reason,
        at=entry.time,
        by=current_user(),
    )
    storage.append(prefix, letter)


def read_dead_letters(storage: Storage, prefix: str) -> pd.DataFrame:
    """The dead letters under ``prefix``, oldest first: one row each, ``entry`` the parsed JSON."""
    rows = []
    for item in storage.read_log(prefix, DeadLetter):
        letter = item.record
        rows.append(
            {
                "time": letter.at,
                "request_id": letter.request_id,
                "version": letter.version,
                "n_rows": letter.n_rows,
                "reason": letter.reason,
                "entry": json.loads(storage.get_blob(letter.blob)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _jsonable(entry: Entry) -> dict[str, Any]:
    inputs = entry.inputs
    columns = _plain(inputs) if isinstance(inputs, pd.DataFrame) else inputs
    return {
        "time": entry.time.isoformat(),
        "request_id": entry.request_id,
        "method": entry.method,
        "version": _plain(entry.version),
        "latency_ms": entry.latency_ms,
        "inputs": {str(k): _plain(v) for k, v in columns.items()},
        "output": _plain(entry.output),
        "shadow_version": entry.shadow_version,
        "shadow_output": _plain(entry.shadow_output),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return {str(c): value.iloc[:, i].tolist() for i, c in enumerate(value.columns)}
    if isinstance(value, np.ndarray | pd.Series):
        return value.tolist()
    return value
