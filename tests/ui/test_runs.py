"""The runs pages: the table (sorting, filters, paging), comparisons, a run's page, its artifacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import mlops_kit as mk
from tests.ui.conftest import serve

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16  # the signature is enough for a content-type check
EVIL = "<script>alert(1)</script>"


def _rows(page: str) -> list[str]:
    """The run ids of the table's rows, in order (from the compare checkboxes)."""
    return re.findall(r'<input type="checkbox" name="id" value="([^"]+)"', page)


def _story_runs(store: Path) -> mk.RunTable:
    return mk.runs(mk.storage(str(store)))


def test_the_table_lists_tracked_and_pipeline_runs_newest_first(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    page = client.get(story_ui + "/runs")
    assert page.status_code == 200 and "<h1>Runs</h1>" in page.text
    every = _story_runs(story_store)
    tuning = [r.id for r in every if isinstance(r, mk.TrackedRun) and r.experiment == "churn-tuning"]
    pipeline = [r.id for r in every if getattr(r, "pipeline", None) == "churn-train"]
    assert len(tuning) == 3 and pipeline
    shown = _rows(page.text)
    assert set(tuning) | set(pipeline) <= set(shown)
    assert shown == [r.id for r in every][: len(shown)]  # the listing's order
    for column in ("params.C", "metrics.auc", "tags.team"):
        assert f">{column}</a>" in page.text
    assert 'class="status-finished"' in page.text and 'class="status-succeeded"' in page.text
    assert f'href="/runs/{tuning[0]}"' in page.text
    assert 'action="/runs/compare"' in page.text and "Compare selected" in page.text
    assert '<option value="churn-tuning">' in page.text and '<option value="churn-train">' in page.text


def test_sorting_by_a_metric_orders_the_rows(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    runs = {r.id: r for r in _story_runs(story_store)}
    for order, reverse in (("desc", True), ("asc", False)):
        page = client.get(f"{story_ui}/runs?sort=metrics.auc&order={order}")
        assert page.status_code == 200
        shown = [runs[i] for i in _rows(page.text)]
        with_auc = [r.metrics["auc"] for r in shown if "auc" in r.metrics]
        assert with_auc == sorted(with_auc, reverse=reverse) and len(with_auc) >= 4
        assert all("auc" not in r.metrics for r in shown[len(with_auc) :])  # runs without it come last
    page = client.get(f"{story_ui}/runs?sort=metrics.auc&order=desc")
    assert 'href="/runs?sort=metrics.auc&amp;order=asc"' in page.text  # a second click reverses


def test_filters_narrow_the_table(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    every = _story_runs(story_store)
    tuning = [r for r in every if isinstance(r, mk.TrackedRun) and r.experiment == "churn-tuning"]
    page = client.get(story_ui + "/runs", params={"experiment": "churn-tuning"})
    assert set(_rows(page.text)) == {r.id for r in tuning}
    assert '<option value="churn-tuning" selected>' in page.text
    page = client.get(story_ui + "/runs", params={"experiment": "churn-tuning", "param.C": "0.1"})
    assert _rows(page.text) == [r.id for r in tuning if r.params["C"] == 0.1]
    page = client.get(story_ui + "/runs", params={"tag.team": "crm"})
    assert set(_rows(page.text)) == {r.id for r in every if r.tags.get("team") == "crm"}
    best = max(r.metrics["auc"] for r in tuning)
    page = client.get(story_ui + "/runs", params={"experiment": "churn-tuning", "metric": f"auc>={best}"})
    assert _rows(page.text) == [r.id for r in tuning if r.metrics["auc"] >= best]
    page = client.get(story_ui + "/runs", params={"status": "succeeded"})
    assert set(_rows(page.text)) == {r.id for r in every if r.status == "succeeded"}
    page = client.get(story_ui + "/runs", params={"experiment": "nobody-ran-this"})
    assert page.status_code == 200 and _rows(page.text) == [] and "match these filters" in page.text
    page = client.get(story_ui + "/runs", params={"experiment": "nobody-ran-this", "sort": "metrics.auc"})
    assert page.status_code == 200 and _rows(page.text) == []


def test_a_param_value_links_to_the_table_narrowed_to_it(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/runs", params={"experiment": "churn-tuning"}).text
    assert 'href="/runs?experiment=churn-tuning&amp;param.C=0.1"' in page
    narrowed = client.get(story_ui + "/runs?experiment=churn-tuning&param.C=0.1").text
    assert len(_rows(narrowed)) == 1


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("sort=nope", "the columns are id, kind, experiment"),
        ("sort=metrics.auc&order=up", "?order= must be asc or desc"),
        ("metric=auc~0.5", "&lt;name&gt;&lt;op&gt;&lt;number&gt;"),
        ("metric=auc>=high", "&lt;name&gt;&lt;op&gt;&lt;number&gt;"),
        ("metric=auc>0.1&metric=auc<0.9", "once"),
        ("status=done", "?status= must be one of"),
        ("params.C=1", "Unknown filter"),
        ("param.=1", "Unknown filter"),
        ("param.a%2Fb=1", "param name"),
        ("experiment=..%2Fx", "experiment name"),
        ("limit=0", "?limit="),
    ],
)
def test_bad_sort_or_filter_is_a_400_page_saying_what_was_expected(
    story_ui: str, client: httpx.Client, query: str, says: str
) -> None:
    page = client.get(f"{story_ui}/runs?{query}")
    assert page.status_code == 400
    assert "<h1>Bad request</h1>" in page.text and says in page.text


def test_compare_marks_differing_params_and_draws_a_chart_per_metric(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    every = _story_runs(story_store)
    tuning = [r for r in every if isinstance(r, mk.TrackedRun) and r.experiment == "churn-tuning"]
    pipeline = next(r for r in every if getattr(r, "pipeline", None) == "churn-train")
    ids = [tuning[0].id, tuning[1].id, pipeline.id]
    page = client.get(story_ui + "/runs/compare", params=[("id", i) for i in ids])
    assert page.status_code == 200
    assert all(f'href="/runs/{i}"' in page.text for i in ids)
    assert re.search(r'<tr class="diff"><td>C</td>', page.text)  # 0.01 and 0.1 (and none for the pipeline)
    same_team = client.get(story_ui + "/runs/compare", params=[("id", r.id) for r in tuning]).text
    assert re.search(r"<tr><td>team</td>", same_team)  # every run has team=crm: not marked
    metrics = sorted(set(tuning[0].metrics) | set(pipeline.metrics))
    charts = re.findall(r'<div class="chart" role="img" aria-label="([^"]+)"', page.text)
    assert charts == metrics
    assert "plotly.min.js" in page.text
    figure = re.search(r'aria-label="auc" data-figure="([^"]+)"', page.text)
    assert figure is not None and figure.group(1).count("&#34;type&#34;: &#34;scatter&#34;") == 3


@pytest.mark.parametrize("ids", [[], ["a"], [f"id{i}" for i in range(21)]])
def test_compare_needs_2_to_20_runs(story_ui: str, client: httpx.Client, ids: list[str]) -> None:
    page = client.get(story_ui + "/runs/compare", params=[("id", i) for i in ids])
    assert page.status_code == 400 and "Compare 2 to 20" in page.text


def test_comparing_an_unknown_run_is_a_404(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    known = _story_runs(story_store)[0].id
    page = client.get(
        story_ui + "/runs/compare", params=[("id", known), ("id", "20990101T000000000000Z-nope")]
    )
    assert page.status_code == 404 and "20990101T000000000000Z-nope" in page.text


def test_a_tracked_run_page_shows_its_chart_and_artifacts(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    run = next(
        r for r in _story_runs(story_store) if isinstance(r, mk.TrackedRun) and r.experiment == "churn-tuning"
    )
    page = client.get(f"{story_ui}/runs/{run.id}")
    assert page.status_code == 200
    assert (
        f"Run {run.id}" in page.text
        and "churn-tuning" in page.text
        and 'class="status-finished"' in page.text
    )
    assert 'aria-label="auc" data-figure=' in page.text
    assert f'href="/runs/{run.id}/artifacts/features.json"' in page.text
    download = client.get(f"{story_ui}/runs/{run.id}/artifacts/features.json")
    assert download.status_code == 200 and download.content == run.artifact("features.json")
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="features.json"'


def test_a_pipeline_run_page_shows_its_steps(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    run = next(r for r in _story_runs(story_store) if getattr(r, "pipeline", None) == "churn-train")
    page = client.get(f"{story_ui}/runs/{run.id}").text
    assert "<h2>Steps</h2>" in page and "churn-train" in page
    for step in run.steps:
        assert f"<td>{step.name}</td><td>{'yes' if step.cache_hit else 'no'}</td>" in page
    assert 'class="status-succeeded"' in page
    assert client.get(f"{story_ui}/runs/{run.id}/artifacts/model").status_code == 404


@pytest.fixture
def artifacts_ui(tmp_path: Path) -> Iterator[tuple[str, str]]:
    store = mk.storage(str(tmp_path / "s"))
    with mk.start_run("art", storage=store) as run:
        run.log_artifact(PNG, name="roc.png")
        run.log_artifact(b"<html><script>alert(1)</script></html>", name="report.html")
        run.log_artifact(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', name="plot.svg")
        run.log_metric("loss", 1.0)
    with serve(store) as url:
        yield url, run.id


def test_an_image_artifact_is_served_as_an_image_and_shown_inline(
    artifacts_ui: tuple[str, str], client: httpx.Client
) -> None:
    url, run_id = artifacts_ui
    page = client.get(f"{url}/runs/{run_id}").text
    assert f'<img class="artifact" src="/runs/{run_id}/artifacts/roc.png"' in page
    assert (
        "artifacts/report.html" in page
        and '<img class="artifact" src="/runs/{run_id}/artifacts/report.html"' not in page
    )
    image = client.get(f"{url}/runs/{run_id}/artifacts/roc.png")
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert "content-disposition" not in image.headers
    assert image.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["report.html", "plot.svg"])
def test_html_and_svg_artifacts_are_attachments_never_rendered(
    artifacts_ui: tuple[str, str], client: httpx.Client, name: str
) -> None:
    url, run_id = artifacts_ui
    page = client.get(f"{url}/runs/{run_id}").text
    assert f'<img class="artifact" src="/runs/{run_id}/artifacts/{name}"' not in page
    got = client.get(f"{url}/runs/{run_id}/artifacts/{name}")
    assert got.status_code == 200 and b"alert(1)" in got.content
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/runs/20990101T000000000000Z-nope",
        "/runs/20990101T000000000000Z-nope/artifacts/roc.png",
        "/runs/{run}/artifacts/missing.png",
        "/runs/{run}/artifacts/..%2F..%2Fetc",
    ],
)
def test_unknown_runs_and_artifacts_are_404_pages(
    artifacts_ui: tuple[str, str], client: httpx.Client, path: str
) -> None:
    url, run_id = artifacts_ui
    page = client.get(url + path.format(run=run_id))
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text and "Traceback" not in page.text


def test_user_data_is_escaped_on_every_runs_page(tmp_path: Path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    with mk.start_run("evil", storage=store, params={"p": EVIL}, tags={"t": EVIL}) as run:
        run.log_metric("auc", 0.5, step=0)
    with mk.start_run("evil", storage=store, params={"p": "plain"}, tags={"t": EVIL}) as other:
        other.log_metric("auc", 0.6, step=0)
    failing = mk.start_run("evil", storage=store)
    failing.end(ValueError(EVIL))  # the error message is shown on the run's page
    with serve(store) as url:
        for path in (
            "/runs",
            f"/runs?sort=params.p&tag.t={EVIL}",
            f"/runs/{run.id}",
            f"/runs/{failing.id}",
            f"/runs/compare?id={run.id}&id={other.id}",
        ):
            page = client.get(url + path)
            assert page.status_code == 200, path
            assert EVIL not in page.text, path
            assert "&lt;script&gt;" in page.text, path
