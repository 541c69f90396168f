"""Decisions: the loops, one loop's audit trail (why the production model changed), one decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import NotFoundError
from mlops_kit.ui._context import Paging, ui_of
from mlops_kit.ui._links import href

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.automation import Decision

__all__ = ["routes"]

# Actions that changed what production serves, and how each reads on the page.
CHANGES = {
    "promoted": "promoted",
    "rolled_back": "rolled back",
    "deployed": "deployed",
    "canary": "canary started",
    "shadow": "shadow started",
}
PRIMARY_CHANGES = ("promoted", "rolled_back", "deployed")  # the model answering requests changed


def loops(request: Request) -> Response:
    from mlops_kit.automation import ContinuousTraining

    ui = ui_of(request)
    paging = Paging.of(request)
    names = list(ContinuousTraining.names(ui.storage))
    shown, links = paging.slice(request, names)
    rows = [
        (n, ContinuousTraining.stored_decisions(ui.storage, n, limit=1, newest_first=True)[0]) for n in shown
    ]
    return ui.render(
        request,
        "decisions.html",
        title="Decisions",
        section="decisions",
        rows=rows,
        links=links,
        **_helpers(request),
    )


def loop(request: Request) -> Response:
    from mlops_kit.automation import ContinuousTraining

    ui = ui_of(request)
    name = request.path_params["loop"]
    paging = Paging.of(request, default=20)
    page = list(
        ContinuousTraining.stored_decisions(
            ui.storage, name, limit=paging.limit + 1, offset=paging.offset, newest_first=True
        )
    )
    shown = page[: paging.limit]
    return ui.render(
        request,
        "decision_loop.html",
        title=f"Decisions of loop {name}",
        section="decisions",
        name=name,
        decisions=shown,
        changes=[d for d in shown if d.action in CHANGES],
        links=paging.links(request, more=len(page) > paging.limit),
        crumbs=[("Decisions", href(request, "decisions")), (name, None)],
        **_helpers(request),
    )


def decision(request: Request) -> Response:
    from mlops_kit.automation import ContinuousTraining

    ui = ui_of(request)
    name, raw = request.path_params["loop"], request.path_params["number"]
    if not raw.isdigit() or int(raw) < 1:
        raise NotFoundError(f"Decisions are numbered 1, 2, ...; there is no decision {raw!r}.")
    number = int(raw)
    try:
        page = list(ContinuousTraining.stored_decisions(ui.storage, name, limit=2, offset=number - 1))
    except NotFoundError:
        ContinuousTraining.stored_decisions(ui.storage, name, limit=1)  # an unknown loop says so
        page = []
    if not page or page[0].number != number:
        raise NotFoundError(f"Loop {name!r} has no decision {number}.")
    return ui.render(
        request,
        "decision.html",
        title=f"Decision {number} of loop {name}",
        section="decisions",
        name=name,
        d=page[0],
        newer=len(page) > 1,
        crumbs=[
            ("Decisions", href(request, "decisions")),
            (name, href(request, "decisions", name)),
            (str(number), None),
        ],
        **_helpers(request),
    )


def _helpers(request: Request) -> dict[str, Any]:
    def model_link(ref: str | None) -> str | None:
        """The page of a ``"model:version"`` reference."""
        model, _, version = str(ref or "").rpartition(":")
        return href(request, "models", model, version) if model and version.isdigit() else None

    return {
        "model_link": model_link,
        "changes_text": CHANGES,
        "primary_changes": PRIMARY_CHANGES,
        "winner": winner,
    }


def winner(d: Decision) -> str | None:
    """``"challenger"`` or ``"champion"``: who the gate chose (``None`` without a gate)."""
    if d.gate is None:
        return None
    return "challenger" if d.gate.passed else "champion"


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/decisions", loops, name="decisions"),
        Route("/decisions/{loop}", loop, name="decision_loop"),
        Route("/decisions/{loop}/{number}", decision, name="decision"),
    ]
