"""Which storage a command uses: ``--storage``, ``--storage-option`` and ``--storage-class``.

The three options are accepted before the command (``mlops-kit --storage s3://b models ls``)
and after it (``mlops-kit models ls --storage s3://b``); a value after the command wins.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

import click

from mlops_kit.core.errors import ConfigError, NotFoundError
from mlops_kit.core.storage import STORAGE_ENV, Storage, storage

__all__ = [
    "ENTRY_POINT_GROUP",
    "STORAGE_CLASS_ENV",
    "KeyValue",
    "StorageChoice",
    "check_exists",
    "local_path",
    "storage_params",
]

ENTRY_POINT_GROUP = "mlops_kit.storage"
STORAGE_CLASS_ENV = "MLOPS_KIT_STORAGE_CLASS"


class KeyValue(click.ParamType):
    """``KEY=VALUE``: VALUE is read as JSON when it is JSON (``true``, ``5``, ``{...}``), else as text.

    A dotted KEY nests: ``client_kwargs.region_name=eu-west-1`` gives
    ``{"client_kwargs": {"region_name": "eu-west-1"}}``.
    """

    name = "key=value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            self.fail(
                f"{value!r} is not KEY=VALUE; write, for example, endpoint_url=http://127.0.0.1:9000",
                param,
                ctx,
            )
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = text
        return key.strip(), parsed


def nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``[("a.b", 1), ("c", 2)]`` as ``{"a": {"b": 1}, "c": 2}``; a later pair wins."""
    options: dict[str, Any] = {}
    for key, value in pairs:
        *parents, last = key.split(".")
        where = options
        for part in parents:
            inner = where.get(part)
            where = where.setdefault(part, {}) if isinstance(inner, dict) or inner is None else {}
        where[last] = value
    return options


class StorageChoice:
    """The storage a command asked for; opened on first use, then kept."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.options: list[tuple[str, Any]] = []
        self.storage_class: str | None = None
        self._storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            if self.storage_class:
                store = _build(load_storage_class(self.storage_class), self.url, nest(self.options))
            else:
                store = storage(self.url, **nest(self.options))
            check_exists(store)
            self._storage = store
        return self._storage


def load_storage_class(spec: str) -> type[Storage]:
    """The class ``module:Class`` names, or the one an entry point of ``mlops_kit.storage`` names.

    Raises
    ------
    ConfigError
        If nothing by that name can be imported, or it is not a :class:`Storage` subclass.
    """
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            found: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"--storage-class {spec!r}: cannot import it ({exc}).") from None
    else:
        from importlib.metadata import entry_points

        points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        if spec not in points:
            raise ConfigError(
                f"--storage-class {spec!r} is neither 'module:Class' nor an entry point of group "
                f"{ENTRY_POINT_GROUP!r} (installed: {sorted(points) or 'none'})."
            )
        found = points[spec].load()
    if not (isinstance(found, type) and issubclass(found, Storage)):
        raise ConfigError(f"--storage-class {spec!r} is {found!r}, not a subclass of mlops_kit.Storage.")
    return found


def _build(cls: type[Storage], url: str | None, options: dict[str, Any]) -> Storage:
    """``cls(url, **options)``, or ``cls(**options)`` without a URL."""
    try:
        return cls(url, **options) if url is not None else cls(**options)  # type: ignore[call-arg]
    except TypeError as exc:
        args = "URL, " if url is not None else ""
        raise ConfigError(
            f"Cannot build {cls.__name__}({args}**storage_options): {exc}. A class given to "
            "--storage-class takes the --storage URL (if any) as its first argument and each "
            "--storage-option as a keyword argument."
        ) from None


def local_path(store: Storage) -> str | None:
    """The folder of a storage on the local disk; ``None`` for any other storage."""
    from mlops_kit.core.storage.fsspec_storage import FsspecStorage, is_local_url

    if type(store) is not FsspecStorage or store.fs is not None or not is_local_url(store.url):
        return None
    return store.url.split("://", 1)[-1] if "://" in store.url else store.url


def check_exists(store: Storage) -> None:
    """Refuse a local folder that does not exist: a mistyped path is not an empty storage.

    Raises
    ------
    NotFoundError
        If the storage is a local folder that does not exist (nothing is created).
    ConfigError
        If the path is a file.
    """
    path = local_path(store)
    if path is None or os.path.isdir(path):
        return
    if os.path.exists(path):
        raise ConfigError(f"The storage {store.url!r} is a file, not a folder; check --storage.")
    raise NotFoundError(
        f"No storage at {store.url!r}: the folder does not exist, so nothing is stored there. Check "
        f"--storage (or ${STORAGE_ENV}); to start a new storage there, create it first: mkdir -p {path}"
    )


def _choice(ctx: click.Context) -> StorageChoice:
    found = ctx.find_object(StorageChoice)
    if found is None:  # a command invoked without the root group
        found = ctx.ensure_object(StorageChoice)
    return found


def _set_url(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _choice(ctx).url = value


def _add_options(ctx: click.Context, param: click.Parameter, value: tuple[tuple[str, Any], ...]) -> None:
    _choice(ctx).options.extend(value)


def _set_class(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _choice(ctx).storage_class = value


def storage_params(*, root: bool) -> list[click.Option]:
    """The storage options; the root's also read the environment variables."""
    where = "" if root else "; here it overrides one given before the command"
    return [
        click.Option(
            ["--storage"],
            envvar=STORAGE_ENV if root else None,
            metavar="URL",
            expose_value=False,
            callback=_set_url,
            help=f"Storage URL or path (default: ${STORAGE_ENV}, else ./.mlops){where}.",
        ),
        click.Option(
            ["--storage-option"],
            type=KeyValue(),
            multiple=True,
            metavar="KEY=VALUE",
            expose_value=False,
            callback=_add_options,
            help="An option of the storage backend, passed to fsspec (endpoint_url=..., anon=true, "
            "client_kwargs.region_name=...); repeat for each.",
        ),
        click.Option(
            ["--storage-class"],
            envvar=STORAGE_CLASS_ENV if root else None,
            metavar="CLASS",
            expose_value=False,
            callback=_set_class,
            help=f"A Storage subclass to use, as module:Class or the name of an entry point of "
            f"group {ENTRY_POINT_GROUP!r}; it gets the URL and the storage options.",
        ),
    ]
