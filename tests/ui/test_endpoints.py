"""The endpoints pages over the quickstart's store: what is served, traffic, events, predictions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.ui._security import COOKIE
from tests.deploy.conftest import X, make_registry, running
from tests.ui.conftest import TOKEN, serve

EVIL = "<script>alert(1)</script>"


def section(page: str, heading: str) -> str:
    """The part of ``page`` from ``<h2>heading</h2>`` to the next ``<h2>``."""
    start = page.index(f"<h2>{heading}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start : end if end > 0 else None]


def signed_in(app: Any, client: httpx.Client, name: str = "ops person") -> None:
    """Give ``client`` the session cookie of ``app`` (what signing in with the token sets)."""
    client.cookies.set(COOKIE, app.state.ui.guard.cookie_value(name))


def test_the_table_lists_the_endpoint_and_what_it_serves(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/endpoints")
    assert page.status_code == 200
    row = re.search(r'<tr><td><a href="/endpoints/churn">churn</a></td>.*?</tr>', page.text, re.S)
    assert row is not None
    assert '<a href="/models/churn/2">churn:2</a>' in row.group(0)  # primary
    assert "replace" in row.group(0) and ">none<" in row.group(0)  # no candidate since the promote
    assert "2026" in row.group(0) or re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row.group(0))


def test_the_endpoint_page_shows_primary_rollback_stack_and_events(
    story_ui: str, client: httpx.Client
) -> None:
    page = client.get(story_ui + "/endpoints/churn")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Endpoint churn</h1>" in text
    assert '<dt>primary</dt><dd><a href="/models/churn/2">churn:2</a></dd>' in text
    assert '<dt>candidate</dt><dd><span class="muted">none</span>' in text
    assert '<dt>shadow</dt><dd><span class="muted">none</span>' in text
    assert '<a href="/models/churn/1">churn:1</a>' in section(text, "Rollback stack")
    kinds = re.findall(r'<tr class="event-(\w+)">', section(text, "Events"))
    assert kinds == ["promote", "deploy", "deploy"]  # newest first
    assert "canary 0.3" in section(text, "Events")
    # The traffic split: one chart, and its table (everything on churn:2 now).
    assert 'aria-label="traffic split"' in text and "/static/plotly.min.js" in text
    assert re.search(r"<td>churn:2</td><td>primary</td><td class=\"num\">100%</td>", text)


def test_requests_per_version_add_up_to_the_traffic_the_quickstart_sent(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    text = section(client.get(story_ui + "/endpoints/churn").text, "Requests per version")
    counts = {
        version: int(n.replace(",", ""))
        for role, version, n in re.findall(
            r'<tr class="role-(\w+)"><td>([^<]+)</td><td>\w+</td><td class="num">([\d,]+)</td>', text
        )
    }
    # The quickstart posts 1 request, then 60 of February's, then 250 during the canary.
    assert sum(counts.values()) == 1 + 60 + 250
    assert set(counts) == {"churn:1", "churn:2"}
    # Each version's count agrees with the prediction log (one request id per request).
    log = mk.LocalDeployer(mk.Registry(mk.storage(str(story_store)))).predictions("churn")
    assert counts == log.groupby("version")["request_id"].nunique().to_dict()
    assert '<th class="num">311</th>' in text  # the total


def test_the_latest_predictions_are_the_newest_rows_of_the_log(
    story_ui: str, story_store: Path, client: httpx.Client
) -> None:
    text = section(client.get(story_ui + "/endpoints/churn").text, "Latest predictions")
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>(churn:\d)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", text, re.S
    )
    assert len(rows) == 50
    log = mk.LocalDeployer(mk.Registry(mk.storage(str(story_store)))).predictions("churn")
    newest = log.iloc[::-1].head(50)
    assert [v for _, v, _, _ in rows] == newest["version"].tolist()
    assert rows[0][0] == f"{newest['time'].iloc[0]:%Y-%m-%d %H:%M:%S}"
    first = newest.iloc[0]
    assert f"age={first['age']}" in rows[0][2] and f"plan={first['plan']}" in rows[0][2]
    assert f"prediction={first['prediction']}" in rows[0][3]


def test_events_are_paged(story_ui: str, client: httpx.Client) -> None:
    first = client.get(story_ui + "/endpoints/churn?limit=1").text
    assert re.findall(r'<tr class="event-(\w+)">', first) == ["promote"]
    assert 'rel="next" href="' in first and "offset=1" in first
    second = client.get(story_ui + "/endpoints/churn?limit=1&offset=1").text
    assert re.findall(r'<tr class="event-(\w+)">', second) == ["deploy"]
    assert '<a href="/models/churn/2">churn:2</a></td><td>churn:2</td>' in second  # the canary's deploy


@pytest.mark.parametrize("path", ["/endpoints/nope", "/endpoints/..%2Fevents", "/endpoints/a%20b"])
def test_unknown_endpoints_are_404_pages(story_ui: str, client: httpx.Client, path: str) -> None:
    page = client.get(story_ui + path)
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text


@pytest.mark.parametrize("query", ["limit=0", "offset=-1", "limit=x"])
def test_bad_paging_is_a_400(story_ui: str, client: httpx.Client, query: str) -> None:
    assert client.get(f"{story_ui}/endpoints?{query}").status_code == 400
    assert client.get(f"{story_ui}/endpoints/churn?{query}").status_code == 400


def test_forms_only_for_a_signed_in_person_and_only_when_they_apply(
    story_copy: Path, client: httpx.Client
) -> None:
    store = mk.storage(str(story_copy))
    app = mk.ui_app(store, allow_actions=True, token=TOKEN)
    with running(app) as url:
        assert 'action="/endpoints/churn/rollback"' not in client.get(url + "/endpoints/churn").text
        signed_in(app, client)
        page = client.get(url + "/endpoints/churn").text
        assert "ops person" in page
        assert 'action="/endpoints/churn/rollback"' in page  # back to churn:1
        assert 'data-confirm="Return churn to churn:1' in page
        assert 'action="/endpoints/churn/promote"' not in page  # no candidate
        dep = mk.LocalDeployer(mk.Registry(store))
        dep.deploy("churn:1", endpoint="churn", strategy=mk.Canary(weight=0.2)).close()
        page = client.get(url + "/endpoints/churn").text
        assert 'action="/endpoints/churn/promote"' in page and "Promote churn:1" in page
        assert 'data-confirm="Drop the candidate churn:1' in page  # rollback now drops the canary
        assert re.search(
            r'<dt>candidate</dt><dd><a href="/models/churn/1">churn:1</a> <span class="tag">canary 0.2', page
        )
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None and len(csrf.group(1)) == 64


def test_a_shadow_is_shown_as_a_shadow(story_copy: Path, client: httpx.Client) -> None:
    store = mk.storage(str(story_copy))
    mk.LocalDeployer(mk.Registry(store)).deploy("churn:1", endpoint="churn", strategy=mk.Shadow()).close()
    with serve(store) as url:
        page = client.get(url + "/endpoints/churn").text
    assert re.search(r'<dt>shadow</dt><dd><a href="/models/churn/1">churn:1</a>', page)
    assert '<dt>candidate</dt><dd><span class="muted">none</span>' in page
    assert re.search(r"<td>churn:1</td><td>shadow</td><td class=\"num\">0%</td>", page)


def test_request_data_is_escaped(tmp_path: Path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    reg = make_registry(store, versions=1)
    dep = mk.LocalDeployer(reg)
    ep = dep.deploy("m:1", endpoint="evil")
    ep.predict(X.head(2).assign(plan=[EVIL, "pro"], **{EVIL: ["x", "y"]}))
    ep.close()
    with serve(store) as url:
        for path in ("/endpoints", "/endpoints/evil"):
            page = client.get(url + path).text
            assert EVIL not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;=x" in page  # the column's name and value
        assert "plan=&lt;script&gt;" in page


def test_an_empty_store_has_no_endpoints(tmp_path: Path, client: httpx.Client) -> None:
    with serve(mk.storage(str(tmp_path / "empty"))) as url:
        page = client.get(url + "/endpoints")
    assert page.status_code == 200 and "No endpoints serve a model" in page.text


def test_a_log_frame_is_shown_newest_first_with_its_outputs() -> None:
    from mlops_kit.ui._pages._predictions import MOST_INPUTS, latest_predictions

    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-02-01 10:00", "2026-02-01 11:00"], utc=True),
            "request_id": ["a", "b"],
            "version": ["m:1", "m:2"],
            "shadow_version": [None, None],
            "latency_ms": [1.5, 2.0],
            **{f"c{i}": [i, i] for i in range(MOST_INPUTS + 2)},
            "input_prediction": [7, 8],  # a request column renamed by the log: an input
            "proba_0": [0.25, float("nan")],
            "proba_1": [0.75, 0.5],
        }
    )
    rows = latest_predictions(frame)
    assert [r.version for r in rows] == ["m:2", "m:1"]
    assert rows[0].hidden_inputs == 3 and len(rows[0].inputs) == MOST_INPUTS
    assert rows[0].outputs == [("proba_1", "0.5")]  # a missing value is left out
    assert rows[1].outputs == [("proba_0", "0.25"), ("proba_1", "0.75")]
