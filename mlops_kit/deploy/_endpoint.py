"""``Endpoint``: a live handle on a named endpoint, in-process."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.names import check_name
from mlops_kit.deploy import _live
from mlops_kit.deploy._served import ModelFailed

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.deploy._deployer import LocalDeployer
    from mlops_kit.deploy._grpc._runner import GrpcServer
    from mlops_kit.deploy._records import EndpointStatus

__all__ = ["Endpoint"]


class Endpoint:
    """A live handle on an endpoint: predict in-process, mount over HTTP, read its log.

    A handle follows its endpoint by name: a deploy, promote or rollback made through a
    deployer in this process takes effect on every handle at once, and one made by
    another process within the deployer's ``poll_interval``. Requests in flight
    during a switch finish on the version they started with. Handles of one endpoint
    in a process share one routing state, statistics and prediction log.

    Parameters
    ----------
    name : str
        The endpoint.
    deployer : LocalDeployer
        Where its state, models and options come from.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> import mlops_kit as mk
    >>> X = pd.DataFrame({"age": [25, 40, 61, 33], "spend": [10.0, 80.5, 5.2, 42.0]})
    >>> reg = mk.Registry(mk.MemoryStorage())
    >>> _ = reg.register("churn", LogisticRegression().fit(X, [0, 1, 0, 1]), input_example=X.head(2))
    >>> ep = mk.LocalDeployer(reg).deploy("churn")
    >>> ep.predict(X).tolist()
    [0, 1, 0, 1]
    >>> ep.predict([{"age": 30, "spend": 50}]).tolist()  # records work too
    [1]
    >>> ep.predict({"age": 30})
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.SchemaError: Input does not match the signature of churn:1: missing column ['spend']...
    >>> s = ep.status()
    >>> s.primary, s.requests, s.errors, s.client_errors  # the bad input is the client's error
    ('churn:1', 3, 0, 1)
    >>> ep.predictions()[["version", "age", "spend", "prediction"]]
          version  age  spend  prediction
    0  churn:1   25   10.0           0
    1  churn:1   40   80.5           1
    2  churn:1   61    5.2           0
    3  churn:1   33   42.0           1
    4  churn:1   30   50.0           1
    >>> ep.close()
    """

    def __init__(self, name: str, deployer: LocalDeployer) -> None:
        self.name = check_name(name, "endpoint name")
        self.deployer = deployer
        self._live: _live.Live | None = None
        self._attach_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, {self.deployer!r})"

    @property
    def live(self) -> _live.Live:
        """The shared live state (attached on first use)."""
        live = self._live
        if live is None:
            with self._attach_lock:
                if self._live is None:
                    self._live = _live.attach(self.deployer, self.name)
                live = self._live
        return live

    def predict(self, data: pd.DataFrame | list[dict[str, Any]] | dict[str, Any]) -> Any:
        """Predict with the version the router picks (the primary, or the canary's share).

        Parameters
        ----------
        data : DataFrame, list of dict or dict
            Rows to predict on: a DataFrame, a list of records, or one record. The
            model gets the columns of its signature, in order, converted to their
            types; other columns are kept in the prediction log only.

        Returns
        -------
        Whatever the model's ``predict`` returns (rows in input order).

        Raises
        ------
        SchemaError
            If columns are missing or have the wrong type (the message names them).
        NotFoundError
            If nothing is deployed on the endpoint.
        Exception
            Whatever the model raised, unchanged.
        """
        return self._call(data, "predict")

    def predict_proba(self, data: pd.DataFrame | list[dict[str, Any]] | dict[str, Any]) -> Any:
        """Like :meth:`predict`, with the model's ``predict_proba``.

        Raises
        ------
        ConfigError
            If the answering model has no ``predict_proba``.
        """
        return self._call(data, "predict_proba")

    def _call(self, data: Any, method: str) -> Any:
        try:
            return self.live.infer(data, method).output
        except ModelFailed as exc:
            raise exc.error from None  # the model's own exception, as if called directly

    def status(self) -> EndpointStatus:
        """Versions, weights, and request and error counts with p50/p99 latency per version."""
        _ = self.live  # attach, so the statistics are this endpoint's
        return self.deployer.status(self.name)

    @property
    def version(self) -> str | None:
        """The primary version now, ``"model:version"`` (``None`` if nothing is deployed)."""
        primary = self.live.snapshot.primary
        return None if primary is None else primary.label

    def predictions(self, since: dt.datetime | None = None) -> pd.DataFrame:
        """The prediction log: flushed batches from every process plus this process's buffer.

        Columns: ``time`` (UTC), ``request_id``, ``version`` (the answering version),
        ``shadow_version``, ``latency_ms`` (of the whole request), the request's
        columns, and the outputs: ``prediction`` (``prediction_<i>`` for 2-D outputs,
        ``proba_<i>`` for ``predict_proba``) and ``shadow_prediction...`` for a shadow.

        Parameters
        ----------
        since : datetime, optional
            Only rows logged at or after this time (timezone-aware).
        """
        if since is not None and (not isinstance(since, dt.datetime) or since.tzinfo is None):
            raise ConfigError(
                f"since= must be a timezone-aware datetime (the log is in UTC), got {since!r}; "
                "for example datetime.now(timezone.utc) - timedelta(hours=1)."
            )
        return self.live.predictions(since)

    def dead_letters(self) -> pd.DataFrame:
        """Prediction-log entries that could not be stored, set aside instead of blocking the log.

        A request whose values Parquet cannot store even after the log's conversions
        (for example complex numbers) is kept apart with the reason, so that every
        other request is still written. Columns: ``time``, ``request_id``,
        ``version``, ``n_rows``, ``reason`` and ``entry`` (the request as JSON: its
        ``inputs`` by column, ``output``, ``method``, versions). Each one is also
        counted in ``/metrics`` as
        ``mlops_kit_prediction_log_problems_total{reason="dead_letter"}``.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> import mlops_kit as mk
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("price", LinearRegression().fit(X, [2.0, 4.0, 6.0]), input_example=X)
        >>> ep = mk.LocalDeployer(reg).deploy("price")
        >>> _ = ep.predict(pd.DataFrame({"x": [1.0], "z": [1j]}))  # an extra column of complex numbers
        >>> _ = ep.predict({"x": 2.0})
        >>> ep.flush()  # the other request is written
        1
        >>> letter = ep.dead_letters().iloc[0]
        >>> letter["entry"]["inputs"], "complex128" in letter["reason"]
        ({'x': [1.0], 'z': ['1j']}, True)
        >>> ep.close()
        """
        log = self.live.log
        if log is None:
            raise ConfigError(
                f"Endpoint {self.name!r} keeps no prediction log: its deployer has log_predictions=False."
            )
        return log.dead_letters()

    def flush(self) -> int:
        """Write the request counts and the buffered prediction rows to storage now; return how
        many rows."""
        return self.live.flush()

    def refresh(self) -> None:
        """Read the endpoint's events now instead of waiting for the next poll."""
        self.live.refresh()

    def asgi_app(self, *, max_body_bytes: int = 10 * 2**20, max_batch_rows: int = 4096) -> Any:
        """A Starlette app serving this endpoint (Open Inference Protocol v2 and MLflow routes).

        Mount it in FastAPI or Starlette (``app.mount("/churn", ep.asgi_app())``) or
        run it with any ASGI server; :func:`~mlops_kit.serve` runs it with uvicorn.

        Requests that wait for the model at the same time share one call to it
        (adaptive batching): a model call costs nearly the same for one row as for a
        few dozen, so under concurrent load this multiplies throughput. A lone
        request waits for others only right after a round of model calls that had
        more requests in flight (clients sending again as soon as they are answered),
        at most as long as that round took and 50 ms. Each request is still checked,
        counted and logged on its own and gets its own rows of the output; if the
        model fails on a batch, each request runs alone. This assumes, as for scikit-learn models,
        that a row's prediction does not depend on the other rows of the call; for a
        model where it does, pass ``max_batch_rows=1``.

        Parameters
        ----------
        max_body_bytes : int
            Larger request bodies get a 413 answer without being read.
        max_batch_rows : int
            The most rows one model call takes from concurrent requests (a request
            is never split: a larger one runs alone); ``1`` turns batching off.

        Raises
        ------
        MissingExtraError
            If Starlette is not installed: ``pip install 'mlops-kit[serve]'``.
        """
        from mlops_kit.deploy._http import make_app

        return make_app(self, max_body_bytes=max_body_bytes, max_batch_rows=max_batch_rows)

    def mount(
        self, app: Any, path: str, *, max_body_bytes: int = 10 * 2**20, max_batch_rows: int = 4096
    ) -> Any:
        """Mount :meth:`asgi_app` at ``path`` of a FastAPI or Starlette ``app``, lifespan and OpenAPI included.

        Use it instead of ``app.mount(path, ep.asgi_app())``: a host never runs a
        mounted app's lifespan, so this chains the endpoint's into ``app``'s (the
        prediction log is flushed when the server shuts down, before ``app``'s own
        shutdown code), and on FastAPI it adds the endpoint's routes to ``app``'s
        OpenAPI page (``/docs``). Call it before the server starts.

        Parameters
        ----------
        app : FastAPI or Starlette app
            The host service.
        path : str
            Where to mount, like ``"/models/churn"``.
        max_body_bytes, max_batch_rows : int
            As for :meth:`asgi_app`.

        Returns
        -------
        The mounted Starlette app.

        Raises
        ------
        ConfigError
            If ``app`` is not a Starlette or FastAPI app, or ``path`` is malformed.

        Examples
        --------
        >>> import pandas as pd
        >>> from fastapi import FastAPI
        >>> from sklearn.linear_model import LinearRegression
        >>> import mlops_kit as mk
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("line", LinearRegression().fit(X, [2.0, 4.0, 6.0]), input_example=X)
        >>> ep = mk.LocalDeployer(reg).deploy("line")
        >>> service = FastAPI()
        >>> _ = ep.mount(service, "/models/line")
        >>> "/models/line/invocations" in service.openapi()["paths"]
        True
        >>> ep.close()
        """
        from mlops_kit.deploy._mount import mount

        return mount(self, app, path, max_body_bytes=max_body_bytes, max_batch_rows=max_batch_rows)

    def grpc_server(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8081,
        app: Any = None,
        max_body_bytes: int = 10 * 2**20,
        max_batch_rows: int = 4096,
    ) -> GrpcServer:
        """A gRPC server of this endpoint: the Open Inference Protocol's ``GRPCInferenceService``.

        It serves the same models, versions, checks, errors and prediction log as
        :meth:`asgi_app`. Start it with ``start()`` (a background thread) or in a
        ``with`` block, stop it with ``stop()``; code already running an event loop
        awaits ``astart()`` and ``astop()``. :func:`~mlops_kit.serve` with ``grpc_port=``
        runs one beside the HTTP server.

        Parameters
        ----------
        host, port : str, int
            Where to listen; ``port=0`` picks a free port (``server.port`` once started).
        app : Starlette app, optional
            An app from :meth:`asgi_app` to share state with: its ``/metrics`` then
            counts the gRPC calls too, and both feed one batcher.
        max_body_bytes, max_batch_rows : int
            As for :meth:`asgi_app` (without ``app``); larger messages get
            ``RESOURCE_EXHAUSTED``.

        Raises
        ------
        MissingExtraError
            If grpcio or protobuf is missing: ``pip install 'mlops-kit[grpc]'``.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> import tritonclient.grpc as triton
        >>> import mlops_kit as mk
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("line", LinearRegression().fit(X, [2.0, 4.0, 6.0]), input_example=X)
        >>> ep = mk.LocalDeployer(reg).deploy("line")
        >>> with ep.grpc_server(port=0) as server:
        ...     client = triton.InferenceServerClient(server.address)
        ...     x = triton.InferInput("x", [1], "FP64")
        ...     _ = x.set_data_from_numpy(np.array([5.0]))
        ...     client.infer("line", [x]).as_numpy("prediction").round(6).tolist()
        [10.0]
        >>> ep.close()
        """
        from mlops_kit.deploy._grpc._runner import GrpcServer

        if app is None:
            from mlops_kit.deploy._server import Server

            state = Server.create(self, max_body_bytes=max_body_bytes, max_batch_rows=max_batch_rows)
        else:
            shared = getattr(getattr(app, "state", None), "server", None)
            if shared is None or shared.endpoint.live is not self.live:
                raise ConfigError(f"app= must be an app made by this endpoint's asgi_app(), got {app!r}.")
            state = shared
        return GrpcServer(state, host=host, port=port)

    def close(self) -> None:
        """Flush the prediction log and, with the last handle, stop the background thread."""
        live, self._live = self._live, None
        if live is not None:
            _live.detach(live)

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
