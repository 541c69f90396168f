"""What a backend's hooks must return, checked on every call.

A hook that returns the wrong thing (a ``_create`` that forgets ``return True``, a
``_read`` that returns ``str``) would otherwise be misread far from the bug: a create
that "lost" every race makes log appends retry without end. The public methods pass
each hook's result through :func:`check_result`, which fails at once with a
:class:`~mlops_kit.StorageError` naming the backend class, the hook and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import StorageError

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["HOOK_RESULTS", "check_result"]


def _is_bytes(value: object) -> bool:
    return isinstance(value, bytes | bytearray | memoryview)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_keys(value: object) -> bool:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        return False
    return all(isinstance(k, str) for k in value)


def _is_file(value: object) -> bool:
    return callable(getattr(value, "read", None)) and callable(getattr(value, "close", None))


def _is_none(value: object) -> bool:
    return value is None


def _is_folder(value: object) -> bool:
    return value is None or isinstance(value, str)


_NONE_HOOKS = ("_write", "_write_hint", "_delete", "_write_file", "_read_file")

# hook name -> (what it must return, in words; the check)
HOOK_RESULTS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "_read": ("the stored bytes (raise NotFoundError or FileNotFoundError if the key is absent)", _is_bytes),
    "_create": ("True if it stored the value, False if the key already existed", _is_bool),
    "_exists": ("True or False", _is_bool),
    "_list": ("a list of the keys (str) under the prefix", _is_keys),
    "_open": ("a readable binary file object", _is_file),
    "_staging_dir": ("a local folder path (str) or None", _is_folder),
    **dict.fromkeys(_NONE_HOOKS, ("None", _is_none)),
}


# The exact type of the usual right answer: one type check, on the hot path of every call.
_USUAL = {"_read": bytes, "_create": bool, "_exists": bool, **dict.fromkeys(_NONE_HOOKS, type(None))}


def check_result(storage: Storage, hook: str, result: Any) -> Any:
    """Return ``result`` if it is what ``hook`` must return; else raise :class:`StorageError`.

    ``_read``'s bytes-like results come back as ``bytes``, ``_list``'s as a list.
    """
    if type(result) is _USUAL.get(hook):
        return result
    expected, ok = HOOK_RESULTS[hook]
    if not ok(result):
        cls = type(storage).__qualname__
        raise StorageError(
            f"{cls}.{hook} returned {_shown(result)}; a {hook} hook must return {expected}. "
            f"Fix {cls}.{hook} (see the hook table in help(mlops_kit.Storage)), then run "
            "mlops_kit.testing.StorageContract on the backend."
        )
    if hook == "_read" and not isinstance(result, bytes):
        return bytes(result)
    if hook == "_list" and not isinstance(result, list):
        return list(result)
    return result


def _shown(value: object) -> str:
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}..." if len(text) > 60 else f"{type(value).__name__} {text}"
