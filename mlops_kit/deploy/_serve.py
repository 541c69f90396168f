"""``serve``: run an endpoint's ASGI app with uvicorn, in one process or several, and its
gRPC service beside it (in each process, sharing the HTTP app's state)."""

from __future__ import annotations

import base64
import logging
import os
import pickle
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import check_positive_int
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.storage import MemoryStorage, MissingExtraError

if TYPE_CHECKING:
    from mlops_kit.deploy._endpoint import Endpoint

__all__ = ["app_from_environment", "serve"]

# For workers > 1, uvicorn starts each worker from an import string; the deployer
# (registry and storage pickle as URL + options) and options travel in this variable.
SPEC_ENV = "MLOPS_KIT_SERVE_SPEC"


def serve(
    endpoint: Endpoint,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    max_body_bytes: int = 10 * 2**20,
    max_batch_rows: int = 256,
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
        deployer's ``poll_interval``.
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
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingExtraError("Serving over HTTP needs uvicorn: pip install 'mlops-kit[serve]'") from exc
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
    spec = pickle.dumps({"deployer": deployer, "endpoint": endpoint.name, "options": options, "grpc": grpc})
    os.environ[SPEC_ENV] = base64.b64encode(spec).decode()
    uvicorn.run(
        "mlops_kit.deploy._serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
    )


def app_from_environment() -> Any:
    """The app of a worker process (uvicorn's factory for ``workers > 1``)."""
    text = os.environ.get(SPEC_ENV)
    if not text:
        raise ConfigError(f"${SPEC_ENV} is not set; this factory is started by mlops_kit.serve(workers=N).")
    # The variable is written by serve() in the parent process just before it starts
    # the workers: it is as trusted as the parent's own memory.
    spec = pickle.loads(base64.b64decode(text))
    endpoint = spec["deployer"].endpoint(spec["endpoint"])
    app = endpoint.asgi_app(**spec["options"])
    if spec.get("grpc") is not None:
        from mlops_kit.deploy._grpc._runner import with_grpc

        app = with_grpc(app, spec["grpc"]["host"], spec["grpc"]["port"], reuse_port=True)
    return app
