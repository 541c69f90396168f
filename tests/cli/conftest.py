"""A storage folder holding a bit of everything, built once and copied for each test that writes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from mlops_kit.cli import main

N = 400


def customers(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, N),
            "spend": rng.normal(50.0, 10.0, N),
            "plan": rng.choice(["basic", "plus", "pro"], N),
            "signup": pd.date_range("2024-01-01", periods=N, freq="h", tz="UTC"),
        }
    )
    frame["churned"] = (frame["spend"] > 50).astype(int)
    return frame


@mk.step
def features(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[["age", "spend"]]


@mk.step(outputs="model")
def train(features: pd.DataFrame, raw: pd.DataFrame, C: float = 1.0) -> LogisticRegression:
    mk.log_metric("auc", 0.8 + C / 100)
    return LogisticRegression(C=C).fit(features, raw["churned"])


@mk.step
def explain(model: LogisticRegression) -> float:
    raise ValueError("cannot explain\nthis model")


@dataclass
class Built:
    """What the template storage holds (ids and versions the tests check against)."""

    path: Path
    train_runs: list[str]  # newest first
    failed_run: str


def build(path: Path) -> Built:
    store = mk.storage(str(path))
    df = customers()
    data = mk.Dataset("customers", storage=store).save(df, tags={"source": "crm"})
    pipe = mk.Pipeline([features, train], name="train")
    first = pipe.run(inputs={"raw": df}, params={"C": 0.5}, storage=store, progress=False)
    second = pipe.run(inputs={"raw": df}, params={"C": 2.0}, storage=store, progress=False)
    with pytest.raises(mk.PipelineError):
        mk.Pipeline([features, train, explain], name="explain").run(
            inputs={"raw": df}, storage=store, progress=False
        )
    failed = mk.Pipeline([features, train, explain], name="explain").runs(store)[0]

    reg = mk.Registry(store)
    example = df[["age", "spend"]].head(3)
    reg.register(
        "churn",
        first.outputs["model"],
        metrics={"auc": 0.805},
        params={"C": 0.5},
        tags={"team": "growth"},
        description="first model",
        dataset=data,
        run=first,
        input_example=example,
    )
    reg.register("churn", second.outputs["model"], metrics={"auc": 0.82}, input_example=example)
    reg.register("churn", second.outputs["model"], metrics={"auc": 0.1})
    reg.archive("churn", 3)
    reg.register("rules", {"threshold": 0.7})
    reg.set_alias("churn", "production", 1)
    reg.set_alias("churn", "staging", 2)

    dep = mk.LocalDeployer(reg, storage=store)
    dep.deploy("churn@production").close()
    dep.deploy("churn:2", strategy=mk.Canary(0.25)).close()
    dep.deploy("churn:2", endpoint="solo").close()
    return Built(path, [second.id, first.id], failed.id)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("cli") / "store")


@pytest.fixture
def built(template: Built, tmp_path: Path) -> Built:
    """A private copy of the template storage: tests may change it."""
    path = tmp_path / "store"
    shutil.copytree(template.path, path)
    return Built(path, template.train_runs, template.failed_run)


@pytest.fixture
def watched(built: Built) -> tuple[mk.Monitor, ContinuousTraining]:
    """A named monitor with two reports, and a loop on endpoint 'solo' with two decisions."""
    store = mk.storage(str(built.path))
    reference = mk.Dataset("customers", storage=store).get()
    mon = mk.Monitor(reference, columns=["age", "spend"], name="weekly", storage=store)
    mon.check(customers(seed=1))
    mon.check(customers(seed=2).assign(spend=lambda d: d["spend"] + 15))
    reg = mk.Registry(store)
    loop = ContinuousTraining(
        monitor=mk.Monitor(reference, columns=["age", "spend"], storage=store),
        pipeline=mk.Pipeline([features, train], name="train"),
        registry=reg,
        deployer=mk.LocalDeployer(reg, storage=store),
        endpoint="solo",
        model="churn",
        data_input="raw",
        gate=Gate(metric="auc", target="churned"),
    )
    loop.step(customers(seed=3))
    loop.step(customers(seed=4).assign(spend=lambda d: d["spend"] + 15))
    return mon, loop


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(built: Built) -> Cli:
    """Run ``mlops-kit --storage <copy> ARGS...`` in this process."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(
            main, ["--storage", str(built.path), *args], env=env, prog_name="mlops-kit"
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback would have reached the user
        return Result(result.exit_code, result.stdout, result.stderr)

    return invoke


def one_line_error(result: Result, code: int = 1) -> str:
    """Check the shape every error must have; return the line."""
    assert result.code == code, (result.code, result.out, result.err)
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    return lines[0]


def key_values(text: str) -> dict[str, str]:
    """The ``key  value`` lines ``emit`` prints for a record (an empty value for a bare key)."""
    pairs = (line.split(None, 1) for line in text.strip().splitlines())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
