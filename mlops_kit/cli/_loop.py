"""``mlops-kit loop decisions NAME``: what each step of a continuous-training loop saw, did, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli._app import emit, json_option, main, state
from mlops_kit.cli._listing import clip, limit_options
from mlops_kit.core.errors import NotFoundError

if TYPE_CHECKING:
    from mlops_kit.automation import Decision

# Where ContinuousTraining appends its decisions: automation/<loop name>/decisions.
_TOP, _LOG = "automation", "decisions"


@main.group()
def loop() -> None:
    """Continuous-training loops: their decisions (retrain, gate, canary, promote, rollback)."""


@loop.command("decisions")
@click.argument("name")
@limit_options
@json_option
@click.pass_context
def decisions(ctx: click.Context, name: str, limit: int, show_all: bool, as_json: bool) -> None:
    """The decisions of loop NAME (by default the loop is named after its endpoint), oldest first."""
    from mlops_kit.automation import ContinuousTraining, Decision
    from mlops_kit.core.names import check_name

    store = state(ctx).storage
    entries = store.read_log(f"{_TOP}/{check_name(name, 'loop name')}/{_LOG}", Decision)
    if not entries:
        known = list(ContinuousTraining.names(store))
        raise NotFoundError(
            f"Loop {name!r} has no decisions in {store.url}; loops with decisions: {known or 'none'}."
        )
    shown = [e.record for e in clip(entries, limit, show_all, "decisions", newest="last")]
    if as_json:
        emit([d.model_dump(mode="json") for d in shown], True)
        return
    emit([_row(d) for d in shown], False)


def _row(d: Decision) -> dict[str, Any]:
    gate = ""
    if d.gate is not None:
        verdict = "passed" if d.gate.passed else "failed"
        gate = f"{verdict}: {d.gate.metric} {_score(d.gate.challenger)} vs {_score(d.gate.champion)}"
    return {
        "number": d.number,
        "at": d.at,
        "rows": d.batch_rows,
        "drifted": "" if d.drift is None else d.drift.drifted,
        "retrained": d.retrained,
        "gate": gate,
        "action": d.action,
        "champion": d.champion or "",
        "primary": d.primary or "",
        "why": d.reasons[-1] if d.reasons else "",
    }


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
