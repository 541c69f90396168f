"""Fixtures of the tracking tests: autolog never leaks from one test into the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mlops_kit as mk


@pytest.fixture
def autologging() -> Iterator[None]:
    mk.autolog()
    yield
    mk.autolog(False)
