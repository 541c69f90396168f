"""The runtime's fast way in: a request of plain columns makes the same table as MLServer's codec.

``plain_columns`` lets a request skip MLServer's pandas codec when the table made from its
parsed lists is, dtypes included, the one the codec and the signature's check would make;
every other request goes the general way, with its errors. Checked in MLServer's venv
(``_mlserver_plain_check.py``) against MLServer's own ``PandasCodec``.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integrations._mlserver_env import ROOT, environment, mlserver_venv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # builds MLServer's venv on a clean machine

TAKEN = {"plain", "floats sent as JSON ints", "no content type on the request", "one row"}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, object]]:
    script = ROOT / "tests" / "integrations" / "_mlserver_plain_check.py"
    out = subprocess.run(
        [str(mlserver_venv() / "bin" / "python"), str(script)],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    return {line["case"]: line for line in lines}


def test_plain_requests_make_the_table_mlservers_codec_makes(verdicts: dict[str, dict[str, object]]) -> None:
    for case in TAKEN:
        assert verdicts[case] == {"case": case, "plain": True, "same": True}


def test_every_other_request_goes_the_general_way(verdicts: dict[str, dict[str, object]]) -> None:
    others = set(verdicts) - TAKEN
    assert len(others) == 10
    assert {case: verdicts[case]["plain"] for case in others} == dict.fromkeys(others, False)
