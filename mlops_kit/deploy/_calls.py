"""What a request is on its way through an endpoint: a routed, checked Call, then its Outcome."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlops_kit.deploy._served import Served

__all__ = ["Call", "Outcome", "new_request_id"]

# Request ids unique across processes and restarts, without a uuid per request.
_ID_PREFIX = f"{os.urandom(6).hex()}-"
_IDS = itertools.count(1)


def new_request_id() -> str:
    """A request id unique across processes and restarts."""
    return f"{_ID_PREFIX}{next(_IDS)}"


@dataclass(frozen=True)
class Outcome:
    """The answer to one request."""

    output: Any
    version: str  # the answering version, or "a,b" when a keyed canary split the rows
    versions: np.ndarray | None  # per-row versions when split
    request_id: str
    latency_ms: float


@dataclass(frozen=True, eq=False)
class Call:
    """One request, routed and checked, waiting for its model to run."""

    target: Served
    method: str
    rows: int
    inputs: pd.DataFrame | None  # what the model gets; None: made from ``raw`` (see Live.begin)
    frame: pd.DataFrame | None  # what the caller sent, as a table (None with ``inputs``)
    raw: dict[str, list[Any]] | None  # the request's columns as parsed, for the log
    request_id: str
    start: float  # perf_counter() when the request began
    shadow: Served | None  # the version that sees it mirrored
