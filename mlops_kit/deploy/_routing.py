"""Which version answers a request: the routing snapshot and the canary split."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlops_kit.core.errors import NotFoundError, SchemaError
from mlops_kit.deploy._served import Served
from mlops_kit.deploy._state import EndpointState

__all__ = ["Route", "Snapshot", "canary_choice", "canary_mask", "pinned", "route", "stitch"]


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


@dataclass(frozen=True, eq=False)
class Route:
    """Where one request goes: its version, the rows a keyed canary sends to the candidate
    instead (``mask``; then ``target`` is the primary), and the shadow that gets a copy."""

    target: Served
    primary: Served
    candidate: Served | None = None
    mask: np.ndarray | None = None
    shadow: Served | None = None


def route(
    snap: Snapshot,
    endpoint: str,
    method: str,
    version: str | None,
    frame: Callable[[], pd.DataFrame],
    rng: random.Random,
) -> Route:
    """Route a request on the snapshot it started with.

    ``version`` pins a live version (no canary split, no shadow copy); ``frame`` makes
    the request's table, called only for a canary keyed by a column.

    Raises
    ------
    NotFoundError
        Nothing is deployed, or ``version`` is not live.
    """
    primary = snap.primary
    if primary is None:
        raise NotFoundError(
            f"Endpoint {endpoint!r} serves no model: nothing was deployed, or it was undeployed. "
            f"Deploy one with deployer.deploy('model@alias', endpoint={endpoint!r})."
        )
    if version is not None:
        return Route(pinned(snap, endpoint, version), primary, snap.candidate)
    target, mask = canary_choice(snap, primary, method, frame, rng)
    shadow = snap.candidate if snap.state.strategy == "shadow" else None
    return Route(target, primary, snap.candidate, mask, shadow)


def pinned(snap: Snapshot, endpoint: str, version: str) -> Served:
    """The live version a request names.

    Raises
    ------
    NotFoundError
        If ``version`` is not live.
    """
    live = snap.live
    if version not in live:
        raise NotFoundError(
            f"Version {version!r} is not live on endpoint {endpoint!r}; live: {sorted(live)}."
        )
    return live[version]


def canary_choice(
    snap: Snapshot,
    primary: Served,
    method: str,
    frame: Callable[[], pd.DataFrame],
    rng: random.Random,
) -> tuple[Served, np.ndarray | None]:
    """The version of a request that pins none, and the candidate's rows if a keyed canary
    splits it (``None`` otherwise). A candidate without ``method`` never gets the request."""
    candidate, state = snap.candidate, snap.state
    if candidate is None or state.strategy != "canary" or not candidate.has(method):
        return primary, None
    weight = state.weight or 0.0
    if state.key is None:  # a coin flip per request
        return (candidate if rng.random() < weight else primary), None
    chosen = canary_mask(frame(), weight, state.key)
    if chosen.all():
        return candidate, None
    if chosen.any():
        return primary, chosen
    return primary, None


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
