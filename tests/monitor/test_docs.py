"""The examples in docs/monitor.md run (blocks fenced ```python skip are illustrations)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitor.md"


def test_the_monitor_guide_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    report = namespace["report"]
    assert report.drifted_columns == ["age", "score", "churned"]
    assert (tmp_path / "drift.html").exists()
    assert (tmp_path / "drift-over-time.html").exists()
    assert capsys.readouterr().out.startswith("DRIFT: 1 of 3 feature columns drifted")
    assert "estimated performance decay" in namespace["estimated"].reasons
