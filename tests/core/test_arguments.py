"""One set of argument rules: the same mistake gets the same error class and wording in every block."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.refs import ModelRef

FRAME = pd.DataFrame({"x": [1, 2, 3]})


@mk.step
def doubled(x: int) -> int:
    return 2 * x


PIPE = mk.Pipeline([doubled], name="doubled")


def _dataset_save(store: mk.Storage, **kwargs: Any) -> object:
    return mk.Dataset("d", storage=store).save(FRAME, **kwargs)


def _register(store: mk.Storage, **kwargs: Any) -> object:
    return mk.Registry(store).register("m", 1, **kwargs)


def _pipeline_run(store: mk.Storage, **kwargs: Any) -> object:
    return PIPE.run(inputs={"x": 1}, storage=store, progress=False, **kwargs)


TAGGED = {"Dataset.save": _dataset_save, "Registry.register": _register, "Pipeline.run": _pipeline_run}
DESCRIBED = {"Dataset.save": _dataset_save, "Registry.register": _register}

BAD_TAGS: list[tuple[object, type[Exception], str]] = [
    ([("team", "crm")], mk.ConfigError, r"tags= must be a dict of strings to strings, got list"),
    ("team=crm", mk.ConfigError, r"tags= must be a dict of strings to strings, got str"),
    ({"team": 3}, mk.ConfigError, r"Tag 'team' must be a string, got int \(3\)"),
    ({"team": None}, mk.ConfigError, r"Tag 'team' must be a string, got NoneType"),
    ({"my team": "crm"}, mk.InvalidNameError, r"Invalid tag key 'my team'"),
    ({"": "crm"}, mk.InvalidNameError, r"Invalid tag key ''"),
    ({"../x": "crm"}, mk.InvalidNameError, r"Invalid tag key '\.\./x'"),
    ({3: "crm"}, mk.InvalidNameError, r"Invalid tag key: expected a string, got int"),
]


def _error(call: Callable[[], object]) -> BaseException:
    with pytest.raises(mk.MlopsKitError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("tags", "kind", "message"), BAD_TAGS)
def test_bad_tags_get_the_same_error_in_every_block(
    tags: object, kind: type[Exception], message: str
) -> None:
    seen = {}
    for block, call in TAGGED.items():
        store = mk.MemoryStorage()
        error = _error(lambda call=call, store=store: call(store, tags=tags))  # type: ignore[misc]
        assert type(error) is kind, f"{block} raised {type(error).__name__}: {error}"
        assert store.list() == [], f"{block} wrote before refusing the tags"
        seen[block] = str(error)
    assert len(set(seen.values())) == 1, seen
    assert pytest.importorskip("re").search(message, next(iter(seen.values())))


@pytest.mark.parametrize("block", list(TAGGED))
def test_good_tags_are_accepted_everywhere(block: str) -> None:
    result = TAGGED[block](mk.MemoryStorage(), tags={"team": "crm", "v1.2_x-y": ""})
    assert dict(result.tags) == {"team": "crm", "v1.2_x-y": ""}  # type: ignore[attr-defined]


@pytest.mark.parametrize("description", [None, 3, b"bytes", ["a"]])
def test_bad_descriptions_get_the_same_error(description: object) -> None:
    messages = set()
    for call in DESCRIBED.values():
        store = mk.MemoryStorage()
        error = _error(lambda call=call, store=store: call(store, description=description))  # type: ignore[misc]
        assert type(error) is mk.ConfigError
        assert store.list() == []
        messages.add(str(error))
    assert len(messages) == 1
    assert messages.pop().startswith("description= must be a string, got ")


BAD_VERSIONS = [0, -1, "x", "1", True, False, 1.5, 1.0, None]


def _registry_with_versions() -> mk.Registry:
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("m", 1)
    reg.register("m", 2)
    return reg


def _dataset_with_versions() -> mk.Dataset:
    ds = mk.Dataset("d", storage=mk.MemoryStorage())
    ds.save(FRAME)
    return ds


VERSION_CALLS: dict[str, Callable[[Any], object]] = {
    "Dataset.get": lambda v: _dataset_with_versions().get(v),
    "Dataset.load": lambda v: _dataset_with_versions().load(v),
    "Registry.set_alias": lambda v: _registry_with_versions().set_alias("m", "prod", v),
    "Registry.archive": lambda v: _registry_with_versions().archive("m", v),
    "Registry.restore": lambda v: _registry_with_versions().restore("m", v),
    "Registry.get(ModelRef)": lambda v: _registry_with_versions().get(ModelRef("m", v)),
}


@pytest.mark.parametrize("version", [v for v in BAD_VERSIONS if v is not None])
@pytest.mark.parametrize("call", list(VERSION_CALLS))
def test_malformed_version_numbers_are_invalid_names(call: str, version: object) -> None:
    error = _error(lambda: VERSION_CALLS[call](version))
    assert type(error) is mk.InvalidNameError, f"{call}({version!r}) raised {type(error).__name__}: {error}"
    assert "positive integer" in str(error)


@pytest.mark.parametrize("ref", ["m:0", "m:-1", "m:x", "m:1.5", "m:01"])
def test_malformed_versions_inside_refs_are_invalid_names(ref: str) -> None:
    reg = _registry_with_versions()
    dep = mk.LocalDeployer(reg)
    for call in (reg.get, reg.load, dep.deploy):
        with pytest.raises(mk.InvalidNameError):
            call(ref)


def test_version_zero_is_the_same_mistake_as_an_int_and_in_a_ref() -> None:
    reg = _registry_with_versions()
    with pytest.raises(mk.InvalidNameError):
        reg.set_alias("m", "prod", 0)
    with pytest.raises(mk.InvalidNameError):
        reg.get("m:0")
    with pytest.raises(mk.InvalidNameError):
        _dataset_with_versions().get(0)


@pytest.mark.parametrize("expected", [0, "1", True])
def test_a_malformed_expected_version_is_an_invalid_name(expected: object) -> None:
    reg = _registry_with_versions()
    with pytest.raises(mk.InvalidNameError, match="Invalid expected version"):
        reg.set_alias("m", "prod", 1, expected=expected)  # type: ignore[arg-type]
    assert reg.aliases("m") == {}


def test_numpy_integers_are_version_numbers() -> None:
    reg = _registry_with_versions()
    assert reg.set_alias("m", "prod", np.int64(2)).version == 2  # type: ignore[arg-type]
    assert _dataset_with_versions().get(np.int32(1)).version == 1  # type: ignore[arg-type]


def test_well_formed_but_missing_versions_are_not_found() -> None:
    reg = _registry_with_versions()
    for call in (lambda: reg.get("m:7"), lambda: reg.set_alias("m", "prod", 9), lambda: reg.archive("m", 9)):
        with pytest.raises(mk.NotFoundError, match="has no version"):
            call()
    with pytest.raises(mk.NotFoundError, match="has no version 5"):
        _dataset_with_versions().get(5)


@mk.step
def logs_a_metric(name: str, value: Any) -> int:
    mk.log_metric(name, value)
    return 1


@pytest.mark.parametrize(
    ("name", "value", "kind", "message"),
    [
        ("my auc", 0.5, mk.InvalidNameError, "Invalid metric name 'my auc'"),
        ("", 0.5, mk.InvalidNameError, "Invalid metric name ''"),
        ("auc", "high", mk.ConfigError, r"Metric 'auc' must be a number, got str \('high'\)"),
        ("auc", True, mk.ConfigError, r"Metric 'auc' must be a number, got bool \(True\)"),
        ("auc", None, mk.ConfigError, r"Metric 'auc' must be a number, got NoneType"),
    ],
)
def test_bad_metrics_get_the_same_error_in_the_registry_and_in_log_metric(
    name: str, value: object, kind: type[Exception], message: str
) -> None:
    store = mk.MemoryStorage()
    registered = _error(lambda: mk.Registry(store).register("m", 1, metrics={name: value}))
    logged = _error(lambda: mk.log_metric(name, value))  # type: ignore[arg-type]
    assert type(registered) is type(logged) is kind
    assert str(registered) == str(logged)
    assert pytest.importorskip("re").search(message, str(logged))
    assert store.list() == []


def test_non_finite_metrics_are_refused_by_the_registry_and_kept_by_log_metric() -> None:
    with pytest.raises(mk.ConfigError, match="Metric 'auc' must be finite, got nan"):
        mk.Registry(mk.MemoryStorage()).register("m", 1, metrics={"auc": float("nan")})
    pipe = mk.Pipeline([logs_a_metric], name="nan-metric")
    run = pipe.run(params={"name": "loss", "value": float("inf")}, storage=mk.MemoryStorage(), progress=False)
    assert math.isinf(run.metrics["loss"])


def test_a_bad_metric_name_fails_the_step_with_the_rule_as_cause() -> None:
    pipe = mk.Pipeline([logs_a_metric], name="bad-metric")
    with pytest.raises(mk.PipelineError) as caught:
        pipe.run(params={"name": "a b", "value": 1.0}, storage=mk.MemoryStorage(), progress=False)
    assert isinstance(caught.value.__cause__, mk.InvalidNameError)


@pytest.mark.parametrize(
    ("params", "kind", "message"),
    [
        ([("C", 1.0)], mk.ConfigError, r"params= must be a dict of names to scalars"),
        (
            {"est": object()},
            mk.ConfigError,
            r"Param 'est' must be a str, int, float, bool or None, got object",
        ),
        ({"lr": float("inf")}, mk.ConfigError, r"Param 'lr' must be finite, got inf"),
        ({"learning rate": 0.1}, mk.InvalidNameError, r"Invalid param name 'learning rate'"),
    ],
)
def test_bad_params(params: object, kind: type[Exception], message: str) -> None:
    store = mk.MemoryStorage()
    with pytest.raises(kind, match=message):
        mk.Registry(store).register("m", 1, params=params)  # type: ignore[arg-type]
    assert store.list() == []


def _storage_parameters() -> dict[str, inspect.Parameter]:
    from mlops_kit.pipeline import RunList

    owners: dict[str, Callable[..., Any]] = {
        "storage": mk.storage,
        "Dataset": mk.Dataset.__init__,
        "Dataset.names": mk.Dataset.names,
        "Registry": mk.Registry.__init__,
        "Pipeline": mk.Pipeline.__init__,
        "Pipeline.run": mk.Pipeline.run,
        "Pipeline.runs": mk.Pipeline.runs,
        "Pipeline.names": mk.Pipeline.names,
        "RunList.read": RunList.read,
        "LocalDeployer": mk.LocalDeployer.__init__,
        "Monitor": mk.Monitor.__init__,
        "ContinuousTraining": mk.ContinuousTraining.__init__,
    }
    found = {}
    for owner, function in owners.items():
        parameters = inspect.signature(function).parameters
        found[owner] = parameters.get("storage", parameters.get("url"))
    return found


@pytest.mark.parametrize(("owner", "parameter"), list(_storage_parameters().items()))
def test_every_storage_parameter_has_one_type(owner: str, parameter: inspect.Parameter) -> None:
    assert parameter is not None, owner
    assert parameter.annotation == "StorageLike", f"{owner}: {parameter.annotation}"


@pytest.mark.parametrize(
    "build",
    [
        lambda s: mk.Dataset("d", storage=s),
        lambda s: mk.Registry(s),
        lambda s: mk.Pipeline([doubled], name="p", storage=s),
        lambda s: PIPE.runs(s),
        lambda s: mk.LocalDeployer(mk.Registry(mk.MemoryStorage()), storage=s),
        lambda s: mk.Monitor(FRAME, storage=s),
    ],
)
def test_a_bad_storage_argument_is_refused_the_same_way(build: Callable[[object], object]) -> None:
    with pytest.raises(mk.ConfigError, match=r"storage= must be a Storage, a URL or a path, got int \(42\)"):
        build(42)


def test_the_rules_module_documents_its_table() -> None:
    from mlops_kit.core import arguments

    doc = arguments.__doc__ or ""
    for needle in ("InvalidNameError", "NotFoundError", "ConfigError", "StorageLike"):
        assert needle in doc
