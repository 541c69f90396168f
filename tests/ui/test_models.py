"""The models pages over the quickstart's story and hand-made stores: what a person sees."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.storage.blobs import blob_key
from tests.ui.conftest import TOKEN, serve
from tests.ui.test_actions import signed_in

EVIL = "<script>alert(1)</script>"


def _timeline(page: str) -> list[str]:
    """The timeline's entries as the text a person reads."""
    found = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert found is not None, "no timeline on the page"
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def _figures(page: str) -> list[dict]:
    return [json.loads(html.unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', page)]


def test_the_models_table_shows_each_model_with_its_latest_version(
    story_ui: str, client: httpx.Client
) -> None:
    page = client.get(story_ui + "/models")
    assert page.status_code == 200
    assert "<h1>Models</h1>" in page.text
    row = re.search(r"<tr><td><a href=\"/models/churn\">churn</a></td>.*?</tr>", page.text, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert '<a href="/models/churn/2">2</a>' in cells[1]  # the latest version, linked
    assert "@production" in cells[2]  # the aliases pointing at it
    assert cells[3] == "2"  # versions
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[4])


def test_a_models_page_lists_versions_newest_first_with_their_lineage(
    story_ui: str, client: httpx.Client
) -> None:
    page = client.get(story_ui + "/models/churn").text
    registry_versions = re.findall(
        r'<tr(?: class="archived")?><td class="num"><a href="/models/churn/(\d+)">', page
    )
    assert registry_versions == ["2", "1"]
    assert '<a href="/datasets/churn-training/1">churn-training:1</a>' in page
    assert '<a href="/datasets/customers/1">customers:1</a>' in page
    assert len(re.findall(r'<a href="/runs/[^"]+">', page)) == 2
    assert "<dt>auc</dt><dd>0.8878</dd>" in page and "<dt>auc</dt><dd>0.7423</dd>" in page
    assert '<span class="tag">loop=churn</span>' in page
    assert page.count("<td>active</td>") == 2


def test_the_alias_timeline_shows_production_moving_from_1_to_2(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/models/churn").text
    items = _timeline(page)
    assert len(items) == 4  # newest first: the move, registration 2, the first alias, registration 1
    assert re.search(r"@production moved from 1 to 2$", items[0])
    assert items[1].endswith("version 2 registered")
    assert items[2].endswith("@production set to 1")
    assert items[3].endswith("version 1 registered")
    assert all(" · " in item for item in items)  # when and who


def test_each_metric_is_charted_across_versions(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/models/churn").text
    assert "/static/plotly.min.js" in page  # charts on the page load plotly
    figures = {f["layout"]["title"]["text"]: f["data"][0] for f in _figures(page)}
    assert set(figures) == {"auc", "gate_auc"}
    assert figures["auc"]["x"] == [1, 2] and figures["auc"]["y"] == pytest.approx(
        [0.742348, 0.8878419879161169]
    )
    assert figures["gate_auc"]["x"] == [2]
    assert "Every version is charted (up to the newest 500)" in page


def test_a_version_page_shows_details_integrity_and_lineage(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/models/churn/2")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Model churn:2</h1>" in text
    lineage = re.search(r'<div class="lineage">(.*?)</div>', text, re.S)
    assert lineage is not None
    links = re.findall(r'<a class="node (\w+)" href="([^"]+)">', lineage.group(1))
    kinds = [k for k, _ in links]
    assert kinds == ["dataset", "run", "endpoint"]
    assert links[0][1] == "/datasets/churn-training/1"
    assert links[1][1].startswith("/runs/2")
    assert links[2][1] == "/endpoints/churn"
    assert "endpoint churn (primary)" in lineage.group(1)
    assert '<span class="node version">churn:2</span>' in lineage.group(1)
    assert 'class="integrity ok"' in text and "verified" in text
    assert "<dt>gate_auc</dt><dd>0.9001</dd>" in text and "<dt>C</dt><dd>1</dd>" in text
    assert "retrained by loop" in text  # the description
    for column in ("age", "monthly_spend", "support_calls", "plan"):
        assert f"<td>{column}</td>" in text and f"<th>{column}</th>" in text  # signature and example
    assert '<table class="signature-outputs">' in text and "<td>prediction</td><td>bool</td>" in text
    example_rows = re.search(r'<table class="example">.*?<tbody>(.*?)</tbody>', text, re.S)
    assert example_rows is not None and example_rows.group(1).count("<tr>") == 5
    assert "<dt>python</dt>" in text and "<dt>scikit-learn</dt>" in text
    assert "Code fingerprints" in text


def test_a_version_no_endpoint_serves_says_so(story_ui: str, client: httpx.Client) -> None:
    text = client.get(story_ui + "/models/churn/1").text
    assert 'class="node endpoint"' not in text
    assert "No endpoint serves this version now." in text
    assert '<a class="node dataset" href="/datasets/customers/1">' in text


def test_a_canary_shows_as_the_candidate_in_the_lineage(story_copy: Path, client: httpx.Client) -> None:
    store = mk.storage(str(story_copy))
    deployer = mk.LocalDeployer(mk.Registry(store))
    deployer.deploy("churn:1", endpoint="churn", strategy=mk.Canary(weight=0.1))
    deployer.close()
    with serve(mk.storage(str(story_copy))) as url:
        text = client.get(url + "/models/churn/1").text
    assert "endpoint churn (candidate, canary)" in text


@pytest.mark.parametrize(
    "path",
    [
        "/models/nope",
        "/models/nope/1",
        "/models/churn/9",
        "/models/churn/x",
        "/models/churn/0",
        "/models/..%2Fetc",
    ],
)
def test_unknown_models_and_versions_are_404_pages(story_ui: str, client: httpx.Client, path: str) -> None:
    page = client.get(story_ui + path)
    assert page.status_code == 404, path
    assert "<h1>Not found</h1>" in page.text


def test_versions_are_paged(tmp_path: Path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    registry = mk.Registry(store)
    for n in range(5):
        registry.register("m", n, metrics={"loss": 1.0 / (n + 1)})
    with serve(store) as url:
        first = client.get(url + "/models/m?limit=2").text
        second = client.get(url + "/models/m?limit=2&offset=2").text
        assert client.get(url + "/models/m?limit=0").status_code == 400
        assert client.get(url + "/models?offset=-1").status_code == 400
    versions = re.compile(r'<td class="num"><a href="/models/m/(\d+)">')
    assert versions.findall(first) == ["5", "4"] and versions.findall(second) == ["3", "2"]
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert _figures(first)[0]["data"][0]["x"] == [1, 2, 3, 4, 5]  # the chart is not paged


def test_charts_and_timeline_are_bounded_and_say_so(
    tmp_path: Path, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_kit.ui._pages import _models

    monkeypatch.setattr(_models, "MOST_CHARTED", 3)
    monkeypatch.setattr(_models, "MOST_EVENTS", 4)
    store = mk.storage(str(tmp_path / "s"))
    registry = mk.Registry(store)
    for n in range(5):
        registry.register("m", n, metrics={"loss": float(n)})
    with serve(store) as url:
        page = client.get(url + "/models/m").text
    assert "The charts show the newest 3 of 5 versions." in page
    assert _figures(page)[0]["data"][0]["x"] == [3, 4, 5]
    assert "The newest 4 events" in page
    assert page.count('<li class="event-registered">') == 4


def test_the_timeline_names_who_deleted_and_archived(tmp_path: Path, client: httpx.Client) -> None:
    from mlops_kit.core.clock import acting_as

    store = mk.storage(str(tmp_path / "s"))
    registry = mk.Registry(store)
    registry.register("m", 1), registry.register("m", 2)
    with acting_as("dora"):
        registry.set_alias("m", "staging", 1)
        registry.delete_alias("m", "staging")
        registry.archive("m", 1)
    with serve(store) as url:
        page = client.get(url + "/models/m").text
        version_page = client.get(url + "/models/m/1").text
    items = _timeline(page)
    assert items[0].endswith("dora · version 1 archived")
    assert items[1].endswith("dora · @staging deleted (it pointed to 1)")
    assert '<tr class="archived">' in page and "<td>archived</td>" in page
    assert '<span class="badge">archived</span>' in version_page


def test_a_tampered_artifact_shows_as_an_integrity_failure(tmp_path: Path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    mv = mk.Registry(store).register("m", {"weights": [1, 2]})
    store.write(blob_key(mv.fingerprint), b"not the model")
    with serve(store) as url:
        page = client.get(url + "/models/m/1")
    assert page.status_code == 200
    assert 'class="integrity error"' in page.text and "does not match its recorded sha256" in page.text


def test_forms_show_only_to_a_signed_in_person(story_copy: Path, client: httpx.Client) -> None:
    mk.Registry(mk.storage(str(story_copy))).archive("churn", 1)
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        assert '<form class="action' not in client.get(url + "/models/churn").text
        signed_in(client, url)
        model = client.get(url + "/models/churn").text
        assert 'action="/models/churn/aliases/production/delete"' in model
        select = re.search(r'<select name="version">(.*?)</select>', model, re.S)
        assert select is not None and re.findall(r'value="(\d+)"', select.group(1)) == ["2"]  # not archived 1
        assert 'action="/models/churn/2/archive"' in client.get(url + "/models/churn/2").text
        assert 'action="/models/churn/1/restore"' in client.get(url + "/models/churn/1").text


def test_user_data_on_the_models_pages_is_escaped(tmp_path: Path, client: httpx.Client) -> None:
    folder = tmp_path / "s"
    store = mk.storage(str(folder))
    registry = mk.Registry(store)
    with pytest.raises(mk.InvalidNameError):
        registry.register(EVIL, 1)  # names are checked: no script in a URL or title
    example = pd.DataFrame({EVIL: [EVIL, "x"], "plan": pd.Categorical([EVIL, "b"])})
    registry.register(
        "m",
        [1],
        metrics={"auc": 0.5},
        params={"p": EVIL},
        tags={"t": EVIL},
        description=EVIL,
        input_example=example,
    )
    registry.set_alias("m", "production", 1)
    # A metric name with markup can only come from a record written around the registry:
    # rewrite the stored version as someone with write access to the folder could.
    record = folder / "models" / "m" / "versions" / "000000000001.json"
    record.write_text(
        record.read_text().replace('"metrics":{"auc":0.5}', json.dumps({"metrics": {EVIL: 0.5}})[1:-1])
    )
    with serve(mk.storage(str(folder))) as url:
        for path in ("/models", "/models/m", "/models/m/1"):
            page = client.get(url + path)
            assert page.status_code == 200, path
            assert EVIL not in page.text, path
        assert "&lt;script&gt;" in client.get(url + "/models/m/1").text
        model_page = client.get(url + "/models/m").text
    assert "&lt;script&gt;" in model_page
    titles = [f["layout"]["title"]["text"] for f in _figures(model_page)]
    assert titles == [html.escape(EVIL, quote=False)]  # Plotly reads tags in labels: escaped there too
