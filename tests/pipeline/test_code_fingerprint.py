"""Code fingerprints: formatting-blind, body-sensitive, and transitive over the user's own helpers."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from mlops_kit.pipeline._codefp import code_fingerprint, is_user_module


@pytest.fixture
def make_module(tmp_path: Path) -> Callable[[str], ModuleType]:
    """Import source text as a fresh user module (a file outside site-packages)."""
    created: list[str] = []

    def make(source: str) -> ModuleType:
        name = f"user_mod_{uuid.uuid4().hex}"
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        created.append(name)
        return module

    yield make  # type: ignore[misc]
    for name in created:
        sys.modules.pop(name, None)


def fp(module: ModuleType, name: str = "f") -> str:
    return code_fingerprint(getattr(module, name))


def test_comments_docstrings_formatting_hints_and_decorators_do_not_count(make_module) -> None:
    a = make_module(
        """
        import mlops_kit as mk

        def f(x, y=2):
            return x + y
        """
    )
    b = make_module(
        '''
        import mlops_kit as mk

        @mk.step(outputs="z", version=None)
        def f(x: int,
              y: int = 2) -> int:
            """Adds."""
            # a comment
            return (x +
                    y)
        '''
    )
    assert fp(a) == code_fingerprint(b.f.func)


@pytest.mark.parametrize(
    "changed",
    [
        "def f(x, y=2):\n    return x - y\n",  # the body
        "def f(x, y=3):\n    return x + y\n",  # a default
        "def f(x, z=2):\n    return x + z\n",  # a parameter name
    ],
)
def test_body_changes_count(make_module, changed: str) -> None:
    base = make_module("def f(x, y=2):\n    return x + y\n")
    assert fp(base) != fp(make_module(changed))


def test_helpers_count_transitively(make_module) -> None:
    template = """
        SCALE = {scale}

        def inner(x):
            return x * SCALE

        def helper(x):
            return inner(x) + 1

        def f(x):
            return [helper(v) for v in x]
        """
    one, same, other = (make_module(template.format(scale=s)) for s in (2, 2, 3))
    assert fp(one) == fp(same)
    assert fp(one) != fp(other)  # a constant two calls away changed
    edited = make_module(template.format(scale=2).replace("x * SCALE", "x * SCALE * 1"))
    assert fp(one) != fp(edited)  # a helper's body changed


def test_a_helper_redefined_at_runtime_is_noticed(make_module) -> None:
    module = make_module(
        """
        def helper(x):
            return x

        def f(x):
            return helper(x)
        """
    )
    before = fp(module)
    exec("def helper(x):\n    return -x\n", module.__dict__)  # what re-running a notebook cell does
    assert fp(module) != before


def test_helpers_reached_through_a_user_module_attribute(make_module) -> None:
    helpers_v1 = make_module("def clean(x):\n    return x\n\ndef unused():\n    return 1\n")
    helpers_v2 = make_module("def clean(x):\n    return x.strip()\n\ndef unused():\n    return 1\n")
    helpers_v3 = make_module("def clean(x):\n    return x\n\ndef unused():\n    return 2\n")
    user = make_module("def f(x):\n    return helpers.clean(x)\n")
    prints = []
    for helpers in (helpers_v1, helpers_v2, helpers_v3):
        user.helpers = helpers
        prints.append(fp(user))
    assert prints[0] != prints[1]
    # An unused function of the module does not count, nor does the module's name.
    assert prints[0] == prints[2]


def test_closures_count(make_module) -> None:
    module = make_module(
        """
        def make(k):
            def f(x):
                return x * k
            return f
        """
    )
    assert code_fingerprint(module.make(2)) == code_fingerprint(module.make(2))
    assert code_fingerprint(module.make(2)) != code_fingerprint(module.make(3))


def test_user_classes_count_by_their_methods(make_module) -> None:
    template = """
        class Scaler:
            factor = 2

            def apply(self, x):
                return x * {expr}

        def f(x):
            return Scaler().apply(x)
        """
    assert fp(make_module(template.format(expr="self.factor"))) == fp(
        make_module(template.format(expr="self.factor"))
    )
    assert fp(make_module(template.format(expr="self.factor"))) != fp(make_module(template.format(expr="3")))


def test_library_code_counts_by_name_only(make_module) -> None:
    a = make_module(
        "import json\nimport numpy as np\n\ndef f(x):\n    return np.sum(x) + len(json.dumps(x))\n"
    )
    b = make_module(
        "import json\nimport numpy as np\n\ndef f(x):\n    return np.sum(x) + len(json.dumps(x))\n"
    )
    assert fp(a) == fp(b)
    assert is_user_module(a.__name__)
    assert not is_user_module("numpy")
    assert not is_user_module("json")
    assert not is_user_module("mlops_kit.pipeline")
    assert is_user_module("__main__")


def test_global_data_counts_by_content(make_module) -> None:
    module = make_module("import numpy as np\nTABLE = np.arange(3)\n\ndef f(i):\n    return TABLE[i]\n")
    before = fp(module)
    module.TABLE = module.np.arange(4)
    assert fp(module) != before


def test_recursion_terminates(make_module) -> None:
    module = make_module(
        """
        def even(n):
            return n == 0 or odd(n - 1)

        def odd(n):
            return n != 0 and even(n - 1)

        def f(n):
            return even(n)
        """
    )
    assert fp(module) == fp(module)


def test_functions_without_source_fall_back_to_bytecode() -> None:
    scope_a: dict[str, object] = {}
    scope_b: dict[str, object] = {}
    exec("def f(x):\n    return x + 1\n", scope_a)
    exec("def f(x):\n    return x + 2\n", scope_b)
    assert code_fingerprint(scope_a["f"]) != code_fingerprint(scope_b["f"])  # type: ignore[arg-type]
    assert code_fingerprint(scope_a["f"]) == code_fingerprint(scope_a["f"])  # type: ignore[arg-type]
