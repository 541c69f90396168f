"""One model version: what it was trained with, what it takes, whether its bytes are intact, where it serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import IntegrityError, NotFoundError
from mlops_kit.ui._context import ui_of
from mlops_kit.ui._links import href

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mlops_kit.deploy import LocalDeployer
    from mlops_kit.registry import ModelVersion, Registry

__all__ = ["model_version"]

MOST_EXAMPLE_ROWS = 20
# Each endpoint costs a status read; a store with more endpoints shows the first ones.
MOST_ENDPOINTS = 200


def model_version(request: Request) -> Response:
    ui = ui_of(request)
    registry = ui.registry
    name, raw = request.path_params["name"], request.path_params["version"]
    if not raw.isascii() or not raw.isdigit():
        raise NotFoundError(f"Versions are numbers (1, 2, ...), not {raw!r}.")
    mv = registry.get(f"{name}:{int(raw)}")
    aliases = [a for a, v in registry.aliases(name).items() if v == mv.version]
    return ui.render(
        request,
        "model_version.html",
        title=f"Model {mv.ref}",
        section="models",
        mv=mv,
        aliases=aliases,
        archived=mv.version in registry.archived(name),
        integrity=_integrity(registry, mv),
        example=_example(registry, mv),
        serving=_serving(ui.deployer, mv),
        crumbs=[
            ("Models", href(request, "models")),
            (name, href(request, "models", name)),
            (str(mv.version), None),
        ],
    )


def _integrity(registry: Registry, mv: ModelVersion) -> dict[str, Any]:
    """``{"ok": bool, "message": str}``: the stored bytes checked against the record, nothing loaded."""
    try:
        registry.verify(mv)
    except (IntegrityError, NotFoundError) as exc:
        return {"ok": False, "message": str(exc)}
    what = "artifact and input example match" if mv.input_example else "artifact matches"
    return {
        "ok": True,
        "message": f"verified: the stored {what} the recorded sha256 ({mv.size_bytes:,} bytes)",
    }


def _example(registry: Registry, mv: ModelVersion) -> dict[str, Any] | None:
    """The input example as a table's columns and first rows (``None`` without one or if unreadable)."""
    if mv.input_example is None:
        return None
    try:
        frame = registry.input_example(mv)
    except (IntegrityError, NotFoundError):
        return None  # the integrity status says why
    if frame is None:
        return None
    head = frame.head(MOST_EXAMPLE_ROWS)
    rows = [[_cell(value) for value in row] for row in head.itertuples(index=False, name=None)]
    return {"columns": [str(c) for c in head.columns], "rows": rows, "total": len(frame)}


def _cell(value: Any) -> Any:
    # Numbers go through the |number filter; everything else shows as text.
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, TypeError):
            return str(value)
    return value


def _serving(deployer: LocalDeployer, mv: ModelVersion) -> list[tuple[str, str]]:
    """``(endpoint, role)`` for each endpoint whose primary or candidate is this version."""
    serving = []
    for endpoint in deployer.endpoints(limit=MOST_ENDPOINTS):
        status = deployer.status(endpoint)
        if status.primary == mv.ref:
            serving.append((endpoint, "primary"))
        elif status.candidate == mv.ref:
            serving.append((endpoint, f"candidate, {status.strategy}" if status.strategy else "candidate"))
    return serving
