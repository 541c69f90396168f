"""``mlops-kit serve NAME@ALIAS``: serve a registry model over HTTP."""

from __future__ import annotations

import signal
import socket
import sys

import click

from mlops_kit.cli._app import main, state
from mlops_kit.cli._errors import CliError, ExitCode


@main.command()
@click.argument("ref")
@click.option("--endpoint", help="Endpoint name (default: the model's name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@click.option(
    "--grpc-port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Also serve the Open Inference Protocol over gRPC on this port (needs mlops-kit[grpc]).",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Worker processes.")
@click.option(
    "--poll-interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between reads of the deployment log (deploys made elsewhere show up this fast).",
)
@click.option(
    "--max-body-bytes",
    default=10 * 2**20,
    show_default=True,
    type=click.IntRange(1),
    help="Larger request bodies get 413.",
)
@click.option(
    "--max-batch-rows",
    default=4096,
    show_default=True,
    type=click.IntRange(1),
    help="Most rows one model call takes from concurrent requests; 1 turns batching off.",
)
@click.option("--log-level", default="warning", show_default=True, help="uvicorn's log level.")
@click.option(
    "--trusted",
    "trusted",
    multiple=True,
    metavar="TYPE",
    help="A type (module.Class) a skops model may hold beyond skops' defaults; repeat for each. "
    "Review them first: the error of a first attempt lists them.",
)
@click.option(
    "--deploy",
    "force",
    is_flag=True,
    help="Deploy REF (replace) even if the endpoint already serves another version.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    ref: str,
    endpoint: str | None,
    host: str,
    port: int,
    grpc_port: int | None,
    workers: int,
    poll_interval: float,
    max_body_bytes: int,
    max_batch_rows: int,
    log_level: str,
    trusted: tuple[str, ...],
    force: bool,
) -> None:
    """Serve model REF (name, name:3 or name@alias) over HTTP until stopped.

    If the endpoint already serves a model (a restart, another replica), the server
    joins it as it is, canary or shadow included, so a restart never undoes a
    promote; with --deploy, or if the endpoint serves nothing, REF is deployed
    (replace) first. Routes: Open Inference Protocol v2 (/v2/...), MLflow's
    /invocations, /healthz and /metrics; with --grpc-port, the protocol's gRPC
    service too.
    """
    from mlops_kit.core.errors import NotFoundError
    from mlops_kit.deploy import LocalDeployer
    from mlops_kit.deploy import serve as run_server
    from mlops_kit.registry import Registry

    check_port(host, port, "HTTP")
    if grpc_port is not None:
        check_port(host, grpc_port, "gRPC")
    store = state(ctx).storage
    deployer = LocalDeployer(Registry(store), poll_interval=poll_interval, trusted=trusted)
    version = deployer.registry.get(ref)
    name = endpoint or version.name
    try:
        current = deployer.status(name).primary
    except NotFoundError:
        current = None
    if current is not None and not force:
        handle = deployer.endpoint(name)
        if current != version.ref:
            click.echo(
                f"endpoint {name!r} serves {current}, not {version.ref}; pass --deploy to replace it",
                err=True,
            )
    else:
        handle = deployer.deploy(ref, endpoint=name)
    grpc = "" if grpc_port is None else f" and gRPC on {host}:{grpc_port}"
    click.echo(
        f"serving {handle.version} on endpoint {name!r} at http://{host}:{port}{grpc} "
        f"(storage {store.url}); Ctrl-C to stop",
        err=True,
    )
    # uvicorn shuts down gracefully on SIGTERM (flushing the prediction log), then
    # re-raises the signal: make that an ordinary exit, status 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_server(
            handle,
            host=host,
            port=port,
            workers=workers,
            max_body_bytes=max_body_bytes,
            max_batch_rows=max_batch_rows,
            log_level=log_level,
            grpc_port=grpc_port,
        )
    except SystemExit as exc:
        if exc.code in (None, 0):
            raise
        # uvicorn logged why (a port taken between our check and its bind, a failed startup).
        raise CliError(
            "ServeError",
            f"the server on {host}:{port} did not start (uvicorn's message is above)",
            ExitCode.CANNOT_LISTEN,
        ) from None
    finally:
        handle.close()


def check_port(host: str, port: int, protocol: str) -> None:
    """Fail in one line before loading anything when the port is taken or not allowed.

    The probe binds as uvicorn does (``SO_REUSEADDR``), so a port left in TIME_WAIT passes.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            flag = "--port" if protocol == "HTTP" else "--grpc-port"
            raise CliError(
                "ServeError",
                f"cannot listen for {protocol} on {host}:{port}: {exc.strerror or exc}; another program "
                f"may hold the port: stop it or pick another with {flag}",
                ExitCode.CANNOT_LISTEN,
            ) from None
