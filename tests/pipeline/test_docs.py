"""The examples in docs/pipelines.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipelines.md"


def test_doc_examples_run(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out
    assert "Pipeline 'churn-train': 4 steps" in out
    assert "succeeded {'auc': 0.9" in out
