"""``mlops-kit endpoints deploy|undeploy``: put a registry version on an endpoint, or stop serving."""

from __future__ import annotations

import click

from mlops_kit.cli._app import emit, json_option, state
from mlops_kit.cli._endpoints import candidate_text, deployer_of, endpoints, serving


@endpoints.command("deploy")
@click.argument("ref")
@click.option("--endpoint", "name", metavar="NAME", help="The endpoint (default: the model's name).")
@click.option(
    "--canary",
    type=click.FloatRange(0, 1, min_open=True),
    metavar="WEIGHT",
    help="Deploy as a canary taking this share of requests (0 < WEIGHT <= 1).",
)
@click.option("--key", metavar="COLUMN", help="With --canary: route by a hash of this request column.")
@click.option("--shadow", is_flag=True, help="Deploy as a shadow: it gets a copy of every request.")
@click.option("--reason", default="", help="A note recorded in the endpoint's history.")
@click.option("--trusted", multiple=True, metavar="TYPE", help="For a skops model: a type to trust; repeat.")
@json_option
@click.pass_context
def deploy(
    ctx: click.Context,
    ref: str,
    name: str | None,
    canary: float | None,
    key: str | None,
    shadow: bool,
    reason: str,
    trusted: tuple[str, ...],
    as_json: bool,
) -> None:
    """Deploy model REF (name, name:3, name@alias) to an endpoint: replace, canary or shadow.

    The version is loaded and checked on its input example first; if that fails the
    endpoint keeps what it served. Running servers follow at their next poll.
    """
    from mlops_kit.deploy import Canary, LocalDeployer, Shadow
    from mlops_kit.registry import Registry

    if canary is not None and shadow:
        raise click.UsageError("--canary and --shadow exclude each other; pick one")
    if key is not None and canary is None:
        raise click.UsageError("--key routes a canary: give --canary WEIGHT too")
    strategy = Canary(canary, key=key) if canary is not None else Shadow() if shadow else None
    store = state(ctx).storage
    dep = LocalDeployer(Registry(store), storage=store, trusted=trusted)
    handle = dep.deploy(ref, endpoint=name, strategy=strategy, reason=reason)
    handle.close()
    now = dep.status(handle.name)
    event = dep.history(handle.name)[-1]
    if as_json:
        emit({"event": event.model_dump(mode="json"), "after": serving(now)}, True)
        return
    how = f"candidate {candidate_text(now)}" if strategy is not None else f"primary {now.primary}"
    click.echo(f"deployed to {handle.name!r}: {how}")


@endpoints.command("undeploy")
@click.argument("name")
@click.option("--reason", default="", help="A note recorded in the endpoint's history.")
@json_option
@click.pass_context
def undeploy(ctx: click.Context, name: str, reason: str, as_json: bool) -> None:
    """Stop serving on endpoint NAME: servers refuse requests until the next deploy. History stays."""
    dep = deployer_of(ctx)
    before = dep.status(name)
    event = dep.undeploy(name, reason=reason)
    if as_json:
        emit({"event": event.model_dump(mode="json"), "before": serving(before)}, True)
        return
    click.echo(
        f"undeployed {name!r}: it served {before.primary}; deploy again with 'mlops-kit endpoints deploy'"
    )
