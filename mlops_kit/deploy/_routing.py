"""Which version answers a request: the routing snapshot and the canary split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import SchemaError
from mlops_kit.deploy._served import Served
from mlops_kit.deploy._state import EndpointState

__all__ = ["Snapshot", "canary_mask", "stitch"]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What an endpoint serves, as one immutable object swapped atomically.

    A request reads the endpoint's snapshot once, at its start, and uses only that
    object, so a deploy, promote or rollback happening meanwhile never affects it.
    """

    state: EndpointState
    primary: Served | None = None
    candidate: Served | None = None

    @property
    def live(self) -> dict[str, Served]:
        """The versions taking traffic (or mirrored traffic) by label."""
        return {s.label: s for s in (self.primary, self.candidate) if s is not None}

    def roles(self) -> dict[str, str]:
        """``label -> primary | candidate | shadow``."""
        roles = {}
        if self.primary is not None:
            roles[self.primary.label] = "primary"
        if self.candidate is not None:
            roles[self.candidate.label] = "shadow" if self.state.strategy == "shadow" else "candidate"
        return roles


def canary_mask(frame: pd.DataFrame, weight: float, key: str) -> np.ndarray:
    """Rows for the candidate of a keyed canary: a stable hash of ``frame[key]``.

    The hash is pandas' fixed-key SipHash of the value, so a key goes to the same
    version in every process and after every restart. (Without a key, each request
    is a coin flip, made by the caller.)
    """
    if key not in frame.columns:
        raise SchemaError(
            f"The endpoint routes its canary by the column {key!r}, which the request lacks; "
            f"send {key!r} with every row (it need not be a model input)."
        )
    hashes = pd.util.hash_pandas_object(frame[key], index=False).to_numpy()
    return (hashes / 2.0**64) < weight


def stitch(mask: np.ndarray, chosen: Any, rest: Any) -> Any:
    """Reassemble outputs of the ``mask`` rows and of the other rows in the original order."""
    if isinstance(chosen, pd.DataFrame) or isinstance(rest, pd.DataFrame):
        chosen, rest = pd.DataFrame(chosen), pd.DataFrame(rest)
        order = np.concatenate([np.flatnonzero(mask), np.flatnonzero(~mask)])
        joined = pd.concat([chosen, rest], ignore_index=True)
        return joined.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    chosen = chosen.to_numpy() if isinstance(chosen, pd.Series) else np.asarray(chosen)
    rest = rest.to_numpy() if isinstance(rest, pd.Series) else np.asarray(rest)
    out = np.empty((len(mask), *chosen.shape[1:]), dtype=np.result_type(chosen, rest))
    out[mask] = chosen
    out[~mask] = rest
    return out
