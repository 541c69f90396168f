"""Aliases, archiving and the audit history."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import mlops_kit as mk
from mlops_kit.testing import FakeClock


def test_moves_are_audited_with_who_when_and_from(reg: mk.Registry) -> None:
    clock = FakeClock()
    reg = mk.Registry(reg.storage, clock=clock)
    for i in range(3):
        reg.register("m", i)
        clock.sleep(1)
    first = reg.set_alias("m", "prod", 1)
    clock.sleep(1)
    second = reg.set_alias("m", "prod", 3)
    clock.sleep(1)
    gone = reg.delete_alias("m", "prod")
    assert (first.kind, first.alias, first.from_version, first.version) == ("alias_set", "prod", None, 1)
    assert (second.from_version, second.version) == (1, 3)
    assert (gone.kind, gone.from_version, gone.version) == ("alias_deleted", 3, None)
    assert "@" in first.by and first.at < second.at < gone.at
    kinds = [(e.kind, e.version) for e in reg.history("m")]
    assert kinds == [
        ("registered", 1),
        ("registered", 2),
        ("registered", 3),
        ("alias_set", 1),
        ("alias_set", 3),
        ("alias_deleted", None),
    ]
    assert reg.aliases("m") == {}
    assert "m@prod -> 3 (from 1)" in str(second) and "deleted (was 3)" in str(gone)


def test_history_never_puts_an_event_before_the_registration_it_refers_to(reg: mk.Registry) -> None:
    mk.Registry(reg.storage, clock=FakeClock("2026-06-01T00:00:00Z")).register("m", 1)
    lagging = mk.Registry(reg.storage, clock=FakeClock("2025-06-01T00:00:00Z"))  # a host whose clock lags
    lagging.register("m", 2)
    reg.set_alias("m", "prod", 2)
    assert [(e.kind, e.version) for e in reg.history("m")] == [
        ("registered", 1),
        ("registered", 2),
        ("alias_set", 2),
    ]


def test_expected_guards_against_concurrent_moves(reg: mk.Registry) -> None:
    for i in range(3):
        reg.register("m", i)
    reg.set_alias("m", "prod", 1, expected=None)
    with pytest.raises(mk.ConflictError, match="points to version 1, not None"):
        reg.set_alias("m", "prod", 2, expected=None)
    reg.set_alias("m", "prod", 2, expected=1)
    with pytest.raises(
        mk.ConflictError, match="points to version 2, not 1 as expected; it was not moved to 3"
    ):
        reg.set_alias("m", "prod", 3, expected=1)
    reg.delete_alias("m", "prod")
    with pytest.raises(mk.ConflictError, match="does not exist, not 2"):
        reg.set_alias("m", "prod", 3, expected=2)
    assert reg.aliases("m") == {}


def test_archive_is_refused_while_an_alias_points_to_it(reg: mk.Registry) -> None:
    reg.register("m", "a")
    reg.register("m", "b")
    reg.set_alias("m", "prod", 2)
    reg.set_alias("m", "canary", 2)
    with pytest.raises(mk.ConflictError, match=r"still the target of alias 'canary', 'prod'.*force=True"):
        reg.archive("m", 2)
    assert reg.archived("m") == []
    event = reg.archive("m", 2, force=True)
    assert event.kind == "archived" and reg.archived("m") == [2]
    assert reg.get("m@prod").version == 2  # forced: aliases keep working
    assert reg.get("m").version == 1  # but "latest" skips archived versions
    assert reg.load("m:2") == "b"  # and it stays loadable by number
    with pytest.raises(mk.ConflictError, match="already archived"):
        reg.archive("m", 2, force=True)
    with pytest.raises(mk.ConflictError, match="is archived; restore it"):
        reg.set_alias("m", "staging", 2)
    reg.restore("m", 2)
    with pytest.raises(mk.ConflictError, match="is not archived"):
        reg.restore("m", 2)
    assert reg.get("m").version == 2 and reg.archived("m") == []
    assert [e.kind for e in reg.history("m")][-2:] == ["archived", "restored"]


def test_all_archived_means_no_latest(reg: mk.Registry) -> None:
    reg.register("m", 1)
    reg.archive("m", 1)
    with pytest.raises(mk.NotFoundError, match=r"Every version of model 'm' \(1 to 1\) is archived"):
        reg.get("m")
    assert reg.get("m:1").version == 1


def test_alias_of_an_archived_version_can_be_moved_away(reg: mk.Registry) -> None:
    reg.register("m", 1)
    reg.register("m", 2)
    reg.set_alias("m", "prod", 1)
    reg.archive("m", 1, force=True)
    assert reg.set_alias("m", "prod", 2).from_version == 1


class RegistryMachine(RuleBasedStateMachine):
    """Random operations on a registry agree with a plain-Python model of its state."""

    def __init__(self) -> None:
        super().__init__()
        self.store = mk.MemoryStorage()
        self.reg = mk.Registry(self.store)
        self.versions = 0
        self.aliases: dict[str, int] = {}
        self.archived: set[int] = set()
        self.moves: list[tuple[str, str, int | None, int | None]] = []

    @rule()
    def register(self) -> None:
        self.versions += 1
        assert self.reg.register("m", self.versions).version == self.versions

    @precondition(lambda self: self.versions > 0)
    @rule(alias=st.sampled_from(["prod", "canary", "b"]), data=st.data())
    def set_alias(self, alias: str, data: st.DataObject) -> None:
        version = data.draw(st.integers(1, self.versions))
        if version in self.archived:
            with pytest.raises(mk.ConflictError):
                self.reg.set_alias("m", alias, version)
            return
        event = self.reg.set_alias("m", alias, version)
        assert event.from_version == self.aliases.get(alias)
        self.moves.append(("alias_set", alias, self.aliases.get(alias), version))
        self.aliases[alias] = version

    @precondition(lambda self: self.versions > 0)
    @rule(alias=st.sampled_from(["prod", "canary", "b"]))
    def delete_alias(self, alias: str) -> None:
        if alias not in self.aliases:
            with pytest.raises(mk.NotFoundError):
                self.reg.delete_alias("m", alias)
            return
        self.reg.delete_alias("m", alias)
        self.moves.append(("alias_deleted", alias, self.aliases.pop(alias), None))

    @precondition(lambda self: self.versions > 0)
    @rule(data=st.data(), force=st.booleans())
    def archive(self, data: st.DataObject, force: bool) -> None:
        version = data.draw(st.integers(1, self.versions))
        pointed = version in self.aliases.values()
        if version in self.archived or (pointed and not force):
            with pytest.raises(mk.ConflictError):
                self.reg.archive("m", version, force=force)
            return
        self.reg.archive("m", version, force=force)
        self.archived.add(version)
        self.moves.append(("archived", "", None, version))

    @precondition(lambda self: self.versions > 0)
    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        version = data.draw(st.integers(1, self.versions))
        if version not in self.archived:
            with pytest.raises(mk.ConflictError):
                self.reg.restore("m", version)
            return
        self.reg.restore("m", version)
        self.archived.discard(version)
        self.moves.append(("restored", "", None, version))

    @rule()
    def reopen(self) -> None:
        self.reg = mk.Registry(self.store)  # a fresh process: state is rebuilt from the logs

    @invariant()
    def agrees(self) -> None:
        if self.versions == 0:
            return
        assert self.reg.aliases("m") == dict(sorted(self.aliases.items()))
        assert self.reg.archived("m") == sorted(self.archived)
        for alias, version in self.aliases.items():
            assert self.reg.get(f"m@{alias}").version == version
        live = [v for v in range(1, self.versions + 1) if v not in self.archived]
        if live:
            assert self.reg.get("m").version == live[-1]
        events = [e for e in self.reg.history("m") if e.kind != "registered"]
        assert [(e.kind, e.alias or "", e.from_version, e.version) for e in events] == self.moves


TestRegistryMachine = RegistryMachine.TestCase
TestRegistryMachine.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_a_cold_start_reads_the_snapshot_and_the_few_events_after_it() -> None:
    from mlops_kit.testing import FaultyStorage

    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    for i in range(3):
        reg.register("m", i)
    for i in range(25):
        reg.set_alias("m", "prod", i % 3 + 1)
    assert store.exists("models/m/snapshot.json")
    counting = FaultyStorage(store)  # fail_at=None: only counts storage operations
    assert mk.Registry(counting).get("m@prod").version == 24 % 3 + 1  # the last move
    # snapshot (at event 20) + events 21..25 + the missing 26 + the version record
    assert counting.calls == 1 + 5 + 1 + 1


@pytest.mark.parametrize("signed", [True, False])
def test_a_tampered_or_corrupt_snapshot_is_ignored(signed: bool) -> None:
    import json
    import pickle

    store = mk.MemoryStorage(signing_key="k" if signed else None)
    reg = mk.Registry(store)
    for i in range(3):
        reg.register("m", i)
    for i in range(10):
        reg.set_alias("m", "prod", 3 if i == 9 else 1)
    raw = json.loads(store.read("models/m/snapshot.json"))
    if signed:
        raw["data"]["state"]["aliases"]["prod"] = 2  # a valid-looking lie, but the signature breaks
        store.write("models/m/snapshot.json", json.dumps(raw).encode())
    else:
        store.write("models/m/snapshot.json", b"{not json")
    another_process = pickle.loads(pickle.dumps(store))
    with pytest.warns(UserWarning, match="Ignoring the snapshot"):
        assert mk.Registry(another_process).get("m@prod").version == 3  # rebuilt from the events
