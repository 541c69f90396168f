"""The exception hierarchy of mlops_kit.

Every error the library raises on purpose derives from :class:`MlopsKitError`, so
callers can catch one family. Each also derives from the matching built-in, so
``except LookupError`` or ``except ValueError`` work too. Foreign errors (``OSError``
from a filesystem, ``botocore`` errors, pyarrow errors) are translated at the
boundary where they occur::

    MlopsKitError
    ├── NotFoundError (LookupError)       a key, dataset, model, version, alias, run, endpoint
    ├── ConflictError                     a lost race, or an overwrite of something immutable
    ├── IntegrityError                    bytes or a record do not match their hash or signature
    ├── InvalidNameError (ValueError)     a malformed name, key or reference; storage untouched
    ├── SchemaError (ValueError)          data does not match a schema
    ├── PipelineError                     a malformed pipeline, or a failed step
    ├── ConfigError (ValueError)          a bad option or setting
    │   └── MissingExtraError (ImportError)   an optional dependency is not installed
    └── StorageError (OSError)            the backend failed: unreachable, denied, full

Blocks add narrower errors under these (``SerializationError`` in the registry,
``DeploymentError`` in the deployer).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConflictError",
    "IntegrityError",
    "InvalidNameError",
    "MlopsKitError",
    "MlopsKitWarning",
    "NotFoundError",
    "PipelineError",
    "SchemaError",
    "StorageError",
]


class MlopsKitError(Exception):
    """Base class of every error raised by mlops_kit."""


class NotFoundError(MlopsKitError, LookupError):
    """A key, dataset, model, version, alias, run or endpoint does not exist."""


class ConflictError(MlopsKitError):
    """A write lost a race or would overwrite something immutable."""


class IntegrityError(MlopsKitError):
    """Stored bytes or a record do not match their hash or signature."""


class InvalidNameError(MlopsKitError, ValueError):
    """A name, key or reference is malformed. Raised before storage is touched."""


class SchemaError(MlopsKitError, ValueError):
    """Data does not match a schema. The message names the columns and offending values."""


class PipelineError(MlopsKitError):
    """A pipeline is malformed, or one of its steps failed."""


class ConfigError(MlopsKitError, ValueError):
    """An option, argument or environment setting is invalid or a dependency is missing."""


class StorageError(MlopsKitError, OSError):
    """The storage backend failed: unreachable, permission denied, or out of space."""


class MlopsKitWarning(UserWarning):
    """Something went wrong that did not stop the operation (a cache write, a torn entry)."""
