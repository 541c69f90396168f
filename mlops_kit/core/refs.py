"""Model references: ``name`` (latest), ``name:3`` (a version), ``name@alias``."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from mlops_kit.core.arguments import check_version
from mlops_kit.core.errors import InvalidNameError
from mlops_kit.core.names import NAME_PATTERN, check_name

__all__ = ["ModelRef", "VersionRef", "parse_ref"]

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


class VersionRef(str):
    """A concrete model version, ``name:version`` (what an endpoint serves).

    It is a ``str``, so it compares, hashes, prints and serializes as the text
    ``"churn:3"`` did, and it has typed parts.

    Raises
    ------
    InvalidNameError
        If the text is not ``name:<version>`` (an alias or a bare name is not concrete).

    Examples
    --------
    >>> ref = VersionRef("churn:3")
    >>> ref, ref.name, ref.version, ref == "churn:3"
    ('churn:3', 'churn', 3, True)
    >>> ref.model_ref
    ModelRef(name='churn', version=3, alias=None)
    >>> VersionRef.of("churn", 4)
    'churn:4'
    >>> VersionRef("churn@production")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.InvalidNameError: Expected a concrete version 'name:<version>', got 'churn@production'...
    """

    __slots__ = ()

    def __new__(cls, text: object) -> VersionRef:
        if isinstance(text, VersionRef):
            return text
        ref = parse_ref(text)
        if ref.version is None:
            raise InvalidNameError(
                f"Expected a concrete version 'name:<version>', got {str(text)!r}; resolve an alias "
                "or a latest reference with registry.get(ref) first."
            )
        return super().__new__(cls, f"{ref.name}:{ref.version}")

    @classmethod
    def of(cls, name: str, version: int) -> VersionRef:
        """The reference of version ``version`` of model ``name``."""
        return cls(ModelRef(name, version))

    @property
    def name(self) -> str:
        """The model's name."""
        return self.rsplit(":", 1)[0]

    @property
    def version(self) -> int:
        """The version number."""
        return int(self.rsplit(":", 1)[1])

    @property
    def model_ref(self) -> ModelRef:
        """The same reference as a :class:`ModelRef`."""
        return ModelRef(self.name, self.version)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.plain_serializer_function_ser_schema(str)
        )


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
