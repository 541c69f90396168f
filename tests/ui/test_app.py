"""The app's frame: pages on a real server, errors as pages, static assets, mounting."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

import mlops_kit as mk
from tests.ui.conftest import serve


def test_every_section_is_linked_from_the_overview(story_ui: str, client: httpx.Client) -> None:
    page = client.get(story_ui + "/")
    assert page.status_code == 200
    for section in ("datasets", "runs", "models", "endpoints", "monitoring", "decisions"):
        assert f'href="/{section}"' in page.text
    assert "customers" in page.text and "churn" in page.text
    assert "no mlops_kit data" not in page.text


def test_an_empty_store_says_so_on_the_page(tmp_path, client: httpx.Client) -> None:
    with serve(mk.storage(str(tmp_path / "nothing-here"))) as url:
        page = client.get(url + "/")
    assert page.status_code == 200
    assert "holds no mlops_kit data yet" in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/no-such-dataset",
        "/datasets/customers/999",
        "/datasets/customers/x",
        "/no/such/page",
        "/datasets/..%2F..%2Fetc",
    ],
)
def test_unknown_names_give_404_pages_not_tracebacks(story_ui: str, client: httpx.Client, path: str) -> None:
    page = client.get(story_ui + path)
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.text
    assert "Traceback" not in page.text


@pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "offset=-5", "limit=100000"])
def test_bad_paging_is_a_400_page(story_ui: str, client: httpx.Client, query: str) -> None:
    page = client.get(f"{story_ui}/datasets?{query}")
    assert page.status_code == 400
    assert "limit=" in page.text or "offset=" in page.text


def test_pages_forbid_inline_script_and_framing(story_ui: str, client: httpx.Client) -> None:
    policy = client.get(story_ui + "/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'self'" in policy


def test_static_assets_come_from_the_app_not_a_cdn(story_ui: str, client: httpx.Client) -> None:
    bundle = client.get(story_ui + "/static/plotly.min.js")
    assert bundle.status_code == 200 and len(bundle.content) > 1_000_000
    assert bundle.headers["content-type"].startswith("text/javascript")
    again = client.get(story_ui + "/static/plotly.min.js", headers={"If-None-Match": bundle.headers["etag"]})
    assert again.status_code == 304
    assert client.get(story_ui + "/static/../pyproject.toml").status_code == 404
    page = client.get(story_ui + "/datasets/customers/1").text
    assert "cdn" not in page.lower() and "https://" not in page


def test_user_data_is_escaped(tmp_path, client: httpx.Client) -> None:
    store = mk.storage(str(tmp_path / "s"))
    evil = "<script>alert(1)</script>"
    mk.Dataset("evil", store).save(
        pd.DataFrame({evil: [1.0, 2.0], "c": [evil, "x"]}), tags={"t": evil}, description=evil
    )
    with serve(store) as url:
        for path in ("/datasets", "/datasets/evil", "/datasets/evil/1"):
            page = client.get(url + path).text
            assert evil not in page, path
            assert "&lt;script&gt;" in page, path


def test_the_app_mounts_under_a_prefix_with_working_links(story_store, client: httpx.Client) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    outer = Starlette(routes=[Mount("/mlops", app=mk.ui_app(mk.storage(str(story_store))))])
    with serve.__globals__["running"](outer) as url:
        page = client.get(url + "/mlops/datasets")
        assert page.status_code == 200
        assert 'href="/mlops/datasets/customers"' in page.text
        assert client.get(url + "/mlops/datasets/customers").status_code == 200
        assert client.get(url + "/mlops/static/ui.css").status_code == 200


def test_a_crafted_link_cannot_make_the_page_announce_an_action(story_ui: str, client: httpx.Client) -> None:
    page = client.get(
        story_ui + "/datasets", params={"done": "production now serves churn:99", "sig": "0" * 32}
    )
    assert page.status_code == 200
    assert "churn:99" not in page.text


def test_the_command_refuses_hosts_other_than_loopback_names(story_store, client: httpx.Client) -> None:
    """DNS rebinding: a page elsewhere makes the browser send ``Host: evil.example`` to 127.0.0.1."""
    from tests.ui.browser import ui_server

    with ui_server(story_store) as url:
        port = url.rsplit(":", 1)[1]
        assert client.get(url + "/").status_code == 200
        assert client.get(f"http://localhost:{port}/").status_code == 200
        assert client.get(url + "/", headers={"Host": f"evil.example:{port}"}).status_code == 400
