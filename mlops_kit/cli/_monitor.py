"""``mlops-kit monitor report|history``: check a data file against a dataset version; stored reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli._app import emit, json_option, main, state
from mlops_kit.cli._errors import ExitCode
from mlops_kit.cli._files import read_frame
from mlops_kit.cli._listing import clip, limit_options
from mlops_kit.core.errors import NotFoundError

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets import DatasetVersion
    from mlops_kit.monitor import DriftReport

DRIFT_EXIT_CODE = ExitCode.DRIFT


@main.group()
def monitor() -> None:
    """Data drift, prediction drift and performance decay."""


@monitor.command("report")
@click.option(
    "--reference",
    "ref",
    required=True,
    metavar="REF",
    help="The dataset version to compare with: NAME (latest) or NAME:VERSION.",
)
@click.option(
    "--current",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The new data: a Parquet (.parquet, .pq) or CSV (.csv, .csv.gz, ...) file.",
)
@click.option(
    "--out",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the self-contained HTML report.",
)
@click.option("--target", metavar="COL", help="The label column (performance decay when FILE has it).")
@click.option("--prediction", metavar="COL", help="The model-output column (prediction drift).")
@click.option(
    "--method",
    default="auto",
    show_default=True,
    help="auto, ks, wasserstein, psi, jensenshannon, anderson, energy, chisquare or ztest.",
)
@click.option(
    "--fail-on-drift",
    is_flag=True,
    help=f"Exit with status {DRIFT_EXIT_CODE} when drift is found (for CI); the report is written anyway.",
)
@json_option
@click.pass_context
def report(
    ctx: click.Context,
    ref: str,
    current: Path,
    out: Path,
    target: str | None,
    prediction: str | None,
    method: str,
    fail_on_drift: bool,
    as_json: bool,
) -> None:
    """Check FILE against dataset version REF for drift; write the HTML report and print the summary.

    The exit status is 0 whether or not drift is found, unless --fail-on-drift is given.
    """
    from mlops_kit.monitor import Monitor

    if not out.parent.is_dir():  # before the work, not after it
        raise click.BadParameter(f"the folder {str(out.parent)!r} does not exist", param_hint="'--out'")
    store = state(ctx).storage
    version = _reference(ref, store)
    mon = Monitor(version, target=target, prediction=prediction, method=method, storage=store)
    dates = [c for c, spec in version.schema.columns.items() if spec.dtype == "datetime"]
    rep = mon.check(read_frame(current, "--current", dates))
    rep.to_html(out)
    if as_json:
        emit({"html": str(out), **rep.to_dict()}, True)
    else:
        click.echo(rep.summary())
        click.echo(f"wrote {out}")
    if fail_on_drift and rep.drifted:
        ctx.exit(DRIFT_EXIT_CODE)


def _reference(ref: str, store: Storage) -> DatasetVersion:
    from mlops_kit.cli._datasets import parse_dataset_ref
    from mlops_kit.datasets import Dataset

    name, number = parse_dataset_ref(ref)
    return Dataset(name, storage=store).get(number)


@monitor.command("history")
@click.argument("name")
@limit_options
@json_option
@click.pass_context
def history(ctx: click.Context, name: str, limit: int, show_all: bool, as_json: bool) -> None:
    """The stored reports of monitor NAME (a Monitor built with name=...), oldest first."""
    from mlops_kit.core.names import check_name
    from mlops_kit.monitor import Monitor

    _PREFIX = Monitor.REPORTS_ROOT
    from mlops_kit.monitor import DriftReport

    store = state(ctx).storage
    entries = store.read_log(f"{_PREFIX}/{check_name(name, 'monitor name')}/reports", DriftReport)
    if not entries:
        known = list(Monitor.names(store))
        raise NotFoundError(
            f"Monitor {name!r} has no stored reports in {store.url}; monitors with reports: "
            f"{known or 'none'}. A monitor keeps its reports when built with name=... and storage=..."
        )
    shown = clip(entries, limit, show_all, "reports", newest="last")
    if as_json:
        emit([{"seq": e.seq, **e.record.to_dict()} for e in shown], True)
        return
    emit([_report_row(e.seq, e.record) for e in shown], False)


def _report_row(seq: int, rep: DriftReport) -> dict[str, Any]:
    window = ""
    if rep.window_start is not None or rep.window_end is not None:
        window = f"{rep.window_start:%Y-%m-%d %H:%M} to {rep.window_end:%Y-%m-%d %H:%M}"
    return {
        "seq": seq,
        "created_at": rep.created_at,
        "window": window,
        "rows": rep.n_current,
        "drifted": rep.drifted,
        "drift_share": rep.drift_share,
        "drifted_columns": rep.drifted_columns,
        "reasons": list(rep.reasons),
    }
