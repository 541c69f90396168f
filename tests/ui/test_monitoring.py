"""The monitoring pages: drift over windows, alerts, the stored reports and their own page."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.ui._pages import _monitoring
from tests.ui.conftest import serve

FEATURES = ["age", "monthly_spend", "support_calls", "plan"]
EVIL = "<script>alert(1)</script>"


def section(page: str, heading: str) -> str:
    start = page.index(f"<h2>{heading}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start : end if end > 0 else None]


def test_the_monitors_are_listed_with_their_latest_verdict(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/monitoring")
    assert page.status_code == 200
    row = re.search(r'<tr><td><a href="/monitoring/churn">churn</a></td>.*?</tr>', page.text, re.S)
    assert row is not None  # not an alert row: the newest report (after the promote) found no drift
    assert '<a href="/monitoring/churn/reports/3">' in row.group(0)
    assert '<span class="verdict ok">no drift</span>' in row.group(0)


def test_drift_over_windows_has_a_statistic_and_a_p_value_chart_per_column(
    story_ui: str, client: httpx.Client
) -> None:
    page = client.get(story_ui + "/monitoring/churn").text
    charts = section(page, "Drift over windows")
    for column in FEATURES:
        assert f'aria-label="{column} — statistic (' in charts, column
        # Every column got a KS or chi-square test in some report: each has p-values to draw.
        assert f'aria-label="{column} — p-value"' in charts, column
    assert charts.count('class="chart"') == 2 * len(FEATURES)
    assert "/static/plotly.min.js" in page
    assert "The newest 3 reports" in charts


def test_a_chart_holds_one_point_per_report(story_ui: str, story_store: Path, client: httpx.Client) -> None:
    import html
    import json

    page = client.get(story_ui + "/monitoring/churn").text
    figures = re.findall(r'aria-label="monthly_spend — statistic[^"]*" data-figure="([^"]*)"', page)
    assert len(figures) == 1
    figure = json.loads(html.unescape(figures[0]))
    frame = mk.Monitor.stored_reports(mk.storage(str(story_store)), "churn").to_frame()
    expected = frame[frame["column"] == "monthly_spend"]
    drawn = {trace["name"]: trace["y"] for trace in figure["data"]}
    assert drawn == {m: rows["statistic"].tolist() for m, rows in expected.groupby("method", sort=False)}


def test_the_february_drift_is_an_alert(story_ui: str, client: httpx.Client) -> None:
    alerts = section(client.get(story_ui + "/monitoring/churn").text, "Alerts")
    rows = re.findall(
        r'<tr class="alert"><td><a href="/monitoring/churn/reports/(\d+)">.*?</tr>', alerts, re.S
    )
    assert rows == ["2", "1"]  # the quickstart's check and the loop's first step, newest first
    for row in re.findall(r'<tr class="alert">.*?</tr>', alerts, re.S):
        assert "dataset drift" in row
        assert (
            '<span class="tag">monthly_spend</span>' in row
            and '<span class="tag">support_calls</span>' in row
        )
        assert '<span class="tag">age</span>' not in row


def test_the_reports_table_is_paged_and_links_the_latest(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/monitoring/churn").text
    assert re.search(r'<a href="/monitoring/churn/reports/3">latest report</a>', page)
    table = section(page, "Reports")
    assert re.findall(r'<td class="num"><a href="/monitoring/churn/reports/(\d+)">', table) == ["3", "2", "1"]
    assert re.search(r"<td class=\"num\">3,000</td><td class=\"num\">0%</td>", table)
    second = section(client.get(story_ui + "/monitoring/churn?limit=2&offset=2").text, "Reports")
    assert re.findall(r'<td class="num"><a href="/monitoring/churn/reports/(\d+)">', second) == ["1"]
    assert 'rel="prev"' in second


def test_a_report_is_shown_in_a_sandboxed_iframe(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/monitoring/churn/reports/2")
    assert page.status_code == 200
    frame = re.search(r"<iframe [^>]*>", page.text)
    assert frame is not None
    assert 'class="report"' in frame.group(0)
    assert 'sandbox="allow-scripts"' in frame.group(0)  # no allow-same-origin: an opaque origin
    assert 'src="/monitoring/churn/reports/2/html"' in frame.group(0)
    assert "dataset drift" in page.text
    policy = page.headers["content-security-policy"]
    assert policy == client.get(story_ui + "/").headers["content-security-policy"]  # the app's, unchanged


def test_the_raw_report_gets_a_policy_made_for_it(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    raw = client.get(story_ui + "/monitoring/churn/reports/2/html")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/html")
    report = mk.Monitor.stored_reports(mk.storage(str(story_store)), "churn", limit=1, offset=1)[0]
    ids = re.compile(r"\bc\d+-")  # the charts' SVG ids are numbered per rendering
    assert ids.sub("c-", raw.text) == ids.sub("c-", report.to_html())
    policy = dict(p.strip().split(" ", 1) for p in raw.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"  # nothing from the network: no connect, font, frame...
    assert policy["style-src"] == "'unsafe-inline'" and policy["img-src"] == "data:"
    assert policy["sandbox"] == "allow-scripts" and policy["frame-ancestors"] == "'self'"
    assert policy["form-action"] == "'none'" and policy["base-uri"] == "'none'"
    # The only script allowed is the report's own table sorter, by its hash.
    scripts = re.findall(r"<script>(.*?)</script>", raw.text, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert policy["script-src"] == f"'sha256-{digest}'"
    assert "unsafe-inline" not in policy["script-src"]
    assert not re.search(r'\ssrc="https?:', raw.text)  # and the page itself fetches nothing


def test_other_pages_keep_the_strict_policy(story_ui: str, client: httpx.Client) -> None:
    strict = client.get(story_ui + "/").headers["content-security-policy"]
    assert "script-src 'self'" in strict and "sandbox" not in strict
    for path in ("/monitoring", "/monitoring/churn", "/monitoring/churn/reports/1"):
        assert client.get(story_ui + path).headers["content-security-policy"] == strict, path


@pytest.mark.parametrize(
    "path",
    [
        "/monitoring/nope",
        "/monitoring/nope/reports/1",
        "/monitoring/nope/reports/1/html",
        "/monitoring/churn/reports/4",
        "/monitoring/churn/reports/0",
        "/monitoring/churn/reports/x",
        "/monitoring/churn/reports/99/html",
        "/monitoring/..%2Fdatasets",
    ],
)
def test_unknown_monitors_and_reports_are_404_pages(story_ui: str, client: httpx.Client, path: str) -> None:
    page = client.get(story_ui + path)
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text


def shifted(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            EVIL: rng.normal(shift, 1.0, n),
            "kind": rng.choice([EVIL, "b"], n, p=[0.5 - shift / 10, 0.5 + shift / 10]),
        }
    )


def test_column_names_and_categories_are_escaped(tmp_path: Path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    mon = mk.Monitor(shifted(500, 1, 0.0), name="evil", storage=store)
    assert mon.check(shifted(500, 2, 3.0)).drifted
    with serve(store) as url:
        for path in (
            "/monitoring",
            "/monitoring/evil",
            "/monitoring/evil/reports/1",
            "/monitoring/evil/reports/1/html",
        ):
            page = client.get(url + path).text
            assert EVIL not in page, path
        assert "&lt;script&gt;" in page  # the report names the column, escaped
        board = client.get(url + "/monitoring/evil").text
        assert '<span class="tag">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in board
        figure = re.search(r'data-figure="([^"]*)"', board)
        assert figure is not None and "&amp;lt;script&amp;gt;" in figure.group(1)  # label() in the chart too


def test_charts_and_alerts_cover_the_newest_reports_only(
    tmp_path: Path, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = mk.storage(str(tmp_path / "s"))
    reference = pd.DataFrame({"x": np.random.default_rng(0).normal(size=400)})
    mon = mk.Monitor(reference, name="m", storage=store)
    for shift in (3.0, 3.0, 0.0, 0.0, 0.0):  # two drifted, then three calm reports
        mon.check(reference + shift)
    monkeypatch.setattr(_monitoring, "CHARTED_REPORTS", 3)
    with serve(store) as url:
        page = client.get(url + "/monitoring/m").text
        monkeypatch.setattr(_monitoring, "CHARTED_REPORTS", 5)
        monkeypatch.setattr(_monitoring, "MOST_ALERTS", 1)
        alerts = section(client.get(url + "/monitoring/m").text, "Alerts")
    assert "The newest 1 of 2 drifted reports among the newest 5" in alerts
    assert re.findall(r'<tr class="alert"><td><a href="/monitoring/m/reports/(\d+)">', alerts) == ["2"]
    assert "The newest 3 reports (the charts and alerts stop there" in page
    assert "No drift in the newest 3 reports." in section(page, "Alerts")
    table = section(page, "Reports")
    assert re.findall(r'<td class="num"><a href="/monitoring/m/reports/(\d+)">', table) == [
        "5",
        "4",
        "3",
        "2",
        "1",
    ]
    assert table.count('<tr class="alert">') == 2


def test_a_monitor_whose_reports_are_gone_is_listed_not_a_failure(client: httpx.Client) -> None:
    store = mk.MemoryStorage()
    reference = pd.DataFrame({"x": range(100)})
    for name in ("kept", "lost"):
        mk.Monitor(reference, name=name, storage=store).check(reference)
    for key in store.list("monitors/lost"):  # the catalog still names it (say, a restore went wrong)
        store.delete(key)
    with serve(store) as url:
        page = client.get(url + "/monitoring")
        assert page.status_code == 200
        assert '<td>lost</td><td colspan="6" class="muted">no report yet</td>' in page.text
        assert '<a href="/monitoring/kept">kept</a>' in page.text
        assert client.get(url + "/monitoring/lost").status_code == 404
