"""``mlops-kit ui``: the web UI over the store, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os

import click

from mlops_kit.cli._app import main, state
from mlops_kit.cli._errors import CliError, ExitCode
from mlops_kit.cli._serve import check_port

TOKEN_ENV = "MLOPS_KIT_UI_TOKEN"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@click.option(
    "--allow-actions",
    is_flag=True,
    help=f"Offer actions (aliases, archive, promote, rollback) to people who sign in with the token (${TOKEN_ENV}).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A host name browsers may reach the UI by (repeat for each); default the loopback names "
    "on a loopback --host, any name otherwise.",
)
@click.option("--log-level", default="warning", show_default=True, help="uvicorn's log level.")
@click.pass_context
def ui(
    ctx: click.Context,
    host: str,
    port: int,
    allow_actions: bool,
    allowed_hosts: tuple[str, ...],
    log_level: str,
) -> None:
    """Serve the web UI: datasets, runs, models, endpoints, monitoring and the loop's decisions.

    Read-only by default. With --allow-actions, people sign in with the token in
    $MLOPS_KIT_UI_TOKEN (never on the command line, where other users see it) and
    each action is recorded with their name.
    """
    from mlops_kit.core.extras import require
    from mlops_kit.ui import ui_app

    token = os.environ.get(TOKEN_ENV) or None
    if allow_actions and token is None:
        raise CliError(
            "UsageError",
            f"--allow-actions needs a token: set ${TOKEN_ENV} to a secret of 8 characters or more.",
            ExitCode.USAGE,
        )
    uvicorn = require("uvicorn", extra="ui", purpose="The web UI")
    check_port(host, port, "HTTP")
    store = state(ctx).storage
    try:
        app = ui_app(
            store, allow_actions=allow_actions, token=token, allowed_hosts=_hosts(host, allowed_hosts)
        )
    except ValueError as exc:
        raise CliError("UsageError", str(exc), ExitCode.USAGE) from None
    mode = "actions allowed with the token" if allow_actions else "read-only"
    click.echo(f"mlops_kit UI for {store.url} at http://{host}:{port} ({mode}); Ctrl-C to stop", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _hosts(host: str, given: tuple[str, ...]) -> list[str] | None:
    """The Host names to accept: those given, else the loopback names on a loopback address.

    A page on any site can make a browser send requests to a name it rebinds to
    127.0.0.1; such requests carry that name, not ours, and are refused.
    """
    if given:
        return list(given)
    if host in LOOPBACK or host.startswith("127."):
        return sorted({"127.0.0.1", "localhost", "[::1]", host})
    return None
