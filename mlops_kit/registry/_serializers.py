"""Serializers: how a model becomes bytes and back, registered by name.

Three come built in: ``cloudpickle`` (the default; anything, including classes
defined in a notebook), ``joblib`` and ``skops`` (a format that loads only the types
the caller trusts, for scikit-learn models from others). A serializer is any object
with a ``name``, ``dumps(obj) -> bytes`` and ``loads(data, **options)``.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from mlops_kit.core.errors import ConfigError, ConflictError, MlopsKitError
from mlops_kit.core.extras import require
from mlops_kit.core.names import check_name

__all__ = [
    "CloudpickleSerializer",
    "JoblibSerializer",
    "SerializationError",
    "Serializer",
    "SkopsSerializer",
    "UntrustedTypesError",
    "get_serializer",
    "register_serializer",
    "serializer_names",
]


class SerializationError(MlopsKitError, TypeError):
    """A serializer could not turn a model into bytes, or bytes back into a model."""


class UntrustedTypesError(SerializationError):
    """An artifact holds types the caller did not trust; nothing was loaded.

    ``types`` lists them, ready to review and pass as ``trusted=``.
    """

    def __init__(self, message: str, types: Sequence[str]) -> None:
        super().__init__(message)
        self.types = tuple(types)


@runtime_checkable
class Serializer(Protocol):
    """What the registry needs from a serializer.

    Attributes
    ----------
    name : str
        The name recorded in each :class:`ModelVersion` (letters, digits, '.', '_',
        '-'); loading looks the serializer up by this name.

    Notes
    -----
    An optional ``library`` attribute (a distribution name such as ``"joblib"``)
    adds that library's version to the recorded environment.
    """

    name: str

    def dumps(self, obj: Any) -> bytes:
        """Serialize ``obj``; raise any exception if it cannot be serialized."""
        ...

    def loads(self, data: bytes, **options: Any) -> Any:
        """Rebuild the object from ``data`` (already verified against its sha256)."""
        ...


class CloudpickleSerializer:
    """Pickle with cloudpickle: any Python object, including notebook-defined classes.

    Loading a pickle runs code chosen by whoever wrote it; the registry therefore
    verifies the bytes against the recorded sha256 (and the record's signature when
    a signing key is set) before calling :meth:`loads`.
    """

    name = "cloudpickle"
    library = "cloudpickle"

    def dumps(self, obj: Any) -> bytes:
        """``cloudpickle.dumps`` with the highest pickle protocol."""
        import cloudpickle

        return bytes(cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def loads(self, data: bytes, **options: Any) -> Any:
        """``pickle.loads``; takes no options."""
        _no_options(self.name, options)
        return pickle.loads(data)


class JoblibSerializer:
    """joblib's pickle variant, efficient for objects holding large numpy arrays.

    Parameters
    ----------
    compress : int
        joblib's compression level, 0 (none, the default) to 9.
    """

    name = "joblib"
    library = "joblib"

    def __init__(self, compress: int = 0) -> None:
        self.compress = compress

    def dumps(self, obj: Any) -> bytes:
        """``joblib.dump`` into memory."""
        joblib = _require("joblib", None)
        buffer = io.BytesIO()
        joblib.dump(obj, buffer, compress=self.compress)
        return buffer.getvalue()

    def loads(self, data: bytes, **options: Any) -> Any:
        """``joblib.load`` from memory; takes no options."""
        _no_options(self.name, options)
        joblib = _require("joblib", None)
        return joblib.load(io.BytesIO(data))


class SkopsSerializer:
    """skops' safe format for scikit-learn models: loads only trusted types.

    The list of trusted types comes from the caller of ``load`` (``trusted=[...]``),
    never from the artifact. Types skops trusts by default (numpy, scikit-learn's
    estimators...) need not be listed. Needs the ``skops`` extra.
    """

    name = "skops"
    library = "skops"

    def dumps(self, obj: Any) -> bytes:
        """``skops.io.dumps``."""
        sio = _require("skops.io", "skops")
        return bytes(sio.dumps(obj))

    def loads(self, data: bytes, *, trusted: Sequence[str | type] | None = None, **options: Any) -> Any:
        """Load after checking every type the artifact holds against ``trusted``.

        Parameters
        ----------
        trusted : sequence of str or type, optional
            Types to trust besides skops' defaults, as ``"module.Class"`` names or
            classes. Review :attr:`UntrustedTypesError.types` before trusting them.

        Raises
        ------
        UntrustedTypesError
            If the artifact holds types that are neither trusted by default nor
            listed; nothing is instantiated.
        """
        _no_options(self.name, options)
        sio = _require("skops.io", "skops")
        names = [_type_name(t) for t in (trusted or ())]
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(names))
        if untrusted:
            raise UntrustedTypesError(
                f"The skops artifact holds types you did not trust: {untrusted}. Nothing was loaded. "
                "Review them and pass the ones you trust: registry.load(ref, trusted=[...]).",
                untrusted,
            )
        return sio.loads(data, trusted=names or None)


_LOCK = threading.Lock()
_SERIALIZERS: dict[str, Serializer] = {
    s.name: s for s in (CloudpickleSerializer(), JoblibSerializer(), SkopsSerializer())
}


def register_serializer(serializer: Serializer, *, replace: bool = False) -> Serializer:
    """Make a serializer available by its name to ``register`` and ``load``.

    Register it in every process that loads models written with it.

    Parameters
    ----------
    serializer : Serializer
        An object with ``name``, ``dumps(obj) -> bytes`` and ``loads(data, **options)``.
    replace : bool
        Replace a serializer already registered under that name.

    Returns
    -------
    Serializer
        ``serializer``, unchanged.

    Raises
    ------
    ConfigError
        If the object lacks the protocol's members or its name is invalid.
    ConflictError
        If the name is taken and ``replace`` is false.

    Examples
    --------
    >>> import json
    >>> class JsonSerializer:
    ...     name = "json"
    ...     def dumps(self, obj):
    ...         return json.dumps(obj).encode()
    ...     def loads(self, data, **options):
    ...         return json.loads(data)
    >>> register_serializer(JsonSerializer(), replace=True).name
    'json'
    >>> "json" in serializer_names()
    True
    """
    if not isinstance(serializer, Serializer) or not isinstance(getattr(serializer, "name", None), str):
        raise ConfigError(
            f"Expected a serializer (an object with a 'name' string and 'dumps' and 'loads' "
            f"methods), got {type(serializer).__name__}."
        )
    name = check_name(serializer.name, "serializer name")
    with _LOCK:
        if name in _SERIALIZERS and not replace and _SERIALIZERS[name] is not serializer:
            raise ConflictError(
                f"A serializer named {name!r} is already registered ({type(_SERIALIZERS[name]).__name__}). "
                "Pick another name, or pass replace=True."
            )
        _SERIALIZERS[name] = serializer
    return serializer


def get_serializer(name: str) -> Serializer:
    """Return the serializer registered under ``name``.

    Raises
    ------
    ConfigError
        If no serializer has that name; the message lists the registered ones.

    Examples
    --------
    >>> get_serializer("cloudpickle")
    <...CloudpickleSerializer object at ...>
    """
    with _LOCK:
        found = _SERIALIZERS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ConfigError(
            f"Unknown serializer {name!r}; registered: {serializer_names()}. Register it in this "
            "process with mlops_kit.registry.register_serializer(...) first."
        )
    return found


def serializer_names() -> list[str]:
    """The names of the registered serializers, sorted."""
    with _LOCK:
        return sorted(_SERIALIZERS)


def dumps(serializer: Serializer, obj: Any) -> bytes:
    """Serialize ``obj``, translating any failure into :class:`SerializationError`."""
    try:
        data = serializer.dumps(obj)
    except MlopsKitError:
        raise
    except Exception as exc:
        raise SerializationError(
            f"Serializer {serializer.name!r} cannot serialize the model ({_qualname(type(obj))}): "
            f"{_offender(serializer, obj)}{type(exc).__name__}: {exc}. Nothing was written. Exclude that "
            "object from the model (for instance with __getstate__) or choose another serializer."
        ) from exc
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SerializationError(
            f"Serializer {serializer.name!r} returned {type(data).__name__} instead of bytes; nothing was written."
        )
    return bytes(data)


def loads(serializer: Serializer, data: bytes, what: str, options: dict[str, Any]) -> Any:
    """Deserialize verified bytes, translating failures into :class:`SerializationError`."""
    try:
        return serializer.loads(data, **options)
    except MlopsKitError:
        raise
    except Exception as exc:
        raise SerializationError(
            f"Serializer {serializer.name!r} could not load {what}: {type(exc).__name__}: {exc}. The bytes "
            "match their recorded sha256, so they are as registered: check that the code defining the "
            "model's classes is importable here and that the library versions match (see the version's "
            "environment)."
        ) from exc


def _offender(serializer: Serializer, obj: Any) -> str:
    """Find the smallest part of ``obj`` that fails to serialize: ``"model.a['b'] is a X: "``."""
    path, culprit = "model", obj
    for _ in range(8):  # descend while a single child still fails; bounded work
        for child_path, child in _children(culprit, path):
            try:
                serializer.dumps(child)
            except Exception:
                path, culprit = child_path, child
                break
        else:
            break
    if culprit is obj:
        return ""
    return f"{path} is a {_qualname(type(culprit))}; "


def _children(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
    limit = 200
    if isinstance(obj, dict):
        items: Any = ((f"{path}[{k!r}]", v) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(obj))
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = ((f"{path}.{k}", v) for k, v in vars(obj).items())
    else:
        return
    for n, item in enumerate(items):
        if n >= limit:
            return
        yield item


def _qualname(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _type_name(value: str | type) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, str) and value:
        return value
    raise ConfigError(f"trusted= expects type names ('module.Class') or classes, got {value!r}.")


def _no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        hint = " (trusted= applies to the 'skops' serializer)" if "trusted" in options else ""
        raise ConfigError(f"Serializer {name!r} takes no load options, got {sorted(options)}{hint}.")


def _require(module: str, extra: str | None) -> Any:
    package = module.split(".")[0]
    return require(module, extra=extra, purpose=f"The {package!r} serializer")
