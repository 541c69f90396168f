"""Names and model references: one validator, rejecting every malformed form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_kit.core.errors import InvalidNameError, MlopsKitError
from mlops_kit.core.names import check_key, check_name
from mlops_kit.core.refs import ModelRef, parse_ref

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,40}", fullmatch=True).filter(lambda s: ".." not in s)
aliases = names.filter(lambda s: not s.isdigit())

BAD_NAMES = [
    "",
    " churn",
    "churn ",
    "a/b",
    "a\\b",
    "..",
    "a..b",
    "../etc",
    "/abs",
    "C:\\x",
    "a\nb",
    "a\x00b",
    "-lead",
    ".hidden",
    "x" * 129,
    "é",
    "a b",
    "a:b",
    "a@b",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid name"):
        check_name(name)


@pytest.mark.parametrize("value", [None, 3, b"churn", ["a"]])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(InvalidNameError, match="expected a string"):
        check_name(value)


def test_invalid_name_error_is_a_value_error_and_ours() -> None:
    with pytest.raises(ValueError):
        check_name("a/b")
    assert issubclass(InvalidNameError, MlopsKitError)


@given(names)
def test_valid_names_pass_unchanged(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("key", ["a", "a/b", "blobs/sha256/ab/" + "a" * 64, "x.json"])
def test_valid_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "a/../b", "a/./b", "~/x", "a/ b"])
def test_bad_keys(key: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid storage key"):
        check_key(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn", ModelRef("churn")),
        ("churn:3", ModelRef("churn", version=3)),
        ("churn@production", ModelRef("churn", alias="production")),
        ("m.v2_x-1:120", ModelRef("m.v2_x-1", version=120)),
    ],
)
def test_parse_ref(text: str, expected: ModelRef) -> None:
    assert parse_ref(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "m:",
        "m@",
        ":1",
        "@a",
        "m:abc",
        "m:0",
        "m:01",
        "m:-1",
        "m:1.5",
        "m:1:2",
        "m@a@b",
        "m:1@a",
        "m@a:1",
        "../m",
        "m/x:1",
        "m@..",
        "m@3",
        " m",
        "m ",
        "m:1 ",
        "m@a/b",
    ],
)
def test_malformed_refs_are_rejected(text: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid model reference"):
        parse_ref(text)


def test_ref_must_be_a_string() -> None:
    with pytest.raises(InvalidNameError, match="expected a string"):
        parse_ref(3)


@given(name=names, version=st.none() | st.integers(1, 10**12), alias=st.none() | aliases)
def test_ref_round_trip(name: str, version: int | None, alias: str | None) -> None:
    ref = ModelRef(name, version, None if version is not None else alias)
    assert parse_ref(str(ref)) == ref
