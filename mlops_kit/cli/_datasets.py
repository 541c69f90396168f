"""``mlops-kit datasets ls|show``."""

from __future__ import annotations

import re

import click

from mlops_kit.cli._app import emit, json_option, main, state
from mlops_kit.cli._listing import clip, limit_options, note_clipped
from mlops_kit.core.errors import InvalidNameError, NotFoundError
from mlops_kit.core.names import NAME_PATTERN

_REF = re.compile(rf"(?P<name>{NAME_PATTERN})(?::(?P<version>[1-9][0-9]{{0,17}}))?")


def parse_dataset_ref(ref: str) -> tuple[str, int | None]:
    """``name`` (the latest) or ``name:<version>`` as (name, version); datasets have no aliases.

    Raises
    ------
    InvalidNameError
        If ``ref`` is neither; the message speaks of datasets, not of model aliases.
    """
    match = _REF.fullmatch(ref)
    if match is None or ".." in match["name"]:
        hint = " (a dataset has versions, not aliases)" if "@" in ref else ""
        raise InvalidNameError(
            f"Invalid dataset reference {ref!r}. Expected 'name' or 'name:<version>' (a positive "
            f"integer){hint}, where the name uses letters, digits, '.', '_' and '-'; list them with "
            "'mlops-kit datasets ls'."
        )
    return match["name"], None if match["version"] is None else int(match["version"])


@main.group()
def datasets() -> None:
    """Versioned datasets."""


@datasets.command("ls")
@click.argument("name", required=False)
@limit_options
@json_option
@click.pass_context
def ls(ctx: click.Context, name: str | None, limit: int, show_all: bool, as_json: bool) -> None:
    """List datasets, or the versions of dataset NAME (oldest first)."""
    from mlops_kit.datasets import Dataset

    store = state(ctx).storage
    if name is None:
        rows = []
        for each in clip(Dataset.names(store), limit, show_all, "datasets", newest=None):
            latest = Dataset(each, storage=store).versions(limit=1, newest_first=True)[0]
            rows.append(
                {
                    "name": each,
                    "versions": latest.version,
                    "latest_rows": latest.n_rows,
                    "created_at": latest.created_at,
                }
            )
        emit(rows, as_json, ["name", "versions", "latest_rows", "created_at"])
        return
    dataset = Dataset(name, storage=store)
    if show_all:
        versions = list(dataset.versions())
    else:
        versions = dataset.versions(limit=limit, newest_first=True)[::-1]
        if versions and versions[-1].version > limit:
            note_clipped(limit, versions[-1].version, "versions", "newest")
    if not versions:
        raise NotFoundError(f"Dataset {name!r} has no versions in {store.url}.")
    emit(
        [
            {
                "version": v.version,
                "rows": v.n_rows,
                "columns": v.n_columns,
                "fingerprint": v.fingerprint[:12],
                "tags": dict(v.tags),
                "created_at": v.created_at,
                "created_by": v.created_by,
            }
            for v in versions
        ],
        as_json,
    )


@datasets.command("show")
@click.argument("ref")
@json_option
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show one version: REF is NAME (latest) or NAME:VERSION."""
    from mlops_kit.datasets import Dataset

    name, number = parse_dataset_ref(ref)
    version = Dataset(name, storage=state(ctx).storage).get(number)
    if as_json:
        emit(version.model_dump(mode="json"), True)
        return
    emit(
        {
            "dataset": str(version),
            "rows": version.n_rows,
            "columns": version.n_columns,
            "fingerprint": version.fingerprint,
            "size_bytes": version.size_bytes,
            "tags": dict(version.tags),
            "description": version.description,
            "parents": [str(p) for p in version.parents],
            "created_at": version.created_at,
            "created_by": version.created_by,
        },
        False,
    )
    click.echo()
    rows = []
    for col, spec in version.schema.columns.items():
        prof = version.profile.columns[col]
        rows.append(
            {
                "column": col,
                "type": spec.dtype,
                "nulls": prof.nulls,
                "mean": prof.mean if prof.mean is not None else "",
                "min": spec.min if spec.min is not None else "",
                "max": spec.max if spec.max is not None else "",
            }
        )
    emit(rows, False)
