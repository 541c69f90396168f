"""Artifacts of tracked runs: files, bytes, figures and dicts as content-addressed, verified blobs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import mlops_kit as mk


def test_files_and_bytes_are_stored_by_content_and_read_back_verified(
    any_storage: mk.Storage, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report.write_bytes(b"<h1>churn</h1>" * 1000)
    with mk.start_run("exp", storage=any_storage) as run:
        from_file = run.log_artifact(report)
        from_bytes = run.log_artifact(b"\x00\x01", name="weights.bin")
        same = run.log_artifact(report.read_bytes(), name="copy.html")
    assert from_file.name == "report.html" and from_file.media_type == "text/html"
    assert from_file.blob == hashlib.sha256(report.read_bytes()).hexdigest() == same.blob  # stored once
    assert from_file.size == report.stat().st_size
    assert from_bytes.media_type == "application/octet-stream"
    stored = mk.runs(any_storage, "exp")[0]
    assert sorted(stored.artifacts) == ["copy.html", "report.html", "weights.bin"]
    assert stored.artifact("report.html") == report.read_bytes()
    assert stored.artifact("weights.bin") == b"\x00\x01"
    with pytest.raises(mk.NotFoundError, match="has no artifact 'nope'"):
        stored.artifact("nope")


def test_tampered_artifact_bytes_are_detected() -> None:
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        artifact = run.log_artifact(b"genuine", name="a.txt")
    store.write(f"blobs/sha256/{artifact.blob[:2]}/{artifact.blob}", b"forged!")
    with pytest.raises(mk.IntegrityError):
        mk.runs(store, "exp")[0].artifact("a.txt")


def test_a_name_logged_again_points_to_the_new_content() -> None:
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        run.log_artifact(b"v1", name="notes.txt")
        run.log_artifact(b"v2", name="notes.txt")
    assert mk.runs(store, "exp")[0].artifact("notes.txt") == b"v2"


def test_log_figure_saves_a_matplotlib_figure_in_the_format_of_its_name() -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([0, 1, 2], [0, 1, 4])
    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        png = run.log_figure(figure)
        svg = run.log_figure(figure, "curve.svg")
    stored = mk.runs(store, "exp")[0]
    assert (png.name, png.media_type) == ("figure.png", "image/png")
    assert stored.artifact("figure.png").startswith(b"\x89PNG\r\n\x1a\n")
    assert svg.media_type == "image/svg+xml" and b"<svg" in stored.artifact("curve.svg")


def test_log_figure_refuses_what_it_cannot_save_before_writing() -> None:
    from matplotlib.figure import Figure

    store = mk.MemoryStorage()
    with mk.start_run("exp", storage=store) as run:
        with pytest.raises(mk.ConfigError, match="expects a matplotlib Figure"):
            run.log_figure([1, 2, 3])
        with pytest.raises(mk.ConfigError, match="needs an extension"):
            run.log_figure(Figure(), "figure")
        with pytest.raises(mk.ConfigError, match=r"Cannot save the figure as 'f\.xyz'"):
            run.log_figure(Figure(), "f.xyz")
    assert store.list("blobs/") == [] and store.list(f"tracking/{run.id}/events") == []


def test_log_dict_stores_json() -> None:
    store = mk.MemoryStorage()
    config = {"threshold": 0.4, "features": ["age", "plan"], "nested": {"a": None}}
    with mk.start_run("exp", storage=store) as run:
        run.log_dict(config, "config.json")
        with pytest.raises(mk.ConfigError, match="not JSON-able"):
            run.log_dict({"when": object()}, "bad.json")
        with pytest.raises(mk.ConfigError, match="expects a dict"):
            run.log_dict([1, 2], "list.json")  # type: ignore[arg-type]
    stored = mk.runs(store, "exp")[0]
    assert sorted(stored.artifacts) == ["config.json"]
    assert json.loads(stored.artifact("config.json")) == config
