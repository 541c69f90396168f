"""``mlops-kit export mlserver ENDPOINT --out DIR``: MLServer settings serving an endpoint with our runtime."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli._app import emit, json_option, state
from mlops_kit.cli._export import export

if TYPE_CHECKING:
    from mlops_kit.deploy import LocalDeployer


def store_url(url: str) -> str:
    """The store's URL as a server elsewhere can open it: a local path made absolute."""
    return url if "://" in url else os.path.abspath(url)


def served_refs(deployer: LocalDeployer, endpoint: str) -> dict[str, str]:
    """``{"primary": ref, "candidate": ref}`` of what the endpoint serves.

    A version deployed through an alias that still points to it keeps the alias (the
    runtime follows it); anything else is pinned as ``name:version``.

    Raises
    ------
    NotFoundError
        If the endpoint has no events.
    """
    status = deployer.status(endpoint)
    refs: dict[str, str] = {}
    deployed = [e for e in deployer.history(endpoint) if e.kind == "deploy" and e.ref]
    for role, version in (("primary", status.primary), ("candidate", status.candidate)):
        if version is None:
            continue
        ref = str(version)
        for event in reversed(deployed):
            if event.target == ref and event.ref is not None and "@" in event.ref:
                try:
                    if deployer.registry.get(event.ref).ref == ref:
                        ref = event.ref
                except Exception:  # the alias was deleted since: pin the version
                    pass
                break
        refs[role] = ref
    return refs


@export.command("mlserver")
@click.argument("endpoint")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write to.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface MLServer listens on.")
@click.option("--http-port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--grpc-port", default=8081, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--metrics-port",
    default=8082,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="MLServer's own metrics server; 0 turns it off.",
)
@click.option(
    "--poll-interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between two reads of an alias by the runtime.",
)
@click.option(
    "--flush-interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between two flushes of the prediction log and request counts.",
)
@json_option
@click.pass_context
def mlserver(
    ctx: click.Context,
    endpoint: str,
    out: str,
    host: str,
    http_port: int,
    grpc_port: int,
    metrics_port: int,
    poll_interval: float,
    flush_interval: float,
    as_json: bool,
) -> None:
    """Write MLServer settings serving ENDPOINT's versions with mlops_kit's runtime.

    OUT gets settings.json and a folder per model: ENDPOINT (the primary) and, during
    a canary or shadow, ENDPOINT-candidate; both log to ENDPOINT's prediction log.
    Start it with `mlserver start OUT` (pip install 'mlops-kit[mlserver]'). The store's
    URL is written, never its credentials: give them to the server's environment.
    """
    from mlops_kit.deploy import LocalDeployer
    from mlops_kit.integrations.mlserver import RUNTIME, model_settings, server_settings
    from mlops_kit.registry import Registry

    store = state(ctx).storage
    deployer = LocalDeployer(Registry(store), storage=store)
    refs = served_refs(deployer, endpoint)  # NotFoundError before anything is written
    url = store_url(store.url)
    folder = Path(out)
    server = server_settings(
        host=host, http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port or None
    )
    files: dict[Path, dict[str, Any]] = {folder / "settings.json": server}
    names = {"primary": endpoint, "candidate": f"{endpoint}-candidate"}
    for role, ref in refs.items():
        settings = model_settings(
            names[role],
            store=url,
            ref=ref,
            endpoint=endpoint,
            poll_interval=poll_interval,
            flush_interval=flush_interval,
        )
        files[folder / names[role] / "model-settings.json"] = settings
    stale = folder / names["candidate"] / "model-settings.json"
    if "candidate" not in refs and stale.exists() and _ours(stale, RUNTIME):
        stale.unlink()  # a candidate exported earlier must not come back
        with contextlib.suppress(OSError):
            stale.parent.rmdir()  # only if nothing else is in it
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
    emit(
        {
            "endpoint": endpoint,
            "store": url,
            "models": {names[role]: ref for role, ref in refs.items()},
            "written": [str(p) for p in files],
            # Credentials among them, maybe: the server gets them from its environment.
            "storage_options_not_written": sorted(k for k, _ in state(ctx).options),
        },
        as_json,
    )


def _ours(path: Path, runtime: str) -> bool:
    try:
        content: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(content, dict) and content.get("implementation") == runtime
