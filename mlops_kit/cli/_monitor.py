"""``mlops-kit monitor report``: compare a data file with a dataset version, write the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_kit.cli._app import emit, json_option, main, one_line, state

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets import DatasetVersion

DRIFT_EXIT_CODE = 3
_PARQUET = (".parquet", ".pq")


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
    rep = mon.check(_read(current, version))
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


def _read(path: Path, reference: DatasetVersion) -> pd.DataFrame:
    """The current data; CSV columns that are datetimes in the reference are parsed as such."""
    import pandas as pd

    suffixes = [s.lower() for s in path.suffixes]
    is_parquet = bool(suffixes) and suffixes[-1] in _PARQUET
    if not is_parquet and ".csv" not in suffixes:
        raise click.BadParameter(
            f"{str(path)!r} is neither Parquet (.parquet, .pq) nor CSV (.csv, .csv.gz, ...)",
            param_hint="'--current'",
        )
    try:
        if is_parquet:
            return pd.read_parquet(path)
        header = pd.read_csv(path, nrows=0).columns
        dates = [
            c for c, spec in reference.schema.columns.items() if spec.dtype == "datetime" and c in header
        ]
        return pd.read_csv(path, parse_dates=dates)
    except Exception as exc:  # pandas, pyarrow and the codecs raise many kinds; the file is the cause
        kind = "Parquet" if is_parquet else "CSV"
        raise click.FileError(str(path), f"not readable as {kind}: {one_line(str(exc))}") from None
