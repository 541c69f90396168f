"""``mk.serve``: uvicorn in one process or several; clear errors for what cannot work."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.storage import MissingExtraError
from tests.cli.test_serve import serving, version
from tests.deploy.conftest import make_registry


def test_several_workers_need_a_shared_storage(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    with pytest.raises(mk.ConfigError, match="cannot share a MemoryStorage"):
        mk.serve(ep, workers=2)
    with pytest.raises(mk.ConfigError, match="workers= must be a positive integer"):
        mk.serve(ep, workers=0)
    with pytest.raises(mk.ConfigError, match="max_body_bytes"):
        ep.asgi_app(max_body_bytes=0)
    ep.close()


def test_a_missing_extra_names_it(deployer: mk.LocalDeployer, monkeypatch: pytest.MonkeyPatch) -> None:
    ep = deployer.deploy("m:1")
    monkeypatch.setitem(sys.modules, "starlette.applications", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'mlops-kit\[serve\]'"):
        ep.asgi_app()
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingExtraError, match="uvicorn"):
        mk.serve(ep)
    ep.close()


@pytest.mark.slow
def test_two_workers_serve_and_follow_a_promote(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    dep = mk.LocalDeployer(make_registry(mk.storage(store)))
    with serving(store, "m:1", "--workers", "2", "--poll-interval", "0.3") as (client, _, _):
        assert version(client) == "m:1"
        dep.deploy("m:2", strategy=mk.Canary(0.5))
        dep.promote("m")
        deadline = time.monotonic() + 30
        # both workers follow: 20 answers in a row from m:2
        streak = 0
        while streak < 20:
            assert time.monotonic() < deadline, "the workers did not follow the promote"
            streak = streak + 1 if version(client) == "m:2" else 0
