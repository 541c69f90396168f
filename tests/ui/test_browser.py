"""The UI in a real browser: headless Chromium, driven by Selenium, against a real
``mlops-kit ui`` process over the quickstart's store. Each page is checked for what a
person sees, drawn charts, no console errors and no request leaving the server, and is
photographed (``MLOPS_KIT_UI_SCREENSHOTS=docs/img/ui`` keeps the pictures for the docs)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.browser import chromium, need_browser, screenshot, ui_server
from tests.ui.conftest import TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def store(story_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("browser") / "store"
    shutil.copytree(story_store, copy)
    return copy


@pytest.fixture(scope="module")
def site(store: Path) -> Iterator[str]:
    need_browser()
    with ui_server(store, "--allow-actions") as url:
        yield url


@pytest.fixture(scope="module")
def driver(site: str) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def visit(driver: Any, url: str) -> None:
    """Open ``url`` and wait until every chart on it is drawn."""
    driver.get(url)
    loaded(driver)


def loaded(driver: Any) -> None:
    """Wait until the page is loaded and every chart on it is drawn."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && Array.from(document.querySelectorAll('[data-figure]'))"
            ".every(function (e) { return e.getAttribute('data-rendered') === 'true'; })"
        )
    )


def submit(driver: Any, button: Any) -> None:
    """Click a form's button and wait for the page it leads to."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    button.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(button))
    loaded(driver)


def texts(driver: Any, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def healthy(driver: Any, site: str) -> None:
    """No error in the console, and nothing fetched from anywhere but the server."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith(site) for url in fetched), fetched


def drawn_charts(driver: Any) -> int:
    """Charts Plotly drew: a chart box holding an SVG with at least one trace in it."""
    return int(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('.chart')).filter(function (c) {"
            " return c.querySelector('.main-svg .trace, .main-svg .point'); }).length"
        )
    )


Check = Callable[[Any], None]


def _overview(d: Any) -> None:
    cards = texts(d, ".card h2")
    assert cards == ["Datasets", "Models", "Endpoints", "Monitors", "Loops"], cards
    assert "customers" in texts(d, ".card")[0]
    assert len(texts(d, "table tbody tr")) >= 4  # the latest runs


def _datasets(d: Any) -> None:
    rows = texts(d, "table tbody tr td:first-child")
    assert "customers" in rows and "churn-training" in rows, rows


def _dataset(d: Any) -> None:
    assert len(texts(d, "table tbody tr")) >= 1


def _dataset_version(d: Any) -> None:
    columns = texts(d, "table tbody tr td:first-child")
    assert {"age", "monthly_spend", "support_calls", "plan", "churned"} <= set(columns), columns
    assert drawn_charts(d) == 5, "one profile chart per column"


def _runs(d: Any) -> None:
    rows = texts(d, "table.runs tbody tr")
    assert len(rows) == 5, rows  # 3 tuning runs, the first training and the loop's retraining
    assert sum("churn-tuning" in r for r in rows) == 3


def _run(d: Any) -> None:
    assert drawn_charts(d) == 1, "the auc over training rows"
    assert "features.json" in d.page_source


def _runs_compare(d: Any) -> None:
    assert len(texts(d, "tr.diff")) >= 1  # C differs
    assert drawn_charts(d) == 1
    assert len(d.find_elements("css selector", ".chart .main-svg .trace")) >= 3  # a line per run


def _models(d: Any) -> None:
    assert texts(d, "table tbody tr td:first-child") == ["churn"]


def _model(d: Any) -> None:
    timeline = texts(d, "ol.timeline li")
    assert any("@production moved from 1 to 2" in t for t in timeline), timeline
    assert drawn_charts(d) >= 1  # auc across versions


def _model_version(d: Any) -> None:
    lineage = texts(d, ".lineage")[0]
    assert "customers" in lineage or "churn-training" in lineage, lineage
    assert "churn" in lineage


def _endpoints(d: Any) -> None:
    assert texts(d, "table tbody tr td:first-child") == ["churn"]


def _endpoint(d: Any) -> None:
    versions = " ".join(texts(d, "table.versions tbody tr"))
    assert "churn:1" in versions and "churn:2" in versions, versions
    assert drawn_charts(d) == 1  # the traffic split
    events = texts(d, "table.events tbody tr")
    assert "promote" in events[0], events
    assert len(texts(d, "table.predictions tbody tr")) == 50


def _monitors(d: Any) -> None:
    assert texts(d, "table tbody tr td:first-child") == ["churn"]


def _monitor(d: Any) -> None:
    assert drawn_charts(d) == 8  # a statistic and a p-value chart per column
    alerts = " ".join(texts(d, "table.alerts tbody tr"))
    assert "monthly_spend" in alerts, alerts


def _report(d: Any) -> None:
    from selenium.webdriver.common.by import By

    frame = d.find_element(By.CSS_SELECTOR, "iframe.report")
    d.switch_to.frame(frame)
    try:
        assert "monthly_spend" in d.find_element(By.TAG_NAME, "body").text
        assert d.find_elements(By.CSS_SELECTOR, "svg")  # the report's own charts
    finally:
        d.switch_to.default_content()


def _loops(d: Any) -> None:
    assert texts(d, "table tbody tr td:first-child") == ["churn"]


