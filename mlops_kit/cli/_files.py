"""Data files on the command line: Parquet (``.parquet``, ``.pq``) or CSV (``.csv``, ``.csv.gz``, ...)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_kit.cli._errors import one_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["is_parquet", "read_frame", "write_frame"]

_PARQUET = (".parquet", ".pq")


def is_parquet(path: Path, option: str) -> bool:
    """Whether ``path`` is Parquet (else CSV), by its suffixes.

    Raises
    ------
    click.BadParameter
        If it is neither, naming ``option``.
    """
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _PARQUET:
        return True
    if ".csv" not in suffixes:
        raise click.BadParameter(
            f"{str(path)!r} is neither Parquet (.parquet, .pq) nor CSV (.csv, .csv.gz, ...)",
            param_hint=f"'{option}'",
        )
    return False


def read_frame(path: Path, option: str, dates: Iterable[str] = ()) -> pd.DataFrame:
    """The table in ``path``; the CSV columns named in ``dates`` are parsed as datetimes.

    Raises
    ------
    click.BadParameter
        If the suffix is neither Parquet's nor CSV's.
    click.FileError
        If the file cannot be read as what its suffix says.
    """
    import pandas as pd

    parquet = is_parquet(path, option)
    try:
        if parquet:
            return pd.read_parquet(path)
        header = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, parse_dates=[c for c in dates if c in header])
    except Exception as exc:  # pandas, pyarrow and the codecs raise many kinds; the file is the cause
        kind = "Parquet" if parquet else "CSV"
        raise click.FileError(str(path), f"not readable as {kind}: {one_line(str(exc))}") from None


def write_frame(frame: pd.DataFrame, path: Path, option: str) -> None:
    """Write ``frame`` as Parquet or CSV, by the suffix of ``path``, without its index."""
    parquet = is_parquet(path, option)
    try:
        if parquet:
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise click.FileError(str(path), one_line(str(exc))) from None
