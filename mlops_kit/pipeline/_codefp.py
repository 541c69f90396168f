"""Code fingerprints: what a step's result depends on besides its inputs.

A step's fingerprint covers its normalized syntax tree (comments, docstrings,
formatting, decorators and type hints do not count) and, transitively, the user's
own helpers that it references: functions, classes and constants of modules that
are not part of the standard library or installed packages, found through the
function's globals and closure. Module-level values count by content when they
look like configuration (numbers, strings, tuples, lists, dicts, sets, enums,
dataclasses, pydantic models, numpy arrays, pandas objects); any other object
(a counter, a cache, a client) is state and counts by its type only. Library
objects count by name only, so upgrading pandas does not invalidate every cache,
while editing a helper in your own module does.

Parsing is the expensive part and happens once per code object per process;
resolving the referenced names is cheap and happens on every run, so redefining a
helper or a constant in a notebook is noticed.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import hashlib
import inspect
import os
import site
import sys
import sysconfig
import textwrap
import threading
import types
from collections.abc import Callable
from typing import Any

from mlops_kit.pipeline._datafp import fingerprint as data_fingerprint

__all__ = ["code_fingerprint", "is_user_module"]

_SIMPLE = (type(None), bool, int, float, complex, str, bytes)
_lock = threading.Lock()
_code_cache: dict[int, tuple[types.CodeType, str, frozenset[str]]] = {}


def code_fingerprint(func: Callable[..., Any], memo: dict[int, str] | None = None) -> str:
    """The sha256 fingerprint of ``func``'s code and the user code it references.

    ``memo`` is shared by the steps of one run, so common helpers are resolved once.

    Examples
    --------
    >>> def f(x):
    ...     return x + 1
    >>> def g(x):
    ...     '''Same code, a docstring and a comment.'''
    ...     return x + 1  # increment
    >>> code_fingerprint(f)[:8] == code_fingerprint(g)[:8]
    False
    """
    return _Resolver(memo if memo is not None else {}).function(func)


class _Resolver:
    def __init__(self, memo: dict[int, str]) -> None:
        self.memo = memo
        self.keep: list[Any] = []  # objects whose id() is in memo stay alive meanwhile

    def function(self, func: Any) -> str:
        func = _unwrap(func)
        key = id(func)
        known = self.memo.get(key)
        if known is not None:
            return known
        self.memo[key] = f"recursive:{getattr(func, '__qualname__', '?')}"
        self.keep.append(func)
        code = getattr(func, "__code__", None)
        # A callable object (no __code__) counts by its class.
        digest = self.value(type(func), frozenset()) if code is None else self._resolve_function(func, code)
        self.memo[key] = digest
        return digest

    def _resolve_function(self, func: types.FunctionType, code: types.CodeType) -> str:
        syntax, names = _syntax(func, code)
        h = hashlib.sha256(syntax.encode())
        scope = getattr(func, "__globals__", {})
        for name in sorted(names):
            if name in scope:
                h.update(f"\0g:{name}=".encode() + self.value(scope[name], names).encode())
        for name, cell in zip(code.co_freevars, func.__closure__ or ()):
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell: the variable was never bound
                continue
            h.update(f"\0c:{name}=".encode() + self.value(content, names).encode())
        return h.hexdigest()

    def value(self, value: Any, names: frozenset[str]) -> str:
        """A token for one referenced object; ``names`` are the attribute names in use."""
        if isinstance(value, _SIMPLE):
            return f"{type(value).__name__}:{value!r}"
        if _is_step(value):
            value = value.func
        if isinstance(value, types.ModuleType):
            return self._module(value, names)
        if isinstance(value, functools.partial):
            arguments = data_fingerprint((value.args, value.keywords)) or "unfingerprintable"
            return "partial:" + self.value(value.func, names) + ":" + arguments
        if isinstance(value, types.FunctionType | types.MethodType | type):
            module = getattr(value, "__module__", None)
            if not is_user_module(module):
                return f"lib:{module}.{value.__qualname__}"
            return self._class(value) if isinstance(value, type) else self.function(value)
        if not is_user_module(type(value).__module__) and callable(value) and hasattr(value, "__qualname__"):
            return f"lib:{type(value).__module__}.{value.__qualname__}"  # builtins, ufuncs
        if _is_constant_like(value):
            return "data:" + (data_fingerprint(value) or f"unfingerprintable {type(value).__qualname__}")
        # Other objects (counters, caches, clients, loggers) are state, not constants: their
        # content changes at run time and would defeat the cache, so only their type counts.
        return f"object:{type(value).__module__}.{type(value).__qualname__}"

    def _module(self, module: types.ModuleType, names: frozenset[str]) -> str:
        if not is_user_module(module.__name__):
            return f"module:{module.__name__}"
        parts = ["module"]  # its name does not count: what the code uses from it does
        for name in sorted(names):  # the attributes this code may use: helpers.clean -> "clean"
            attr = module.__dict__.get(name, _MISSING)
            if attr is not _MISSING and not isinstance(attr, types.ModuleType):
                parts.append(f"{name}=" + self.value(attr, frozenset()))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def _class(self, cls: type) -> str:
        key = id(cls)
        known = self.memo.get(key)
        if known is not None:
            return known
        self.memo[key] = f"recursive:{cls.__qualname__}"
        self.keep.append(cls)
        h = hashlib.sha256(b"class:" + cls.__qualname__.encode())
        for name, attr in sorted(vars(cls).items()):
            raw = attr.__func__ if isinstance(attr, staticmethod | classmethod) else attr
            if isinstance(raw, property):
                raw = raw.fget
            if isinstance(raw, types.FunctionType):
                h.update(f"\0{name}=".encode() + self.function(raw).encode())
            elif isinstance(raw, _SIMPLE) and not (name.startswith("__") and name.endswith("__")):
                h.update(f"\0{name}={raw!r}".encode())
        for base in cls.__bases__:
            if base is not object:
                h.update(b"\0base=" + self.value(base, frozenset()).encode())
        digest = h.hexdigest()
        self.memo[key] = digest
        return digest


_MISSING = object()
_CONTAINERS = (tuple, frozenset, list, dict, set)


def _is_constant_like(value: Any) -> bool:
    """Values a module defines as configuration or lookup tables, which count by content."""
    cls = type(value)
    if cls in _CONTAINERS or isinstance(value, enum.Enum) or dataclasses.is_dataclass(value):
        return True
    module = cls.__module__.partition(".")[0]
    if module in ("numpy", "pandas"):
        return True
    return "pydantic" in sys.modules and _is_pydantic(value)


def _is_pydantic(value: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(value, BaseModel)


def _is_step(value: Any) -> bool:
    from mlops_kit.pipeline._step import Step

    return isinstance(value, Step)


def _unwrap(func: Any) -> Any:
    while _is_step(func):
        func = func.func
    return func


def _syntax(func: types.FunctionType, code: types.CodeType) -> tuple[str, frozenset[str]]:
    """The normalized syntax digest of a function and the global names its code uses (cached)."""
    with _lock:
        cached = _code_cache.get(id(code))
    if cached is not None and cached[0] is code:
        return cached[1], cached[2]
    names = frozenset(_global_names(code))
    digest = _ast_digest(func) or _bytecode_digest(code)
    with _lock:
        _code_cache[id(code)] = (code, digest, names)
    return digest, names


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):  # nested functions, lambdas, comprehensions
            names |= _global_names(const)
    return names


def _ast_digest(func: types.FunctionType) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None  # no source (exec, some REPLs) or a lambda inside a larger expression
    target: ast.AST = tree
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        target = tree.body[0]
        target.decorator_list = []  # @step(...) options are keyed separately
    _Normalizer().visit(target)
    return "ast:" + hashlib.sha256(ast.dump(target, annotate_fields=False).encode()).hexdigest()


class _Normalizer(ast.NodeTransformer):
    """Drop what does not change behaviour: docstrings and type hints."""

    def _strip_docstring(self, node: Any) -> Any:
        body = node.body
        first = body[0] if body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node.returns = None
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            arg.annotation = None
        for star in (node.args.vararg, node.args.kwarg):
            if star is not None:
                star.annotation = None
        self.generic_visit(node)
        return self._strip_docstring(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.generic_visit(node)
        return self._strip_docstring(node)


def _bytecode_digest(code: types.CodeType) -> str:
    h = hashlib.sha256(b"bytecode:" + sys.version.encode())

    def feed(c: types.CodeType) -> None:
        h.update(c.co_code + repr((c.co_names, c.co_varnames, c.co_freevars, c.co_argcount)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                feed(const)
            else:
                h.update(repr(const).encode())

    feed(code)
    return h.hexdigest()


@functools.cache
def _library_roots() -> tuple[str, ...]:
    roots = set()
    for scheme_key in ("stdlib", "platstdlib", "purelib", "platlib"):
        for base in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
            path = sysconfig.get_path(scheme_key, vars={"base": base, "platbase": base})
            if path:
                roots.add(os.path.realpath(path))
    try:
        roots.update(os.path.realpath(p) for p in site.getsitepackages())
    except AttributeError:  # some embedded interpreters have no site.getsitepackages
        pass
    roots.add(os.path.realpath(site.getusersitepackages()))
    return tuple(sorted(root + os.sep for root in roots))


@functools.cache
def is_user_module(name: str | None) -> bool:
    """Whether module ``name`` is the user's own code (not stdlib, not installed, not mlops_kit)."""
    if not name:
        return True  # code made by exec() and the like
    top = name.partition(".")[0]
    if top == "mlops_kit":
        return False
    if top == "__main__":
        return True
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if not path:
        return False  # builtin and frozen modules
    real = os.path.realpath(path)
    return not real.startswith(_library_roots())
