"""``serve``: run an endpoint's ASGI app with uvicorn, in one process or several, and its
gRPC service beside it (in each process, sharing the HTTP app's state)."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import check_positive_int
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.extras import require
from mlops_kit.core.storage import MemoryStorage
from mlops_kit.deploy._metrics import MULTIPROC_ENV

if TYPE_CHECKING:
    from mlops_kit.deploy._deployer import LocalDeployer
    from mlops_kit.deploy._endpoint import Endpoint

__all__ = ["WorkerApp", "serve", "settle_heap"]


def serve(
    endpoint: Endpoint,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    max_body_bytes: int = 10 * 2**20,
    max_batch_rows: int = 4096,
    log_level: str = "warning",
    grpc_port: int | None = None,
) -> None:
    """Serve an endpoint over HTTP with uvicorn until interrupted (Ctrl-C, SIGTERM).

    Routes are those of :meth:`Endpoint.asgi_app`. On shutdown the prediction log
    is flushed.

    Parameters
    ----------
    endpoint : Endpoint
        What to serve (from :meth:`LocalDeployer.deploy` or :meth:`LocalDeployer.endpoint`).
    host, port : str, int
        Where to listen.
    workers : int
        Worker processes. With more than one, each worker attaches to the endpoint
        through the deployer's storage, so that storage must be shared (a folder or
        an object store, not a ``MemoryStorage``); they follow deploys within the
        deployer's ``poll_interval``. The deployer reaches each worker through
        multiprocessing's spawn pipe (never an environment variable or a file), and
        ``/metrics`` sums every worker's counters (prometheus-client's multiprocess
        mode, in a private temporary folder removed when the server stops).
    max_body_bytes : int
        Request bodies above this size get a 413 answer.
    max_batch_rows : int
        The most rows one model call takes from concurrent requests; ``1`` turns
        batching off (see :meth:`Endpoint.asgi_app`).
    log_level : str
        uvicorn's log level.
    grpc_port : int, optional
        Also serve the Open Inference Protocol over gRPC on this port (same ``host``),
        with the models, checks, errors, prediction log and ``/metrics`` of the HTTP
        routes (see :meth:`Endpoint.grpc_server`). With several workers each worker
        runs its own gRPC server on the port (``SO_REUSEPORT``: the kernel spreads
        connections among them, as it spreads HTTP connections).

    Raises
    ------
    MissingExtraError
        If uvicorn or Starlette is missing: ``pip install 'mlops-kit[serve]'``; with
        ``grpc_port``, if grpcio is missing: ``pip install 'mlops-kit[grpc]'``.
    ConfigError
        If ``workers`` is invalid, or above 1 with an in-memory storage, or the gRPC
        port cannot be listened on.
    """
    uvicorn = require("uvicorn", extra="serve", purpose="Serving over HTTP")
    check_positive_int(workers, "workers")
    # Access lines are logged at INFO: above that level, skip making them for every request.
    level = log_level if isinstance(log_level, int) else logging.getLevelName(str(log_level).upper())
    access_log = not isinstance(level, int) or level <= logging.INFO
    if grpc_port is not None:
        from mlops_kit.deploy._grpc._runner import check_port_free, with_grpc

        if isinstance(grpc_port, bool) or not isinstance(grpc_port, int) or not 1 <= grpc_port <= 65535:
            raise ConfigError(f"grpc_port must be a port number from 1 to 65535, got {grpc_port!r}.")
        check_port_free(host, grpc_port)
    if workers == 1:
        app = endpoint.asgi_app(max_body_bytes=max_body_bytes, max_batch_rows=max_batch_rows)
        if grpc_port is not None:
            app = with_grpc(app, host, grpc_port)
        settle_heap()
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log, lifespan="on")
        return
    deployer = endpoint.deployer
    if isinstance(deployer.storage, MemoryStorage) or isinstance(deployer.registry.storage, MemoryStorage):
        raise ConfigError(
            "workers > 1 run in separate processes, which cannot share a MemoryStorage; "
            "use a folder or an object store (mk.storage('./.mlops'), 's3://...')."
        )
    options = {"max_body_bytes": max_body_bytes, "max_batch_rows": max_batch_rows}
    grpc = None if grpc_port is None else {"host": host, "port": grpc_port}
    config = uvicorn.Config(
        WorkerApp(deployer, endpoint.name, options, grpc),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
    )
    # One private folder for the workers' metric files: a scrape of any worker sums them all.
    metrics_dir = tempfile.mkdtemp(prefix="mlops-kit-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = metrics_dir  # inherited by the workers, read before their first metric
    try:
        _run_workers(uvicorn, config)
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(metrics_dir, ignore_errors=True)


class WorkerApp:
    """The app factory of a worker process, for ``workers > 1``.

    uvicorn starts each worker (and each replacement of a worker that died) with
    multiprocessing's *spawn*, which pickles this object, deployer included, through a
    pipe to the new process: the deployer's signing key and storage credentials never
    appear in an environment variable, a command line or a file.
    """

    def __init__(
        self,
        deployer: LocalDeployer,
        endpoint: str,
        options: dict[str, Any],
        grpc: dict[str, Any] | None = None,
    ) -> None:
        self.deployer = deployer
        self.endpoint = endpoint
        self.options = options
        self.grpc = grpc  # host and port of a gRPC server per worker (SO_REUSEPORT), or None

    def __repr__(self) -> str:
        return f"WorkerApp(endpoint={self.endpoint!r})"  # never the deployer's secrets

    def __call__(self) -> Any:
        app = self.deployer.endpoint(self.endpoint).asgi_app(**self.options)
        if self.grpc is not None:
            from mlops_kit.deploy._grpc._runner import with_grpc

            app = with_grpc(app, self.grpc["host"], self.grpc["port"], reuse_port=True)
        settle_heap()
        return app


def settle_heap() -> None:
    """Exempt what the server holds once started (libraries, models) from the garbage collector.

    A request's JSON makes thousands of short-lived containers, so collections come often;
    without this, every full collection walks all of pandas, scikit-learn and the models
    (about 70 ms on a busy 2-core machine), and the requests waiting meanwhile get that
    latency. Only the serving process calls it: it owns the interpreter. (No collection first:
    it would delay the start by as long, for the little garbage of loading.)
    """
    gc.freeze()


def _run_workers(uvicorn: Any, config: Any) -> None:
    """What ``uvicorn.run`` does for ``workers > 1``, with an app object instead of an import
    string (``uvicorn.run`` refuses objects there, though its supervisor pickles them fine)."""
    import inspect

    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn releases
        supervisor = Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock])  # type: ignore[call-arg]
    else:
        supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