def _loop(d: Any) -> None:
    rows = [
        r for r in texts(d, "table.decisions tbody tr") if r.split(" ", 1)[0].isdigit()
    ]  # a row per decision
    assert len(rows) == 2 and "promoted" in rows[0], rows
    assert "promoted" in " ".join(texts(d, "main li"))  # why production changed


def _decision(d: Any) -> None:
    assert "promoted churn:2" in d.find_element("css selector", "main").text


PAGES: list[tuple[str, str, str, Check]] = [
    ("overview", "/", "Overview", _overview),
    ("datasets", "/datasets", "Datasets", _datasets),
    ("dataset", "/datasets/customers", "Dataset customers", _dataset),
    ("dataset-version", "/datasets/customers/1", "Dataset customers:1", _dataset_version),
    ("runs", "/runs", "Runs", _runs),
    ("run", "/runs/{tuning[0]}", "Run {tuning[0]}", _run),
    (
        "runs-compare",
        "/runs/compare?id={tuning[0]}&id={tuning[1]}&id={tuning[2]}",
        "Comparing 3 runs",
        _runs_compare,
    ),
    ("models", "/models", "Models", _models),
    ("model", "/models/churn", "Model churn", _model),
    ("model-version", "/models/churn/2", "Model churn:2", _model_version),
    ("endpoints", "/endpoints", "Endpoints", _endpoints),
    ("endpoint", "/endpoints/churn", "Endpoint churn", _endpoint),
    ("monitors", "/monitoring", "Monitoring", _monitors),
    ("monitor", "/monitoring/churn", "Monitor churn", _monitor),
    ("monitor-report", "/monitoring/churn/reports/2", "Monitor churn: report 2", _report),
    ("decisions-loops", "/decisions", "Decisions", _loops),
    ("decisions", "/decisions/churn", "Decisions of loop churn", _loop),
    ("decision", "/decisions/churn/2", "Decision 2 of loop churn", _decision),
]


@pytest.fixture(scope="module")
def names(store: Path) -> dict[str, Any]:
    """Names the story made that the paths need: the tuning runs' ids."""
    import mlops_kit as mk

    return {"tuning": [r.id for r in mk.runs(mk.storage(str(store)), experiment="churn-tuning")]}


@pytest.mark.parametrize(("name", "path", "title", "check"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_shows_what_a_person_expects(
    driver: Any,
    site: str,
    names: dict[str, Any],
    tmp_path: Path,
    name: str,
    path: str,
    title: str,
    check: Check,
) -> None:
    visit(driver, site + path.format(**names))
    assert texts(driver, "h1") == [title.format(**names)]
    check(driver)
    healthy(driver, site)
    picture = screenshot(driver, name, tmp_path)
    assert picture.stat().st_size > 20_000  # a page, not a blank window


def test_the_navigation_reaches_every_section(driver: Any, site: str) -> None:
    from selenium.webdriver.common.by import By

    visit(driver, site + "/")
    sections = texts(driver, "header nav a")
    assert sections == ["Datasets", "Runs", "Models", "Endpoints", "Monitoring", "Decisions"]
    for section in sections:
        driver.find_element(By.LINK_TEXT, section).click()
        visit(driver, driver.current_url)
        assert driver.find_element(By.CSS_SELECTOR, "header nav a[aria-current=page]").text == section
        assert texts(driver, "h1") == [section]
        healthy(driver, site)


def test_an_unknown_name_is_a_404_page_in_the_browser(driver: Any, site: str) -> None:
    visit(driver, site + "/datasets/no-such-thing")
    assert texts(driver, "h1") == ["Not found"]
    assert "no-such-thing" in texts(driver, ".error")[0]


def test_actions_are_refused_without_the_token_and_recorded_with_it(
    driver: Any, site: str, store: Path
) -> None:
    """A person signs in with the token and their name, moves an alias, and the model's
    timeline (and the registry's history) says who did it."""
    from selenium.webdriver.common.by import By

    import mlops_kit as mk

    visit(driver, site + "/models/churn")
    assert not driver.find_elements(By.CSS_SELECTOR, "form.set-alias"), "no forms before signing in"
    visit(driver, site + "/login")
    driver.find_element(By.NAME, "name").send_keys("Ada Lovelace")
    driver.find_element(By.NAME, "token").send_keys("not-the-token")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert "not this UI's token" in texts(driver, ".error")[0]
    driver.find_element(By.NAME, "name").clear()
    driver.find_element(By.NAME, "name").send_keys("Ada Lovelace")
    driver.find_element(By.NAME, "token").send_keys(TOKEN)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert "Ada Lovelace" in driver.find_element(By.CSS_SELECTOR, "header .who").text

    visit(driver, site + "/models/churn")
    form = driver.find_element(By.CSS_SELECTOR, "form.set-alias")
    form.find_element(By.NAME, "alias").send_keys("staging")
    form.find_element(By.CSS_SELECTOR, "select[name=version] option[value='1']").click()
    submit(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "staging" in texts(driver, ".flash")[0]
    newest = texts(driver, "ol.timeline li")[0]
    assert "Ada Lovelace (ui)" in newest and "@staging" in newest, newest
    event = mk.Registry(mk.storage(str(store))).history("churn")[-1]
    assert (event.kind, event.alias, event.version, event.by) == (
        "alias_set",
        "staging",
        1,
        "Ada Lovelace (ui)",
    )
