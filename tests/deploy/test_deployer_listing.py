"""Endpoint listings: a page reads only the endpoints it returns."""

from __future__ import annotations

import mlops_kit as mk

from ..core.test_logpacks import counted, fresh


def double(x: object) -> object:
    return x


def test_a_page_of_endpoints_reads_only_what_it_returns() -> None:
    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    dep = mk.LocalDeployer(reg, store)
    reg.register("m", double)
    for n in range(30):
        dep.deploy("m:1", endpoint=f"e{n:02d}")
    dep.undeploy("e01")
    every = dep.endpoints()
    assert "e01" not in every and len(every) == 29
    view = fresh(store)
    calls = counted(view)
    page = mk.LocalDeployer(mk.Registry(view), view).endpoints(limit=3, offset=2)
    assert page == every[2:5]
    assert sum(calls.values()) <= 2 + 5 * 4 + 10, calls  # the catalog, then a few reads per endpoint
