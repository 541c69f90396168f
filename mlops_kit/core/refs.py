"""Model references: ``name`` (latest), ``name:3`` (a version), ``name@alias``."""

from __future__ import annotations

import re
from typing import NamedTuple

from mlops_kit.core.arguments import check_version
from mlops_kit.core.errors import InvalidNameError
from mlops_kit.core.names import NAME_PATTERN, check_name

__all__ = ["ModelRef", "parse_ref"]

_REF = re.compile(
    rf"(?P<name>{NAME_PATTERN})(?::(?P<version>[1-9][0-9]{{0,17}})|@(?P<alias>{NAME_PATTERN}))?"
)


class ModelRef(NamedTuple):
    """A parsed reference. At most one of ``version`` and ``alias`` is set.

    Examples
    --------
    >>> str(ModelRef("churn", version=3))
    'churn:3'
    """

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_ref(ref: object) -> ModelRef:
    """Parse a model reference: ``name``, ``name:<version>`` or ``name@<alias>``.

    Versions are positive integers without leading zeros; names and aliases follow
    :func:`~mlops_kit.core.names.check_name`. An alias cannot be all digits, so
    ``name@3`` is never confused with ``name:3``.

    Raises
    ------
    InvalidNameError
        If the text is not a valid reference. Nothing is read from storage.

    Examples
    --------
    >>> parse_ref("churn@production")
    ModelRef(name='churn', version=None, alias='production')
    >>> parse_ref("churn:0")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.InvalidNameError: Invalid model reference 'churn:0'. Expected ...
    """
    if isinstance(ref, ModelRef):
        return _checked(ref)
    if not isinstance(ref, str):
        raise InvalidNameError(
            f"Invalid model reference: expected a string such as 'churn', 'churn:3' or "
            f"'churn@production', got {type(ref).__name__}."
        )
    match = _REF.fullmatch(ref)
    alias = match["alias"] if match else None
    if match is None or ".." in ref or (alias is not None and alias.isdigit()):
        raise InvalidNameError(
            f"Invalid model reference {ref!r}. Expected 'name', 'name:<version>' (a positive "
            "integer) or 'name@<alias>', where name and alias use letters, digits, '.', '_' "
            "and '-' and the alias is not all digits."
        )
    version = match["version"]
    return ModelRef(check_name(match["name"]), int(version) if version else None, alias)


def _checked(ref: ModelRef) -> ModelRef:
    """A ``ModelRef`` built by hand obeys the rules of a parsed one."""
    name = check_name(ref.name, "model name")
    version = None if ref.version is None else check_version(ref.version, "model version")
    alias = None if ref.alias is None else check_name(ref.alias, "alias")
    if version is not None and alias is not None:
        raise InvalidNameError(f"Invalid model reference {ref!r}: give a version or an alias, not both.")
    if alias is not None and alias.isdigit():
        raise InvalidNameError(
            f"Invalid alias {alias!r}: an alias cannot be all digits; use version={alias}."
        )
    return ModelRef(name, version, alias)
