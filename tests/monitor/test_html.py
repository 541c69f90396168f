"""The HTML report as text: self-contained, escaped, complete; and the missing-extra errors."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.storage import MissingExtraError


@pytest.fixture(scope="module")
def report(make_customers) -> mk.DriftReport:
    ref = make_customers(3000, seed=1)
    cur = make_customers(2500, seed=2, age_shift=0.5, plan_p=(0.2, 0.3, 0.5))
    cur.loc[cur.index[:40], "plan"] = "gold"
    return mk.Monitor(ref, target="churned", prediction="score", name="churn").check(cur.assign(id=1))


def test_the_page_is_one_self_contained_file(report, tmp_path):
    path = tmp_path / "drift.html"
    page = report.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == len(report.columns)
    # Nothing is fetched: no external scripts, styles, images or fonts; links stay in the page.
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"@import|url\((?!#)", page)
    for target in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page):
        assert target.startswith("#"), target
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids must be unique across the charts"


def test_the_page_holds_the_summary_table_and_every_column(report):
    page = report.to_html()
    assert "DRIFT" in page
    assert "drift share" in page
    assert "Performance (classification" in page
    header = re.search(r'<table class="sortable"><thead>(.*?)</thead>', page).group(1)
    for title in ("column", "method", "statistic", "p-value", "threshold", "effect size", "status"):
        assert f">{title}<" in header
    for i, name in enumerate(report.columns):
        assert f'id="mk-col-{i}"' in page
        assert f">{name}</a>" in page
    assert "gold (40)" in page  # unseen categories by name
    assert "Not monitored (ignored): id" in page


def test_data_values_are_escaped():
    evil = "<script>alert(1)</script>"
    ref = pd.DataFrame({evil: np.arange(200.0), "c": ["<b>x</b>"] * 100 + ["a&b"] * 100})
    cur = pd.DataFrame({evil: np.arange(200.0) + 50, "c": ['<img src=x onerror="alert(1)">'] * 200})
    page = mk.Monitor(ref).check(cur).to_html()
    assert evil not in page
    assert "<b>x</b>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_notebook_view_is_a_fragment(report):
    fragment = report._repr_html_()
    assert fragment.startswith('<div class="mk-report">')
    assert "<html" not in fragment
    assert "<svg" in fragment
    assert "<script>" in fragment


def test_a_stored_report_can_be_drawn_again(report):
    again = mk.DriftReport.from_json(report.to_json())
    assert again.to_html().count("<svg") == report.to_html().count("<svg")


def test_windowed_pages_show_drift_over_time(make_customers):
    frame = make_customers(2000, seed=3)
    frame["ts"] = pd.Timestamp("2025-05-01") + pd.to_timedelta(np.arange(2000) * 5, unit="min")
    frame.loc[frame.ts >= "2025-05-05", "age"] += 8
    windows = mk.Monitor(make_customers(3000, seed=1), columns=["age", "plan"]).check_windows(
        frame, time_column="ts"
    )
    page = windows.to_html()
    assert "Drift over time" in page
    assert "Latest window" in page
    assert page.count("<svg") == 1 + 2  # the timeline, then the latest window's two columns
    assert page.count("<tr class=hit>") >= 2
    assert windows._repr_html_().startswith('<div class="mk-report">')


def test_missing_matplotlib_names_the_extra(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'mlops-kit\[report\]'"):
        report.to_html()


def test_missing_prometheus_client_names_the_extra(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'mlops-kit\[serve\]'"):
        report.to_prometheus()
    assert isinstance(MissingExtraError("x"), mk.ConfigError)


def test_importing_the_monitor_loads_no_heavy_dependency():
    code = (
        "import sys, mlops_kit; mlops_kit.Monitor; mlops_kit.DriftReport; "
        "print(sorted(m for m in ('pandas', 'scipy', 'sklearn', 'matplotlib', 'dask', 'prometheus_client') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
