"""``@step``: a plain function whose parameter names are its inputs."""

from __future__ import annotations

import functools
import inspect
import keyword
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from mlops_kit.core.errors import PipelineError
from mlops_kit.core.names import check_name

__all__ = ["Step", "step"]

_NO_DEFAULT = inspect.Parameter.empty


class Step:
    """A function wrapped as a pipeline step; still callable as the plain function.

    Create steps with :func:`step`. A step's inputs are its parameter names: each
    one is resolved, when the pipeline runs, to an upstream step's output, a pipeline
    input, a run parameter, or the parameter's default.

    Attributes
    ----------
    func : callable
        The wrapped function.
    name : str
        The step's name (the function's name by default).
    inputs : tuple of str
        The parameter names, in order.
    defaults : Mapping
        The parameters that have defaults, with their default values.
    outputs : tuple of str
        The names of the values the step produces.
    retries : int
        How many times a failing call is retried.
    cache : bool
        Whether results may be cached.
    version : str or None
        A label that is part of the cache key: change it to invalidate the cache
        by hand.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        outputs: str | Sequence[str] | None = None,
        retries: int = 0,
        cache: bool = True,
        version: str | int | None = None,
    ) -> None:
        if isinstance(func, Step):
            func = func.__dict__["func"]
        if not callable(func):
            raise PipelineError(f"@step expects a function, got {func!r} ({type(func).__name__}).")
        self.func: Callable[..., Any] = func
        self.name = check_name(name if name is not None else getattr(func, "__name__", ""), "step name")
        self.inputs, self.defaults = _parameters(func, self.name)
        self.unpack_outputs = outputs is not None and not isinstance(outputs, str)
        self.outputs = _outputs(outputs, self.name)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise PipelineError(f"retries= of step {self.name!r} must be an integer >= 0, got {retries!r}.")
        if not isinstance(cache, bool):
            raise PipelineError(f"cache= of step {self.name!r} must be True or False, got {cache!r}.")
        if version is not None and (isinstance(version, bool) or not isinstance(version, str | int)):
            raise PipelineError(
                f"version= of step {self.name!r} must be a string or an integer, got {version!r}."
            )
        self.retries = retries
        self.cache = cache
        self.version = None if version is None else str(version)
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly (no caching, no run record)."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Step({self.name!r}, inputs={self.inputs}, outputs={self.outputs})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        code = getattr(self.func, "__code__", None)
        state["_source_file"] = code.co_filename if code is not None else None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        source_file = state.pop("_source_file", None)
        self.__dict__.update(state)
        # cloudpickle ships functions by value without their file name; put it back, so
        # that tracebacks from worker processes show the step's source lines.
        func = self.func
        if isinstance(func, types.FunctionType) and source_file and func.__code__.co_filename != source_file:
            func.__code__ = _with_filename(func.__code__, source_file)

    def split(self, result: Any) -> tuple[Any, ...]:
        """The step's return value as one value per output name."""
        if not self.unpack_outputs:
            return (result,)
        if isinstance(result, Mapping) and set(result) == set(self.outputs):
            return tuple(result[name] for name in self.outputs)
        if isinstance(result, tuple | list) and len(result) == len(self.outputs):
            return tuple(result)
        got = (
            f"{type(result).__name__} of length {len(result)}"
            if isinstance(result, tuple | list)
            else repr(type(result).__name__)
        )
        raise PipelineError(
            f"Step {self.name!r} declares outputs {self.outputs} and must return a tuple of "
            f"{len(self.outputs)} values (or a dict with those keys), but returned a {got}."
        )


@overload
def step(func: Callable[..., Any], /) -> Step: ...


@overload
def step(
    func: None = None,
    /,
    *,
    name: str | None = None,
    outputs: str | Sequence[str] | None = None,
    retries: int = 0,
    cache: bool = True,
    version: str | int | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


@overload
def step(
    func: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    outputs: str | Sequence[str] | None = None,
    retries: int = 0,
    cache: bool = True,
    version: str | int | None = None,
) -> Step: ...


def step(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    outputs: str | Sequence[str] | None = None,
    retries: int = 0,
    cache: bool = True,
    version: str | int | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a function a pipeline step: ``@step`` or ``@step(outputs=..., ...)``.

    The step's inputs are its parameter names. Each resolves, in a
    :class:`Pipeline`, to the output of the step that produces that name, else a
    pipeline input, else a run parameter, else the parameter's default. The step's
    output is named after the step (the function's name unless ``name=`` says
    otherwise); ``outputs=`` renames it, and a tuple of names unpacks a returned
    tuple (or dict) into several outputs. The decorated function stays callable as
    a plain function.

    Parameters
    ----------
    func : callable
        The function (when used as ``@step`` without parentheses).
    name : str, optional
        The step's name; defaults to the function's name.
    outputs : str or tuple of str, optional
        One output name, or several names for a step that returns a tuple.
    retries : int
        Retry a failing call this many times (on Dask, as task retries).
    cache : bool
        ``False`` never caches this step (for steps with side effects or
        randomness you want fresh each run).
    version : str or int, optional
        Part of the cache key; bump it to force a re-run when something the code
        fingerprint cannot see (a file, a database) has changed.

    Returns
    -------
    Step
        The step (or a decorator making one).

    Raises
    ------
    PipelineError
        If the function takes ``*args``/``**kwargs`` or positional-only
        parameters, or an option is invalid.
    InvalidNameError
        If the step name is invalid.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> @mk.step(outputs=("low", "high"))
    ... def split(double: int, cut: int = 5):
    ...     return min(double, cut), max(double, cut)
    >>> double
    Step('double', inputs=('x',), outputs=('double',))
    >>> split
    Step('split', inputs=('double', 'cut'), outputs=('low', 'high'))
    >>> double(21)  # still a plain function
    42
    """
    options: dict[str, Any] = {
        "name": name,
        "outputs": outputs,
        "retries": retries,
        "cache": cache,
        "version": version,
    }
    if func is None:
        return lambda f: Step(f, **options)
    return Step(func, **options)


def _with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    consts = tuple(
        _with_filename(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


def _parameters(func: Callable[..., Any], name: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"Cannot read the parameters of step {name!r}: {exc}") from exc
    inputs, defaults = [], {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise PipelineError(
                f"Step {name!r} takes {param}: a step's inputs are its named parameters, so "
                "*args and **kwargs cannot be resolved. Name each input as a parameter."
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise PipelineError(
                f"Step {name!r} has the positional-only parameter {param.name!r}; steps are called "
                "with keyword arguments. Remove the '/' from its signature."
            )
        inputs.append(param.name)
        if param.default is not _NO_DEFAULT:
            defaults[param.name] = param.default
    return tuple(inputs), defaults


def _outputs(outputs: str | Sequence[str] | None, name: str) -> tuple[str, ...]:
    if outputs is None:
        names: tuple[Any, ...] = (name,)
    elif isinstance(outputs, str):
        names = (outputs,)
    elif isinstance(outputs, Sequence) and outputs:
        names = tuple(outputs)
    else:
        raise PipelineError(
            f"outputs= of step {name!r} must be a name or a non-empty tuple of names, got {outputs!r}."
        )
    for out in names:
        if not isinstance(out, str) or not out.isidentifier() or keyword.iskeyword(out):
            raise PipelineError(
                f"Output {out!r} of step {name!r} is not a valid name: outputs are matched to "
                "parameter names, so they must be Python identifiers."
            )
    if len(set(names)) != len(names):
        raise PipelineError(f"Step {name!r} lists an output twice in outputs={names}.")
    return names
