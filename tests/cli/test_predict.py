"""``mlops-kit predict``: batch scoring a file with a registry version, checked like a request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from tests.cli.conftest import Built, Cli, customers, one_line_error


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_predict_writes_the_rows_and_the_model_outputs(
    cli: Cli, built: Built, tmp_path: Path, suffix: str
) -> None:
    rows = customers(seed=5)
    source = tmp_path / f"in{suffix}"
    rows.to_parquet(source) if suffix == ".parquet" else rows.to_csv(source, index=False)
    out = tmp_path / f"preds{suffix}"
    result = cli("predict", "churn@production", "--input", str(source), "--out", str(out))
    assert result.code == 0, result.err
    assert result.out == f"wrote 400 rows scored by churn:1 to {out} (columns: prediction)\n"
    written = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    expected = mk.Registry(str(built.path)).load("churn:1").predict(rows[["age", "spend"]])
    np.testing.assert_array_equal(written["prediction"].to_numpy(), expected)
    assert list(written.columns) == [*rows.columns, "prediction"]


def test_predict_proba_as_json(cli: Cli, built: Built, tmp_path: Path) -> None:
    source, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    rows = customers(seed=6)
    rows.to_parquet(source)
    summary = json.loads(
        cli(
            "predict",
            "churn:2",
            "--input",
            str(source),
            "--out",
            str(out),
            "--method",
            "predict_proba",
            "--json",
        ).out
    )
    assert summary == {
        "model": "churn:2",
        "rows": 400,
        "input": str(source),
        "out": str(out),
        "columns": ["proba_0", "proba_1"],
    }
    expected = mk.Registry(str(built.path)).load("churn:2").predict_proba(rows[["age", "spend"]])
    np.testing.assert_allclose(
        pd.read_parquet(out)[["proba_0", "proba_1"]].to_numpy(), expected, rtol=0, atol=0
    )


def test_predict_checks_the_rows_against_the_signature(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    customers().drop(columns="spend").to_csv(source, index=False)
    out = tmp_path / "out.csv"
    line = one_line_error(cli("predict", "churn:1", "--input", str(source), "--out", str(out)))
    assert line.startswith("Error: SchemaError:") and "spend" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("out", "message"),
    [("preds.txt", "is neither Parquet"), ("no/such/dir/p.csv", "does not exist")],
)
def test_predict_refuses_a_bad_out_before_scoring(cli: Cli, tmp_path: Path, out: str, message: str) -> None:
    source = tmp_path / "in.csv"
    customers().to_csv(source, index=False)
    line = one_line_error(
        cli("predict", "churn:1", "--input", str(source), "--out", str(tmp_path / out)), code=2
    )
    assert message in line and "'--out'" in line
