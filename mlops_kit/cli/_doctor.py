"""``mlops-kit doctor``: can this storage hold mlops_kit state safely?"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import click

from mlops_kit.cli._app import emit, json_option, main, state
from mlops_kit.cli._storage import local_path
from mlops_kit.core.storage import Storage


@main.command()
@json_option
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the storage: reachable, writable, and exclusive create honoured.

    A local folder must exist (doctor creates nothing but its probe keys, which it removes).
    """
    store = state(ctx).storage
    probe = f"doctor/{uuid.uuid4().hex}"
    checks: list[tuple[str, Callable[[Storage, str], str]]] = [
        ("reachable", _reachable),
        ("writable", _writable),
        ("exclusive create", _exclusive),
        ("exclusive create under 16 racing threads", _racing),
    ]
    results = []
    try:
        for name, check in checks:
            try:
                results.append({"check": name, "ok": True, "detail": check(store, probe)})
            except Exception as exc:
                results.append({"check": name, "ok": False, "detail": f"{type(exc).__name__}: {exc}"})
                break  # later checks depend on this one
    finally:
        for key in (f"{probe}/rw", f"{probe}/once", f"{probe}/race"):
            try:
                store.delete(key)
            except Exception:  # best effort; the report already says what failed
                pass
        _remove_empty_folders(store, probe)
    ok = len(results) == len(checks) and all(r["ok"] for r in results)
    if as_json:
        emit({"storage": store.url, "ok": ok, "checks": results}, True)
    else:
        click.echo(f"storage: {store.url}")
        for r in results:
            click.echo(f"  [{'ok' if r['ok'] else 'FAIL'}] {r['check']}: {r['detail']}")
    if not ok:
        ctx.exit(1)


def _remove_empty_folders(store: Storage, probe: str) -> None:
    """A local folder keeps the empty ``doctor/<probe>`` folders its deleted keys leave."""
    root = local_path(store)
    if root is None:
        return
    for folder in (probe, probe.rsplit("/", 1)[0]):
        try:
            os.rmdir(os.path.join(root, folder))
        except OSError:  # not empty (another doctor at work), or already gone
            return


def _reachable(store: Storage, probe: str) -> str:
    return f"listed {len(store.list(probe))} keys under a fresh prefix"


def _writable(store: Storage, probe: str) -> str:
    store.write(f"{probe}/rw", b"mlops-kit doctor")
    if store.read(f"{probe}/rw") != b"mlops-kit doctor":
        raise RuntimeError("read back different bytes than written")
    return "wrote, read back and deleted a probe key"


def _exclusive(store: Storage, probe: str) -> str:
    if not store.create(f"{probe}/once", b"first"):
        raise RuntimeError("create() of a new key returned False")
    if store.create(f"{probe}/once", b"second") or store.read(f"{probe}/once") != b"first":
        raise RuntimeError("create() overwrote an existing key: concurrent writers would lose data")
    return "a second create of the same key was refused"


def _racing(store: Storage, probe: str) -> str:
    barrier = threading.Barrier(16)

    def attempt(i: int) -> bool:
        barrier.wait()
        return store.create(f"{probe}/race", b"%d" % i)

    with ThreadPoolExecutor(16) as pool:
        winners = sum(pool.map(attempt, range(16)))
    if winners != 1:
        raise RuntimeError(f"{winners} of 16 racing creates succeeded; exactly 1 must")
    return "exactly 1 of 16 racing creates won"
