"""The HTML report in a real browser (headless Chromium): renders, not blank, no console errors,
nothing fetched, and the column table sorts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk

CHROMIUM = next(
    (
        p
        for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))
        if p
    ),
    None,
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless Chromium not found: apt-get install chromium (CI's .ci/run installs it)",
    ),
]

_PROBE = """<pre id="mk-probe"></pre><script>
window.addEventListener("load", function () {
  var table = document.querySelector("table.sortable"), out = {};
  var th = Array.prototype.filter.call(table.querySelectorAll("th"), function (h) {
    return h.textContent.indexOf("effect size") === 0; })[0];
  function order() { return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    return r.cells[0].textContent.trim(); }); }
  th.click(); out.ascending = order();
  th.click(); out.descending = order();
  out.resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  out.svgs = document.querySelectorAll("svg").length;
  document.getElementById("mk-probe").textContent = JSON.stringify(out);
});
</script>"""


def chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a local page, offline (every host name resolves to nothing)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND", *args, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console_messages(stderr: str) -> list[str]:
    """Everything the page wrote to the console (errors, uncaught exceptions, logs)."""
    return re.findall(r":CONSOLE[^\]]*\] (.*)", stderr)


def screenshot(page: Path, tmp_path: Path, size: str = "1200,1800") -> tuple[Path, list[str]]:
    png = tmp_path / f"{page.stem}.png"
    result = chromium(page, tmp_path, f"--screenshot={png}", f"--window-size={size}", "--hide-scrollbars")
    assert png.exists(), result.stderr[-2000:]
    return png, console_messages(result.stderr)


def ink(png: Path) -> float:
    """The share of pixels that are not (near) white."""
    from PIL import Image

    gray = np.asarray(Image.open(png).convert("L"))
    return float((gray < 235).mean())


@pytest.fixture(scope="module")
def report(make_customers) -> mk.DriftReport:
    ref = make_customers(4000, seed=1)
    cur = make_customers(3000, seed=2, age_shift=0.5, plan_p=(0.2, 0.3, 0.5))
    return mk.Monitor(ref, target="churned", prediction="score", name="churn").check(cur)


def test_the_harness_catches_errors_and_blank_pages(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    png, messages = screenshot(bad, tmp_path)
    assert any("undefinedFunction" in m for m in messages)
    assert ink(png) < 0.001


def test_the_report_renders_without_console_errors(report, tmp_path):
    page = tmp_path / "drift.html"
    report.to_html(page)
    png, messages = screenshot(page, tmp_path)
    assert messages == []
    assert ink(png) > 0.03  # text, table, badges and charts


def test_the_table_sorts_and_nothing_is_fetched(report, tmp_path):
    page = tmp_path / "probe.html"
    page.write_text(report.to_html().replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    result = chromium(page, tmp_path, "--dump-dom", "--virtual-time-budget=5000")
    assert console_messages(result.stderr) == []
    probe = json.loads(re.search(r'<pre id="mk-probe">(.*?)</pre>', result.stdout, re.S).group(1))
    by_effect = sorted(report.columns, key=lambda c: report.columns[c].effect_size)
    assert probe["ascending"] == by_effect
    assert probe["descending"] == by_effect[::-1]
    assert probe["resources"] == []
    assert probe["svgs"] == len(report.columns)


def test_the_windowed_report_renders(make_customers, tmp_path):
    frame = make_customers(3000, seed=3)
    frame["ts"] = pd.Timestamp("2025-05-01") + pd.to_timedelta(np.arange(3000) * 4, unit="min")
    frame.loc[frame.ts >= "2025-05-05", "age"] += 8
    windows = mk.Monitor(make_customers(3000, seed=1), columns=["age", "plan", "income"]).check_windows(
        frame, time_column="ts", freq="12h"
    )
    page = tmp_path / "windows.html"
    windows.to_html(page)
    png, messages = screenshot(page, tmp_path)
    assert messages == []
    assert ink(png) > 0.03
