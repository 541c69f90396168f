"""Validation of user-facing names and of storage keys.

One validator serves every block (datasets, models, aliases, endpoints, pipelines),
so a name that is valid in one place is valid everywhere and can never escape the
storage root.
"""

from __future__ import annotations

import re

from mlops_kit.core.errors import InvalidNameError

__all__ = ["NAME_PATTERN", "check_key", "check_name"]

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_NAME = re.compile(NAME_PATTERN)


def check_name(name: object, kind: str = "name") -> str:
    """Return ``name`` if it is a valid name, else raise :class:`InvalidNameError`.

    A valid name matches ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}`` and does not contain
    ``..``. That excludes empty names, path separators, traversal, whitespace,
    control characters and absolute paths.

    Parameters
    ----------
    name : object
        The candidate name.
    kind : str
        What the name is for (``"dataset name"``, ``"alias"``...), used in the message.

    Returns
    -------
    str
        The name, unchanged.

    Raises
    ------
    InvalidNameError
        If ``name`` is not a string or does not match the pattern.

    Examples
    --------
    >>> check_name("churn-v2.1")
    'churn-v2.1'
    >>> check_name("../etc")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.InvalidNameError: Invalid name '../etc': ...
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"Invalid {kind}: expected a string, got {type(name).__name__}.")
    if not _NAME.fullmatch(name) or ".." in name:
        raise InvalidNameError(
            f"Invalid {kind} {name!r}: expected 1-128 characters from letters, digits, "
            "'.', '_' and '-', starting with a letter or digit, without '..' "
            "(no spaces, slashes or control characters)."
        )
    return name


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid storage key, else raise :class:`InvalidNameError`.

    A key is a relative, ``/``-separated path whose every segment is a valid name
    (see :func:`check_name`).

    Examples
    --------
    >>> check_key("blobs/sha256/ab/abcdef")
    'blobs/sha256/ab/abcdef'
    >>> check_key("/etc/passwd")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.InvalidNameError: Invalid storage key '/etc/passwd': ...
    """
    if not isinstance(key, str) or not key:
        raise InvalidNameError(f"Invalid storage key {key!r}: expected a non-empty string.")
    for segment in key.split("/"):
        if not _NAME.fullmatch(segment) or ".." in segment:
            raise InvalidNameError(
                f"Invalid storage key {key!r}: expected relative '/'-separated segments of "
                "letters, digits, '.', '_' and '-' (no empty segments, no '..')."
            )
    return key


def check_prefix(prefix: object) -> str:
    """Validate a listing prefix: ``""`` (everything) or a valid key."""
    if prefix == "":
        return ""
    return check_key(prefix.rstrip("/") if isinstance(prefix, str) else prefix)
