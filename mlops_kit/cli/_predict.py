"""``mlops-kit predict MODEL_REF --input FILE --out FILE``: batch scoring with a registry version."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_kit.cli._app import emit, json_option, main, state
from mlops_kit.cli._errors import CliError
from mlops_kit.cli._files import is_parquet, read_frame, write_frame


@main.command()
@click.argument("ref", metavar="MODEL_REF")
@click.option(
    "--input",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The rows to score: a Parquet (.parquet, .pq) or CSV (.csv, .csv.gz, ...) file.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Where to write the rows and their predictions: Parquet or CSV, by its suffix.",
)
@click.option(
    "--method",
    type=click.Choice(["predict", "predict_proba"]),
    default="predict",
    show_default=True,
    help="The model method to call.",
)
@click.option("--trusted", multiple=True, metavar="TYPE", help="For a skops model: a type to trust; repeat.")
@json_option
@click.pass_context
def predict(
    ctx: click.Context,
    ref: str,
    source: Path,
    out: Path,
    method: str,
    trusted: tuple[str, ...],
    as_json: bool,
) -> None:
    """Score the rows of --input with model MODEL_REF (name, name:3, name@alias); write --out.

    The rows are checked against the version's signature as a server checks them; the
    output holds the input columns, then ``prediction`` (``prediction_<i>`` for 2-D
    outputs, ``proba_<i>`` with --method predict_proba).
    """
    from mlops_kit.deploy import ModelFailed, load_served, output_columns
    from mlops_kit.registry import Registry

    is_parquet(out, "--out")  # before the work, not after it
    if not out.parent.is_dir():
        raise click.BadParameter(f"the folder {str(out.parent)!r} does not exist", param_hint="'--out'")
    registry = Registry(state(ctx).storage)
    mv = registry.get(ref)
    dates = (
        []
        if mv.signature is None
        else [c for c, spec in mv.signature.inputs.columns.items() if spec.dtype == "datetime"]
    )
    frame = read_frame(source, "--input", dates)
    served = load_served(registry, mv, trusted)
    if not served.has(method):
        raise click.BadParameter(f"{served.label} has no {method}", param_hint="'--method'")
    try:
        output = served.call(method, served.checker.prepare(frame))
    except ModelFailed as exc:
        raise CliError(
            "ModelError", f"{served.label} failed on {str(source)!r}: {type(exc.error).__name__}: {exc.error}"
        ) from None
    columns = output_columns(output, method)
    write_frame(frame.assign(**columns), out, "--out")
    if as_json:
        emit(
            {
                "model": served.label,
                "rows": len(frame),
                "input": str(source),
                "out": str(out),
                "columns": list(columns),
            },
            True,
        )
        return
    click.echo(f"wrote {len(frame)} rows scored by {served.label} to {out} (columns: {', '.join(columns)})")
