"""The decisions pages: the loop's audit trail, why production changed, both gate scores."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from tests.ui.conftest import serve

EVIL = "<script>alert(1)</script>"


def stored(story_store: Path) -> list[mk.Decision]:
    return list(ContinuousTraining.stored_decisions(mk.storage(str(story_store)), "churn"))


def test_the_loops_are_listed_with_their_latest_decision(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/decisions")
    assert page.status_code == 200
    row = re.search(
        r'<tr class="[^"]*"><td><a href="/decisions/churn">churn</a></td>.*?</tr>', page.text, re.S
    )
    assert row is not None
    assert '<a href="/decisions/churn/2">2</a>' in row.group(0)
    assert "change-promoted" in row.group(0) and '<a href="/models/churn/2">churn:2</a>' in row.group(0)


def test_the_audit_trail_shows_both_decisions_newest_first(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    page = client.get(story_ui + "/decisions/churn").text
    rows = re.findall(r'<tr class="decision[^"]*"><td class="num"><a href="/decisions/churn/(\d+)">', page)
    assert rows == ["2", "1"]
    first, second = stored(story_store)
    trail = page[page.index("<h2>Audit trail</h2>") :]
    # Decision 1: drift, retrained by a run, the gate's two scores with the challenger winning.
    assert f'<a href="/runs/{first.run_id}">' in trail
    assert first.gate is not None and first.gate.passed
    assert f'<span class="score" title="champion">champion {first.gate.champion:.4g}</span>' in trail
    assert (
        f'<span class="score winner" title="challenger">challenger {first.gate.challenger:.4g} ✓</span>'
        in trail
    )
    assert '<span class="tag">monthly_spend</span>' in trail and "canary started" in trail
    # Decision 2: the promote, with the canary's counts.
    assert second.rollout is not None
    assert f"churn:2: {second.rollout.requests} requests, 0 errors" in trail
    assert '<span class="change change-promoted">promoted</span>' in trail
    for reason in (*first.reasons, *second.reasons):
        assert reason.replace("'", "&#39;") in page
    assert '<span class="tag">promoted churn:2</span>' in trail  # what was done


def test_the_page_says_why_production_changed(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    page = client.get(story_ui + "/decisions/churn").text
    why = page[page.index("<h2>Why production changed</h2>") : page.index("<h2>Audit trail</h2>")]
    promoted = re.search(r'<li class="changed production">.*?</li>', why, re.S)
    assert promoted is not None
    assert 'href="/decisions/churn/2"' in promoted.group(0)
    assert '<a href="/models/churn/1">churn:1</a> → <a href="/models/churn/2">churn:2</a>' in promoted.group(
        0
    )
    assert stored(story_store)[1].reasons[0] in promoted.group(0)  # the first reason: the canary's health
    # The canary changed traffic but not the primary: listed, without the production mark.
    assert re.search(r'<li class="changed"><a href="/decisions/churn/1">', why)
    assert re.search(
        r'<tr class="decision changed production"><td class="num"><a href="/decisions/churn/2">', page
    )


def test_one_decision_in_full(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    first = stored(story_store)[0]
    page = client.get(story_ui + "/decisions/churn/1")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Decision 1 of loop churn</h1>" in text
    assert first.gate is not None
    assert "passed: " + first.gate.reason in text
    assert f"{first.batch_rows:,} rows, {first.labelled_rows:,} labelled" in text
    assert '<dt>candidate</dt><dd><a href="/models/churn/2">churn:2</a></dd>' in text
    assert '<dt>champion</dt><dd><a href="/models/churn/1">churn:1</a></dd>' in text
    assert "<h2>Drift summary</h2><pre>DRIFT: 2 of 4 feature columns drifted" in text
    assert '<a rel="next" href="/decisions/churn/2">' in text and 'rel="prev"' not in text
    rollout = stored(story_store)[1].rollout
    assert rollout is not None
    second = client.get(story_ui + "/decisions/churn/2").text
    assert f"{rollout.requests} requests, 0 errors (0.0%)" in second and 'rel="next"' not in second
    assert "headline changed production" in second


def test_decisions_are_paged(story_ui: str, client: httpx.Client) -> None:
    first = client.get(story_ui + "/decisions/churn?limit=1").text
    assert re.findall(
        r'<tr class="decision[^"]*"><td class="num"><a href="/decisions/churn/(\d+)">', first
    ) == ["2"]
    assert 'rel="next"' in first
    second = client.get(story_ui + "/decisions/churn?limit=1&offset=1").text
    assert re.findall(
        r'<tr class="decision[^"]*"><td class="num"><a href="/decisions/churn/(\d+)">', second
    ) == ["1"]


@pytest.mark.parametrize(
    "path",
    [
        "/decisions/nope",
        "/decisions/nope/1",
        "/decisions/churn/3",
        "/decisions/churn/0",
        "/decisions/churn/x",
    ],
)
def test_unknown_loops_and_decisions_are_404_pages(story_ui: str, client: httpx.Client, path: str) -> None:
    page = client.get(story_ui + path)
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text


def test_an_empty_store_has_no_loops(tmp_path: Path, client: httpx.Client) -> None:
    with serve(mk.storage(str(tmp_path / "empty"))) as url:
        page = client.get(url + "/decisions")
    assert page.status_code == 200 and "No continuous-training loop recorded a decision" in page.text


FEATURES = [EVIL, "x2"]


def sample(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, n)
    y = ((x1 - shift) + (0.5 if shift == 0 else -1.5) * x2 + rng.normal(0, 0.3, n) > 0).astype(int)
    return pd.DataFrame({EVIL: x1, "x2": x2, "y": y})


@mk.step(name="train", outputs=("model",))
def train(data: pd.DataFrame) -> tuple[LogisticRegression]:
    return (LogisticRegression().fit(data[FEATURES], data["y"]),)


def test_column_names_in_decisions_are_escaped(tmp_path: Path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    registry = mk.Registry(store)
    reference = sample(2000, seed=1)
    first = registry.register(
        "m",
        LogisticRegression().fit(reference[FEATURES], reference["y"]),
        input_example=reference[FEATURES].head(5),
    )
    registry.set_alias("m", "production", first.version)
    deployer = mk.LocalDeployer(registry, log_predictions=False)
    deployer.deploy("m@production", endpoint="m").close()
    loop = ContinuousTraining(
        monitor=mk.Monitor(reference[FEATURES]),
        pipeline=mk.Pipeline([train], name="retrain"),
        registry=registry,
        deployer=deployer,
        endpoint="m",
        model="m",
        gate=Gate(metric="auc", target="y"),
        name="evil-loop",
    )
    decision = loop.step(sample(2000, seed=2, shift=2.0))
    assert decision.drift is not None and EVIL in decision.drift.drifted_columns
    deployer.close()
    with serve(store) as url:
        for path in ("/decisions", "/decisions/evil-loop", "/decisions/evil-loop/1"):
            page = client.get(url + path).text
            assert EVIL not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
