"""@step: inputs from parameter names, outputs, options, and plain calls."""

from __future__ import annotations

import pytest

import mlops_kit as mk
from mlops_kit.pipeline import Step


def test_bare_decorator_names_the_output_after_the_function() -> None:
    @mk.step
    def features(raw: list, scale: float = 2.0) -> list:
        """Docstring kept."""
        return [scale * x for x in raw]

    assert isinstance(features, Step)
    assert features.name == "features"
    assert features.inputs == ("raw", "scale")
    assert features.defaults == {"scale": 2.0}
    assert features.outputs == ("features",)
    assert features.__doc__ == "Docstring kept."
    assert features([1, 2]) == [2.0, 4.0]  # still a plain function


def test_decorator_with_options() -> None:
    @mk.step(outputs=("model", "score"), name="fit", retries=2, cache=False, version=3)
    def train(features: list):
        return "m", 0.5

    assert (train.name, train.outputs, train.retries, train.cache, train.version) == (
        "fit",
        ("model", "score"),
        2,
        False,
        "3",
    )
    assert train.split(train([1])) == ("m", 0.5)
    assert train.split({"score": 1, "model": 2}) == (2, 1)


def test_a_single_output_name_is_not_unpacked() -> None:
    pair = mk.step(lambda x: (x, x), name="pair", outputs="pair_value")
    assert pair.outputs == ("pair_value",)
    assert pair.split(pair(1)) == ((1, 1),)


def test_step_of_a_step_rewraps_the_function() -> None:
    @mk.step
    def double(x: int) -> int:
        return 2 * x

    again = mk.step(double, name="double_again", outputs="y")
    assert again.func is double.func
    assert (again.name, again.outputs) == ("double_again", ("y",))


def test_wrong_number_of_returned_values_names_the_step() -> None:
    @mk.step(outputs=("a", "b"))
    def two():
        return 1, 2, 3

    with pytest.raises(
        mk.PipelineError, match=r"Step 'two' declares outputs \('a', 'b'\).*tuple of length 3"
    ):
        two.split(two())
    with pytest.raises(mk.PipelineError, match="returned a 'int'"):
        two.split(5)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(*args): pass", r"takes \*args"),
        ("def f(**kw): pass", r"takes \*\*kw"),
        ("def f(x, /): pass", "positional-only parameter 'x'"),
    ],
)
def test_unresolvable_signatures_are_rejected(source: str, message: str) -> None:
    scope: dict[str, object] = {}
    exec(source, scope)
    with pytest.raises(mk.PipelineError, match=message):
        mk.step(scope["f"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"outputs": ("a", "a")}, "lists an output twice"),
        ({"outputs": ("not valid",)}, "Output 'not valid' of step 'f' is not a valid name"),
        ({"outputs": ("class",)}, "is not a valid name"),
        ({"outputs": ()}, "non-empty tuple"),
        ({"retries": -1}, "retries= of step 'f' must be an integer >= 0"),
        ({"retries": True}, "retries="),
        ({"cache": "yes"}, "cache= of step 'f' must be True or False"),
        ({"version": 1.5}, "version= of step 'f'"),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, object], message: str) -> None:
    def f(x):
        return x

    with pytest.raises(mk.PipelineError, match=message):
        mk.step(**options)(f)  # type: ignore[call-overload]


def test_invalid_step_names_and_non_callables() -> None:
    with pytest.raises(mk.InvalidNameError, match=r"Invalid step name '\.\./x'"):
        mk.step(lambda x: x, name="../x")
    with pytest.raises(mk.PipelineError, match="@step expects a function, got 42"):
        mk.step(42)  # type: ignore[call-overload]


def test_repr_lists_inputs_and_outputs() -> None:
    @mk.step(outputs=("lo", "hi"))
    def split(values: list, cut: int = 5):
        return values, values

    assert repr(split) == "Step('split', inputs=('values', 'cut'), outputs=('lo', 'hi'))"
