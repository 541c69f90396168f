"""Pictures of a pipeline: a text summary, a Mermaid flowchart, and an SVG drawn here.

The SVG uses a simple layered layout (each step one column right of its latest
upstream step, inputs and params just left of their first user, final outputs on
the right), so notebooks can show a pipeline without Graphviz.
"""

from __future__ import annotations

from html import escape
from typing import Any

from mlops_kit.pipeline._graph import Graph

__all__ = ["describe", "to_mermaid", "to_svg"]

_NODE_W, _NODE_H, _GAP_X, _GAP_Y, _MARGIN = 150, 40, 60, 18, 12
_STYLE = {
    "input": ('fill="#f3f3f3" stroke="#777"', 20),
    "param": ('fill="#fff8e6" stroke="#c99a00" stroke-dasharray="4 3"', 20),
    "step": ('fill="#eef4ff" stroke="#4063d8"', 6),
    "output": ('fill="#eefaf0" stroke="#2e8b57"', 20),
}


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(name: str, graph: Graph) -> str:
    """A text summary of the pipeline."""
    params = graph.parameters()
    lines = [
        f"Pipeline {name!r}: {len(graph.order)} step{'s' if len(graph.order) != 1 else ''}",
        f"  inputs: {', '.join(graph.required_inputs()) or 'none'}",
        f"  params: {', '.join(f'{k}={_short(repr(v))}' for k, v in params.items()) or 'none'}",
    ]
    for i, s in enumerate(graph.order, 1):
        lines.append(f"  {i}. {s.name}({', '.join(s.inputs)}) -> {', '.join(s.outputs)}")
    return "\n".join(lines)


def _quote(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(graph: Graph) -> str:
    """A Mermaid ``flowchart LR`` of the pipeline."""
    params = graph.parameters()
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for i, value in enumerate(graph.free):
        ids[value] = f"v{i}"
        if value in params:
            lines.append(f"  v{i}[/{_quote(f'{value} = {_short(repr(params[value]), 24)}')}/]")
        else:
            lines.append(f"  v{i}([{_quote(value)}])")
    for i, s in enumerate(graph.order):
        ids[s.name] = f"s{i}"
        lines.append(f"  s{i}[{_quote(s.name)}]")
    for s in graph.order:
        for p in s.inputs:
            if p in graph.producer:
                lines.append(f"  {ids[graph.producer[p]]} -->|{_quote(p)}| {ids[s.name]}")
            else:
                lines.append(f"  {ids[p]} --> {ids[s.name]}")
    consumed = {p for s in graph.order for p in s.inputs}
    finals = [(out, s.name) for s in graph.order for out in s.outputs if out not in consumed]
    for i, (out, producer) in enumerate(finals):
        lines.append(f"  o{i}([{_quote(out)}])")
        lines.append(f"  {ids[producer]} --> o{i}")
    return "\n".join(lines)


def to_svg(graph: Graph) -> str:
    """An SVG drawing of the pipeline."""
    params = graph.parameters()
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    for s in graph.order:
        layer = 1 + max((nodes[f"s:{d}"]["layer"] for d in graph.deps[s.name]), default=0)
        sub = ", ".join(s.outputs) if s.outputs != (s.name,) else ""
        nodes[f"s:{s.name}"] = {"kind": "step", "label": s.name, "sub": sub, "layer": layer, "title": repr(s)}
        for p in s.inputs:
            edges.append((f"s:{graph.producer[p]}" if p in graph.producer else f"v:{p}", f"s:{s.name}"))
    for value, users in graph.free.items():
        # Just left of its first user, so that the edges stay short.
        kind = "param" if value in params else "input"
        label = f"{value} = {_short(repr(params[value]), 10)}" if kind == "param" else value
        layer = min(nodes[f"s:{u}"]["layer"] for u in users) - 1
        nodes[f"v:{value}"] = {"kind": kind, "label": label, "layer": layer, "title": label}
    consumed = {p for s in graph.order for p in s.inputs}
    for s in graph.order:
        for out in s.outputs:
            if out not in consumed:
                nodes[f"o:{out}"] = {
                    "kind": "output",
                    "label": out,
                    "layer": nodes[f"s:{s.name}"]["layer"] + 1,
                }
                nodes[f"o:{out}"]["title"] = f"output {out} of {s.name}"
                edges.append((f"s:{s.name}", f"o:{out}"))
    _place(nodes, edges)
    width = max(n["x"] for n in nodes.values()) + _NODE_W + _MARGIN
    height = max(n["y"] for n in nodes.values()) + _NODE_H + _MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" role="img">',
        '<defs><marker id="mk-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
    ]
    for src, dst in dict.fromkeys(edges):
        a, b = nodes[src], nodes[dst]
        x1, y1 = a["x"] + _NODE_W, a["y"] + _NODE_H / 2
        x2, y2 = b["x"], b["y"] + _NODE_H / 2
        bend = (x2 - x1) / 2
        parts.append(
            f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" fill="none" '
            'stroke="#666" stroke-width="1.3" marker-end="url(#mk-arrow)"/>'
        )
    for node in nodes.values():
        style, radius = _STYLE[node["kind"]]
        x, y = node["x"], node["y"]
        text_y = y + _NODE_H / 2 + (0 if node.get("sub") else 4)
        weight = ' font-weight="bold"' if node["kind"] == "step" else ""
        parts.append(
            f"<g><title>{escape(node['title'])}</title>"
            f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="{radius}" {style}/>'
            f'<text x="{x + _NODE_W / 2}" y="{text_y}" text-anchor="middle" font-size="13"{weight}>'
            f"{escape(_short(node['label'], 20))}</text>"
        )
        if node.get("sub"):
            parts.append(
                f'<text x="{x + _NODE_W / 2}" y="{y + _NODE_H - 7}" text-anchor="middle" font-size="10" '
                f'fill="#555">→ {escape(_short(node["sub"], 24))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _place(nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str]]) -> None:
    """Give each node x, y: columns by layer, rows ordered to follow their predecessors."""
    layers: dict[int, list[str]] = {}
    for key, node in nodes.items():
        layers.setdefault(node["layer"], []).append(key)
    preds: dict[str, list[str]] = {}
    for src, dst in edges:
        preds.setdefault(dst, []).append(src)
    row: dict[str, float] = {}
    for layer in sorted(layers):
        keys = layers[layer]
        if layer > 0:  # barycenter heuristic: fewer crossings than the given order
            keys.sort(key=lambda k: sum(row[p] for p in preds.get(k, [])) / max(len(preds.get(k, [])), 1))
        for i, key in enumerate(keys):
            row[key] = i
    tallest = max(len(keys) for keys in layers.values())
    for layer, keys in layers.items():
        offset = (tallest - len(keys)) * (_NODE_H + _GAP_Y) / 2
        for i, key in enumerate(keys):
            nodes[key]["x"] = _MARGIN + layer * (_NODE_W + _GAP_X)
            nodes[key]["y"] = round(_MARGIN + offset + i * (_NODE_H + _GAP_Y))
