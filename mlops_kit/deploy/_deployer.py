"""Deployers: put registry versions behind endpoints, with an audit trail of every change."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import StorageLike, check_page
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock, current_user
from mlops_kit.core.errors import ConfigError, ConflictError, MlopsKitError, NotFoundError
from mlops_kit.core.listing import NameList, RecordList, record_row
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.core.storage.logs import read_page
from mlops_kit.deploy import _live
from mlops_kit.deploy._base import Deployer
from mlops_kit.deploy._health import stored_totals
from mlops_kit.deploy._records import DeploymentEvent, EndpointStatus
from mlops_kit.deploy._roster import Roster
from mlops_kit.deploy._served import ModelFailed, Served, load_served
from mlops_kit.deploy._state import (
    EndpointState,
    Slot,
    endpoint_catalog,
    endpoint_log,
    endpoint_names,
    events_log,
)
from mlops_kit.deploy._stats import version_stats
from mlops_kit.deploy._strategies import Canary, Replace, Shadow, check_strategy

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.refs import ModelRef
    from mlops_kit.deploy._endpoint import Endpoint
    from mlops_kit.registry import ModelVersion, Registry

__all__ = ["DeploymentError", "Deployer", "LocalDeployer"]

_MODEL_CACHE = 8  # loaded versions kept per deployer beyond those serving
_log = logging.getLogger("mlops_kit.deploy")


class DeploymentError(MlopsKitError):
    """A version failed to load or its health check; the endpoint kept what it served."""


class LocalDeployer(Deployer):
    """Serve registry models in this process; deployment state lives in storage.

    Every deploy, promote, rollback and undeploy is an event appended to the
    endpoint's log in ``storage`` (who, when, what), and what an endpoint serves is a
    fold over that log. So any process attached to the same storage serves the same
    versions (it polls the log every ``poll_interval`` seconds), changes made through
    this deployer take effect at once on every :class:`Endpoint` handle in this
    process, and :meth:`history` is an audit trail.

    Parameters
    ----------
    registry : Registry
        Where models come from.
    storage : Storage, str or None
        Where deployment state and prediction logs go; default: the registry's storage.
    clock : Clock, optional
        Source of timestamps and of the flush interval (a fake clock in tests).
    poll_interval : float
        Seconds between two reads of the events log by a live endpoint (changes made
        by other processes show up within this time).
    log_predictions : bool
        Keep a prediction log (see :meth:`Endpoint.predictions`).
    flush_rows, flush_interval : int, float
        Flush the prediction log when this many rows are buffered, or this many
        seconds after the last flush (and always on close and at interpreter exit).
    max_buffer_rows, max_buffer_bytes : int, int
        At most this many unflushed rows, and about this many bytes of requests
        (estimated when each is accepted), are kept; a flush starts when a quarter of
        the bytes is buffered and writes batches of at most a quarter. If storage
        cannot keep up, the oldest are dropped (counted, and warned about).
    max_extra_columns : int
        Columns of a request that the signature does not name kept in the log (the
        first ones, in the request's order); the rest are dropped from the log and
        counted. The prediction never depends on them.
    trusted : sequence of str or type
        Types that ``skops`` artifacts of every version this deployer loads may hold
        beyond skops' defaults (``"module.Class"`` names, as listed by
        :class:`~mlops_kit.registry.UntrustedTypesError`); review them first. For one
        version only, pass ``trusted=`` to :meth:`deploy`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> import mlops_kit as mk
    >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    >>> reg = mk.Registry(mk.MemoryStorage())
    >>> v1 = reg.register("price", LinearRegression().fit(X, [2.0, 4.0, 6.0]), input_example=X)
    >>> v2 = reg.register("price", LinearRegression().fit(X, [3.0, 6.0, 9.0]), input_example=X)
    >>> dep = mk.LocalDeployer(reg)
    >>> ep = dep.deploy("price:1")
    >>> ep.predict({"x": 10.0}).round(3).tolist()
    [20.0]
    >>> _ = dep.deploy("price:2", strategy=mk.Canary(weight=0.5))
    >>> str(dep.promote("price")).split(": ", 1)[1]
    "promote 'price' to price:2 (primary was price:1)"
    >>> ep.predict({"x": 10.0}).round(3).tolist()
    [30.0]
    >>> _ = dep.rollback("price")
    >>> dep.status("price").primary, dep.endpoints()
    ('price:1', ['price'])
    >>> ep.close()
    """

    def __init__(
        self,
        registry: Registry,
        storage: StorageLike = None,
        *,
        clock: Clock | None = None,
        poll_interval: float = 1.0,
        log_predictions: bool = True,
        flush_rows: int = 10_000,
        flush_interval: float = 60.0,
        max_buffer_rows: int = 100_000,
        max_buffer_bytes: int = 64 * 2**20,
        max_extra_columns: int = 256,
        trusted: Sequence[str | type] = (),
    ) -> None:
        self.registry = registry
        self.storage = resolve_storage(storage) if storage is not None else registry.storage
        self.clock = clock or SYSTEM_CLOCK
        self.poll_interval = _positive("poll_interval", poll_interval)
        self.log_predictions = bool(log_predictions)
        self.flush_rows = int(_positive("flush_rows", flush_rows))
        self.flush_interval = _positive("flush_interval", flush_interval)
        self.max_buffer_rows = int(_positive("max_buffer_rows", max_buffer_rows))
        self.max_buffer_bytes = int(_positive("max_buffer_bytes", max_buffer_bytes))
        if (
            isinstance(max_extra_columns, bool)
            or not isinstance(max_extra_columns, int)
            or max_extra_columns < 0
        ):
            raise ConfigError(f"max_extra_columns= must be an integer >= 0, got {max_extra_columns!r}.")
        self.max_extra_columns = max_extra_columns
        self.trusted = _type_names(trusted)
        self._trusted_for: dict[Slot, tuple[str, ...]] = {}  # deploy(..., trusted=): per version
        self._lock = threading.RLock()
        self._models: OrderedDict[Slot, Served] = OrderedDict()

    def __repr__(self) -> str:
        return f"LocalDeployer({self.registry!r}, storage={self.storage!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_lock", "_models"):
            del state[name]  # loaded models, folds and locks stay in their process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._models = OrderedDict()

    # -- changes -------------------------------------------------------------------

    def deploy(
        self,
        ref: str | ModelRef | ModelVersion,
        endpoint: str | None = None,
        strategy: Replace | Canary | Shadow | None = None,
        *,
        reason: str = "",
        trusted: Sequence[str | type] | None = None,
    ) -> Endpoint:
        """Deploy a model version to an endpoint.

        Parameters
        ----------
        ref : str, ModelRef or ModelVersion
            ``"name"`` (latest), ``"name:3"`` or ``"name@production"``; an alias is
            resolved now, and the event records both the reference and the version.
        endpoint : str, optional
            The endpoint's name; default: the model's name.
        strategy : Replace, Canary or Shadow
            :class:`Replace` (default) makes the version the primary; :class:`Canary`
            and :class:`Shadow` make it the candidate next to the current primary.
        reason : str
            A note recorded in the event.
        trusted : sequence of str or type, optional
            For a version stored with the ``skops`` serializer: the types its artifact
            may hold beyond skops' defaults, after you reviewed them (the
            :class:`~mlops_kit.registry.UntrustedTypesError` of a first attempt lists
            them). Kept by this deployer for this version (workers of
            :func:`~mlops_kit.serve` included); other processes pass them to their own
            deployer (``LocalDeployer(registry, trusted=...)``, ``mlops-kit serve --trusted``).

        Returns
        -------
        Endpoint
            A live handle on the endpoint.

        Raises
        ------
        InvalidNameError, NotFoundError
            If the reference or endpoint name is invalid, or the version does not exist.
        ConfigError
            If ``trusted`` is given for a version not stored with ``skops``.
        ConflictError
            A canary or shadow on an endpoint without a primary, or of the primary itself.
        DeploymentError
            The version failed to load or to predict on its input example: an
            ``auto_rollback`` event is recorded and the endpoint serves what it served.
        """
        mv = self.registry.get(ref)
        name = check_name(endpoint if endpoint is not None else mv.name, "endpoint name")
        chosen = check_strategy(strategy)
        slot = Slot(mv.name, mv.version)
        state = self._state(name)
        _check_deploy(name, slot, chosen, state)
        if trusted is not None:
            if mv.serializer != "skops":
                raise ConfigError(
                    f"trusted= applies to versions stored with the 'skops' serializer; {slot} was stored "
                    f"with {mv.serializer!r}, which loads without it."
                )
            with self._lock:
                self._trusted_for[slot] = _type_names(trusted)
        if isinstance(chosen, Replace) and state.primary == slot and state.candidate is None:
            return self.endpoint(name)  # already serving exactly this: nothing to record
        try:
            self._served(slot)  # load, warm up and health-check before any switch
        except Exception as exc:
            self._auto_rollback(name, ref, slot, chosen, exc)
            raise DeploymentError(
                f"{slot} was not deployed to endpoint {name!r}: {_why(exc)}. The endpoint still serves "
                f"{state.primary or 'nothing'}; the failure is in deployer.history({name!r})."
            ) from exc

        def build(current: EndpointState) -> DeploymentEvent:
            _check_deploy(name, slot, chosen, current)
            return self._event(
                "deploy",
                name,
                current,
                ref=str(ref),
                slot=slot,
                strategy=chosen.kind,
                weight=getattr(chosen, "weight", None),
                key=getattr(chosen, "key", None),
                reason=reason,
            )

        self._roster().changing(name, lambda: self._append(name, build))
        return self.endpoint(name)

    def promote(self, endpoint: str, *, reason: str = "") -> DeploymentEvent:
        """Make the candidate the primary; the old primary goes on the rollback stack.

        Raises
        ------
        NotFoundError
            If the endpoint has no events.
        ConflictError
            If the endpoint has no candidate.
        """

        def build(state: EndpointState) -> DeploymentEvent:
            if state.candidate is None:
                raise ConflictError(
                    f"Endpoint {endpoint!r} has no candidate to promote (it serves {state.primary}). "
                    "Deploy one with strategy=Canary(weight) or Shadow() first."
                )
            return self._event("promote", endpoint, state, slot=state.candidate, reason=reason)

        return self._append(self._existing(endpoint), build)

    def rollback(self, endpoint: str, *, reason: str = "") -> DeploymentEvent:
        """Undo the last change: drop the candidate if there is one, else return to the previous primary.

        Raises
        ------
        NotFoundError
            If the endpoint has no events.
        ConflictError
            If there is neither a candidate nor a previous primary.
        """

        def build(state: EndpointState) -> DeploymentEvent:
            if state.candidate is not None:
                note = f"dropped candidate {state.candidate}" + (f"; {reason}" if reason else "")
                return self._event("rollback", endpoint, state, slot=state.primary, reason=note)
            if not state.previous:
                raise ConflictError(
                    f"Endpoint {endpoint!r} has nothing to roll back to: no candidate and no previous "
                    f"primary (it serves {state.primary or 'nothing'})."
                )
            return self._event("rollback", endpoint, state, slot=state.previous[0], reason=reason)

        name = self._existing(endpoint)
        state = self._state(name)
        if state.candidate is None and state.previous:
            try:  # load it before recording the move, so a failure changes nothing
                self._served(state.previous[0])
            except Exception as exc:
                raise DeploymentError(
                    f"Cannot roll endpoint {name!r} back to {state.previous[0]}: {_why(exc)}. It still "
                    f"serves {state.primary}."
                ) from exc
        return self._append(name, build)

    def undeploy(self, endpoint: str, *, reason: str = "") -> DeploymentEvent:
        """Stop serving: handles then refuse requests until the next deploy. History is kept.

        Raises
        ------
        NotFoundError
            If the endpoint serves nothing.
        """

        def build(state: EndpointState) -> DeploymentEvent:
            if state.primary is None:
                raise NotFoundError(f"Endpoint {endpoint!r} serves nothing; there is nothing to undeploy.")
            return self._event("undeploy", endpoint, state, reason=reason)

        name = self._existing(endpoint)
        event: DeploymentEvent = self._roster().changing(name, lambda: self._append(name, build))
        return event

    # -- queries -------------------------------------------------------------------

    def endpoint(self, name: str) -> Endpoint:
        """A live handle on an endpoint (it attaches on first use; close it when done)."""
        from mlops_kit.deploy._endpoint import Endpoint

        return Endpoint(name, self)

    def status(self, endpoint: str) -> EndpointStatus:
        """What the endpoint serves, and the requests, errors and latency of each version,
        counted by every process that serves the endpoint.

        Counts reach storage when each process flushes them (every ``flush_interval``
        seconds, on :meth:`Endpoint.flush` and on shutdown); this process's own counts
        are always included.

        Raises
        ------
        NotFoundError
            If the endpoint has no events.
        """
        name = self._existing(endpoint)
        live = _live.find(self, name)
        state = self._state(name)
        if live is not None:
            snap = live.snapshot
            if snap.state.tail >= state.tail:
                state = snap.state
            totals = live.stats.totals()  # this process's pending counts too
        else:
            totals = stored_totals(self.storage, name)
        stats = version_stats(totals, state)
        last = state.last
        return EndpointStatus(
            endpoint=name,
            primary=None if state.primary is None else state.primary.ref,
            candidate=None if state.candidate is None else state.candidate.ref,
            strategy=state.strategy,
            weight=state.weight,
            key=state.key,
            previous=tuple(s.ref for s in state.previous),
            updated_at=None if last is None else last.at,
            updated_by=None if last is None else last.by,
            events=state.tail,
            versions=stats,
        )

    def close(self) -> None:
        """Stop this process's handles on every endpoint of this deployer.

        Polling threads stop and prediction logs are flushed; the endpoints' state in
        storage is untouched (other processes keep serving).
        """
        for name in endpoint_names(self.storage):
            live = _live.find(self, name)
            while live is not None and live.handles > 0:
                _live.detach(live)  # the last handle stops the thread and flushes the log

    def endpoints(self, *, limit: int | None = None, offset: int = 0) -> NameList:
        """The endpoints that serve a model now, sorted; ``.to_frame()`` adds what each serves.

        ``limit`` and ``offset`` take a page. The names come from the storage's roster of
        serving endpoints (a log kept by deploys and undeploys, with snapshots): a few
        reads however many endpoints there are; ``.to_frame()`` reads each listed one.
        """
        limit, offset = check_page(limit, offset)
        serving = self._roster().serving()
        names = serving[offset:] if limit is None else serving[offset : offset + limit]
        return NameList(names, lambda name: _status_row(self.status(name)))

    def history(
        self, endpoint: str, *, limit: int | None = None, offset: int = 0, newest_first: bool = False
    ) -> RecordList[DeploymentEvent]:
        """Every event of the endpoint, oldest first (deploys, promotes, rollbacks, failures).

        ``limit`` and ``offset`` take a page (from the newest event with
        ``newest_first=True``); a page costs reads for its own events only.

        Raises
        ------
        NotFoundError
            If the endpoint has no events.
        """
        name = self._existing(endpoint)
        limit, offset = check_page(limit, offset)
        page = read_page(
            self.storage,
            events_log(name),
            DeploymentEvent,
            limit=limit,
            offset=offset,
            newest_first=newest_first,
        )
        return RecordList(e.record for e in page)

    def predictions(
        self, endpoint: str, since: dt.datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """The endpoint's stored prediction log, oldest first, read without loading any model.

        The same table as :meth:`Endpoint.predictions` (``time``, ``request_id``,
        ``version``, ``shadow_version``, ``latency_ms``, the request's columns, the
        outputs), from the batches every process has flushed; rows still buffered in a
        serving process are not in it yet.

        Parameters
        ----------
        endpoint : str
            The endpoint.
        since : datetime, optional
            Only rows logged at or after this time (timezone-aware).
        limit : int, optional
            Only the newest ``limit`` rows. Batch records are read back from the end of
            the log and only the batches that can hold one of those rows are fetched.

        Raises
        ------
        NotFoundError
            If the endpoint has no events.
        ConfigError
            If ``since`` is not a timezone-aware datetime or ``limit`` not a positive integer.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> import mlops_kit as mk
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("price", LinearRegression().fit(X, [2.0, 4.0, 6.0]), input_example=X)
        >>> dep = mk.LocalDeployer(reg)
        >>> ep = dep.deploy("price")
        >>> _ = ep.predict({"x": 1.0}), ep.predict({"x": 2.0}), ep.predict({"x": 3.0})
        >>> ep.close()  # flushes the log
        >>> mk.LocalDeployer(reg).predictions("price", limit=2)[["version", "x", "prediction"]]
          version    x  prediction
        0  price:1  2.0         4.0
        1  price:1  3.0         6.0
        """
        from mlops_kit.deploy._predreader import check_since, stored_predictions

        name = self._existing(endpoint)
        since = check_since(since)
        limit, _ = check_page(limit, 0)
        return stored_predictions(self.storage, name, since, limit)

    # -- internals -----------------------------------------------------------------

    def _existing(self, endpoint: str) -> str:
        name = check_name(endpoint, "endpoint name")
        if self._state(name).tail == 0:
            known = endpoint_names(self.storage)
            raise NotFoundError(
                f"No endpoint {name!r} in {self.storage.url}; endpoints: {known or 'none'}. "
                "Create one with deployer.deploy('model@alias', endpoint=...)."
            )
        return name

    def _roster(self) -> Roster:
        return Roster(self.storage, self._serving_of, lambda: endpoint_names(self.storage))

    def _serving_of(self, name: str) -> tuple[bool, int]:
        state = self._state(name)
        return state.primary is not None, state.tail

    def _state(self, name: str) -> EndpointState:
        return endpoint_log(self.storage, name).read(lambda state: state)  # immutable: safe to share

    def _append(self, name: str, build: Callable[[EndpointState], DeploymentEvent]) -> DeploymentEvent:
        # build() sees the state just before the event's own position in the log.
        appended = endpoint_catalog(self.storage).add(
            name, lambda: endpoint_log(self.storage, name).append(build)
        )
        assert appended is not None  # build never declines
        seq = appended[0]
        event = self.storage.read_entry(events_log(name), seq, DeploymentEvent)
        self._state(name)
        live = _live.find(self, name)
        if live is not None:
            try:
                live.refresh()  # every handle in this process sees the change now
            except Exception as exc:  # recorded; the endpoint's thread retries at its next poll
                _log.warning("Endpoint %r: %s recorded, but not applied yet here: %s", name, event.kind, exc)
        return event

    def _event(
        self,
        kind: str,
        name: str,
        state: EndpointState,
        *,
        slot: Slot | None = None,
        **fields: Any,
    ) -> DeploymentEvent:
        return DeploymentEvent(
            kind=kind,
            endpoint=name,
            model=None if slot is None else slot.model,
            version=None if slot is None else slot.version,
            from_model=None if state.primary is None else state.primary.model,
            from_version=None if state.primary is None else state.primary.version,
            at=self.clock.now(),
            by=current_user(),
            **fields,
        )

    def _auto_rollback(self, name: str, ref: Any, slot: Slot, strategy: Any, exc: BaseException) -> None:
        def build(state: EndpointState) -> DeploymentEvent:
            return self._event(
                "auto_rollback",
                name,
                state,
                ref=str(ref),
                slot=slot,
                strategy=strategy.kind,
                reason=_why(exc),
            )

        self._append(name, build)

    def _served(self, slot: Slot) -> Served:
        """The loaded, health-checked model of a version (cached)."""
        with self._lock:
            served = self._models.get(slot)
            if served is not None:
                self._models.move_to_end(slot)
                return served
        trusted = (*self.trusted, *self._trusted_for.get(slot, ()))
        served = load_served(self.registry, self.registry.get(f"{slot.model}:{slot.version}"), trusted)
        with self._lock:
            self._models[slot] = served
            while len(self._models) > _MODEL_CACHE:
                self._models.popitem(last=False)  # snapshots still hold the ones serving
        return served


def _check_deploy(name: str, slot: Slot, strategy: Any, state: EndpointState) -> None:
    if isinstance(strategy, Replace):
        return
    if state.primary is None:
        raise ConflictError(
            f"Endpoint {name!r} has no primary version, so it cannot run a {strategy.kind} of {slot}. "
            f"Deploy a first version with strategy=Replace() (the default)."
        )
    if state.primary == slot:
        raise ConflictError(
            f"{slot} is already the primary of endpoint {name!r}; a {strategy.kind} needs another version."
        )


def _why(exc: BaseException) -> str:
    text = str(exc).rstrip(".")  # the caller's sentence goes on
    if isinstance(exc, ModelFailed):
        return f"its health check failed (predict on the input example): {text}"
    return f"it failed to load: {type(exc).__name__}: {text}"


def _type_names(values: Any) -> tuple[str, ...]:
    if isinstance(values, str | type) or not isinstance(values, Sequence | set | frozenset):
        raise ConfigError(
            f"trusted= expects a list of type names ('module.Class') or classes, got {values!r}."
        )
    names = []
    for value in values:
        if isinstance(value, type):
            names.append(f"{value.__module__}.{value.__qualname__}")
        elif isinstance(value, str) and value:
            names.append(value)
        else:
            raise ConfigError(f"trusted= expects type names ('module.Class') or classes, got {value!r}.")
    return tuple(names)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{name}= must be a positive number, got {value!r}.")
    return float(value)


def _status_row(status: EndpointStatus) -> dict[str, Any]:
    row = record_row(status)
    row.pop("endpoint", None)
    return row
