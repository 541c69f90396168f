"""``check_serializer``: the contract the registry's serializers pass, runnable on a user's one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_kit.core.errors import InvalidNameError
from mlops_kit.core.names import check_name

__all__ = ["check_serializer"]

# Plain data every serializer must carry; pass examples= for the models yours is for.
_EXAMPLES: tuple[Any, ...] = (
    {"weights": [0.5, -1.25, 3.0], "bias": 0.0, "classes": ["no", "yes"], "fitted": True, "note": None},
    [1, 2, 3],
    "a model",
)


def check_serializer(serializer: Any, examples: Sequence[Any] | None = None) -> None:
    """Run the contract every serializer of the registry passes on ``serializer``.

    The serializer must have a valid ``name`` (what model versions record), ``dumps``
    must return bytes, and ``loads(dumps(obj))`` must equal ``obj``, twice from the
    same bytes (loading must not consume or depend on state). An optional
    ``library`` attribute must be a distribution name (a string).

    Parameters
    ----------
    serializer : object
        An object with ``name``, ``dumps(obj) -> bytes`` and ``loads(data, **options)``.
    examples : sequence, optional
        Objects to round-trip, compared with ``==`` (numpy arrays element-wise);
        default: plain Python data (dicts, lists, strings, numbers).

    Raises
    ------
    AssertionError
        If the serializer breaks the contract; the message says which part and how.

    Examples
    --------
    >>> from mlops_kit.registry import CloudpickleSerializer
    >>> from mlops_kit.testing import check_serializer
    >>> check_serializer(CloudpickleSerializer())
    """
    label = f"check_serializer({type(serializer).__name__})"
    for member in ("dumps", "loads"):
        if not callable(getattr(serializer, member, None)):
            raise AssertionError(f"{label}: the serializer has no {member}() method.")
    name = getattr(serializer, "name", None)
    try:
        check_name(name, "serializer name")
    except (InvalidNameError, TypeError) as exc:
        raise AssertionError(f"{label}: name must be a valid name string, got {name!r} ({exc}).") from exc
    library = getattr(serializer, "library", None)
    if library is not None and not (isinstance(library, str) and library):
        raise AssertionError(
            f"{label}: library must be a distribution name such as 'joblib', got {library!r}."
        )
    for index, obj in enumerate(_EXAMPLES if examples is None else examples):
        what = f"example {index} ({type(obj).__name__})"
        try:
            data = serializer.dumps(obj)
        except Exception as exc:
            raise AssertionError(f"{label}: dumps() of {what} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(data, bytes):
            raise AssertionError(
                f"{label}: dumps() of {what} returned {type(data).__name__}, expected bytes."
            )
        for attempt in ("first", "second"):
            try:
                loaded = serializer.loads(data)
            except Exception as exc:
                raise AssertionError(
                    f"{label}: the {attempt} loads() of {what} raised {type(exc).__name__}: {exc}"
                ) from exc
            if not _equal(loaded, obj):
                raise AssertionError(
                    f"{label}: the {attempt} loads(dumps(obj)) of {what} gave {loaded!r}, expected {obj!r}."
                )


def _equal(a: Any, b: Any) -> bool:
    if type(a).__module__ == "numpy" or type(b).__module__ == "numpy":
        import numpy as np

        return bool(type(a) is type(b) and np.array_equal(a, b))
    return bool(type(a) is type(b) and a == b)
