"""The plug-in checkers (runners: tests/pipeline/test_runner_api.py): our own serializers and drift methods pass; broken ones fail clearly."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from mlops_kit.monitor import METHODS, DriftMethod, MethodResult
from mlops_kit.monitor._pair import ColumnPair
from mlops_kit.registry import CloudpickleSerializer, JoblibSerializer, SkopsSerializer
from mlops_kit.testing import check_drift_method, check_serializer

# -- serializers -----------------------------------------------------------------


@pytest.mark.parametrize("serializer", [CloudpickleSerializer(), JoblibSerializer(), SkopsSerializer()])
def test_our_serializers_pass_check_serializer(serializer: Any) -> None:
    check_serializer(serializer, examples=[{"a": [1, 2.5]}, np.arange(5.0)])


class Json:
    name = "json"

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(obj).encode()

    def loads(self, data: bytes, **options: Any) -> Any:
        return json.loads(data)


class TextJson(Json):
    def dumps(self, obj: Any) -> Any:
        return json.dumps(obj)  # str, not bytes


class LossyJson(Json):
    def loads(self, data: bytes, **options: Any) -> Any:
        return (
            {k: v for k, v in json.loads(data).items() if v is not None}
            if data.startswith(b"{")
            else json.loads(data)
        )


def test_a_plain_data_serializer_passes_check_serializer() -> None:
    check_serializer(Json())


@pytest.mark.parametrize(
    ("serializer", "message"),
    [
        (
            TextJson(),
            r"check_serializer\(TextJson\): dumps\(\) of example 0 \(dict\) returned str, expected bytes",
        ),
        (
            LossyJson(),
            r"check_serializer\(LossyJson\): the first loads\(dumps\(obj\)\) of example 0 \(dict\) gave",
        ),
        (
            type("Nameless", (Json,), {"name": "a/b"})(),
            r"check_serializer\(Nameless\): name must be a valid name",
        ),
        (object(), r"check_serializer\(object\): the serializer has no dumps\(\) method"),
    ],
)
def test_a_broken_serializer_fails_check_serializer(serializer: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_serializer(serializer)


# -- drift methods ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(METHODS))
def test_our_drift_methods_pass_check_drift_method(name: str) -> None:
    check_drift_method(METHODS[name])


class Blind(DriftMethod):
    name = "blind"
    kinds = frozenset({"numeric"})
    uses_p_value = False
    threshold = 0.1

    def compute(self, pair: ColumnPair) -> MethodResult:
        return MethodResult(0.0)


class BadPValue(Blind):
    name = "bad_p"
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        return MethodResult(1.0, 2.0)


class WrongKinds(Blind):
    kinds = frozenset({"text"})


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (
            Blind(),
            r"check_drift_method\(Blind\): a large shift of numeric data with raw values is not reported",
        ),
        (BadPValue(), r"check_drift_method\(BadPValue\): .* gave p_value 2.0, expected a float in \[0, 1\]"),
        (WrongKinds(), r"check_drift_method\(WrongKinds\): kinds must be a non-empty frozenset"),
    ],
)
def test_a_broken_drift_method_fails_check_drift_method(method: DriftMethod, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_drift_method(method)
