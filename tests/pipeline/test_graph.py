"""The DAG: inferred from names, order-independent, validated before any step runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import mlops_kit as mk

CALLS: list[str] = []


@mk.step
def load(path: str) -> list:
    CALLS.append("load")
    return [1, 2, 3]


@mk.step
def clean(load: list, threshold: int = 1) -> list:
    CALLS.append("clean")
    return [x for x in load if x > threshold]


@mk.step(outputs=("total", "count"))
def summarize(clean: list):
    CALLS.append("summarize")
    return sum(clean), len(clean)


@mk.step
def report(total: int, count: int, label: str = "r") -> str:
    CALLS.append("report")
    return f"{label}:{total}/{count}"


def run(pipe: mk.Pipeline, **kwargs: object) -> mk.RunRecord:
    return pipe.run(storage=mk.MemoryStorage(), progress=False, **kwargs)  # type: ignore[arg-type]


def test_order_given_does_not_matter() -> None:
    pipe = mk.Pipeline([report, summarize, clean, load], name="p")
    assert [s.name for s in pipe.steps] == ["load", "clean", "summarize", "report"]
    CALLS.clear()
    result = run(pipe, inputs={"path": "x"})
    assert CALLS == ["load", "clean", "summarize", "report"]
    assert result.outputs["report"] == "r:5/2"
    assert pipe.inputs == ["path"]
    assert pipe.params == {"threshold": 1, "label": "r"}
    assert pipe.outputs == ["load", "clean", "total", "count", "report"]


def test_plain_functions_are_wrapped_and_a_single_step_is_accepted() -> None:
    def double(x: int) -> int:
        return 2 * x

    assert run(mk.Pipeline([double]), inputs={"x": 2}).outputs["double"] == 4
    assert run(mk.Pipeline(load), inputs={"path": "p"}).outputs["load"] == [1, 2, 3]


def test_duplicate_outputs_name_both_steps() -> None:
    other = mk.step(lambda path: [], name="other", outputs="load")
    with pytest.raises(
        mk.PipelineError, match=r"Output 'load' is produced by both step 'load' and step 'other'"
    ):
        mk.Pipeline([load, other])


def test_duplicate_step_names() -> None:
    with pytest.raises(mk.PipelineError, match="Two steps are named 'load'"):
        mk.Pipeline([load, mk.step(load.func, outputs="again")])


def test_cycles_are_reported_with_their_path() -> None:
    a = mk.step(lambda c: c, name="a", outputs="a_out")
    b = mk.step(lambda a_out: a_out, name="b", outputs="b_out")
    c = mk.step(lambda b_out: b_out, name="c", outputs="c")
    with pytest.raises(mk.PipelineError) as info:
        mk.Pipeline([a, b, c, load])
    message = str(info.value)
    assert "Steps form a cycle: " in message
    assert "a -> b -> c -> a" in message or "b -> c -> a -> b" in message or "c -> a -> b -> c" in message
    assert "'b' needs ['a_out'] from 'a'" in message


def test_a_step_consuming_its_own_output_is_a_cycle() -> None:
    loop = mk.step(lambda loop: loop, name="loop")
    with pytest.raises(mk.PipelineError, match="Steps form a cycle: loop -> loop"):
        mk.Pipeline([loop])


def test_empty_and_invalid_step_lists() -> None:
    with pytest.raises(mk.PipelineError, match="at least one step"):
        mk.Pipeline([])
    with pytest.raises(mk.PipelineError, match="decorated with @step, got 3"):
        mk.Pipeline([load, 3])  # type: ignore[list-item]
    with pytest.raises(mk.InvalidNameError):
        mk.Pipeline([load], name="bad name")


def test_missing_inputs_are_listed_before_any_step_runs() -> None:
    pipe = mk.Pipeline([load, clean, summarize, report])
    CALLS.clear()
    with pytest.raises(mk.PipelineError) as info:
        run(pipe)
    message = str(info.value)
    assert "Missing inputs: step 'load' needs 'path'" in message
    assert "Inputs the steps take: ['path']" in message
    assert "parameters with defaults: ['label', 'threshold']" in message
    assert CALLS == []


def test_unknown_params_and_inputs_list_what_is_available() -> None:
    pipe = mk.Pipeline([load, clean])
    with pytest.raises(
        mk.PipelineError,
        match=r"Unknown param 'treshold': no step takes.*parameters with defaults: \['threshold'\]",
    ):
        run(pipe, inputs={"path": "p"}, params={"treshold": 3})
    with pytest.raises(mk.PipelineError, match="Unknown input 'pth'"):
        run(pipe, inputs={"path": "p", "pth": 1})
    with pytest.raises(mk.PipelineError, match="Unknown input 'clean': it is the output of step 'clean'"):
        run(pipe, inputs={"path": "p", "clean": []})
    with pytest.raises(mk.PipelineError, match=r"\['path'\] given both in inputs= and params="):
        run(pipe, inputs={"path": "p"}, params={"path": "q"})
    with pytest.raises(mk.PipelineError, match="inputs= must be a dict"):
        run(pipe, inputs=[("path", "p")])
    assert pipe.runs(mk.MemoryStorage()) == []


def test_params_override_defaults_and_are_recorded() -> None:
    pipe = mk.Pipeline([load, clean, summarize, report])
    result = run(pipe, inputs={"path": "p"}, params={"threshold": 2})
    assert result.outputs["clean"] == [3]
    assert dict(result.params) == {"threshold": 2, "label": "r"}


def test_conflicting_defaults_are_recorded_per_step() -> None:
    first = mk.step(lambda seed=1: seed, name="first")
    second = mk.step(lambda first, seed=2: first + seed, name="second")
    result = run(mk.Pipeline([first, second]))
    assert result.outputs["second"] == 3
    assert dict(result.params) == {"first.seed": 1, "second.seed": 2}
    assert dict(run(mk.Pipeline([first, second]), params={"seed": 5}).params) == {"seed": 5}


def test_describe() -> None:
    text = mk.Pipeline([report, summarize, clean, load], name="demo").describe()
    assert text.splitlines() == [
        "Pipeline 'demo': 4 steps",
        "  inputs: path",
        "  params: threshold=1, label='r'",
        "  1. load(path) -> load",
        "  2. clean(load, threshold) -> clean",
        "  3. summarize(clean) -> total, count",
        "  4. report(total, count, label) -> report",
    ]


def test_mermaid_has_every_node_and_edge() -> None:
    text = mk.Pipeline([report, summarize, clean, load], name="demo").to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  v0(["path"])' in lines
    assert '  v1[/"threshold = 1"/]' in lines
    assert '  v2[/"label = #quot;r#quot;"/]' not in lines  # repr uses single quotes
    assert "  v2[/\"label = 'r'\"/]" in lines
    assert '  s2 -->|"total"| s3' in lines
    assert '  o0(["report"])' in lines
    assert len([line for line in lines if "-->" in line]) == 8


def test_svg_is_well_formed_and_escapes_labels() -> None:
    weird = mk.step(lambda path: path, name="a_b", outputs="x")
    pipe = mk.Pipeline([report, summarize, clean, load, weird])
    svg = pipe.to_svg()
    root = ET.fromstring(svg)  # raises on malformed XML
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    for name in ("load", "clean", "summarize", "report", "path", "a_b", "threshold = 1", "label = 'r'"):
        assert name in texts
    assert "→ total, count" in texts
    assert len(list(root.iter(f"{ns}path"))) == 1 + 9  # the arrow marker + one curve per edge
    assert pipe._repr_html_().startswith("<div><b>Pipeline pipeline</b><br><svg")


def test_svg_escapes_markup_in_defaults() -> None:
    tricky = mk.step(lambda x, tag="<b>&": x, name="tricky")
    root = ET.fromstring(mk.Pipeline([tricky]).to_svg())
    assert "tag = '<b>&'" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
