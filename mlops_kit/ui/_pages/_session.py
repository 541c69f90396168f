"""Signing in with the token (to act) and out."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from mlops_kit.ui._context import ui_of
from mlops_kit.ui._links import href
from mlops_kit.ui._security import COOKIE, Forbidden, TooManyTries, read_form, same

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

__all__ = ["routes"]


def login_form(request: Request) -> Response:
    ui = ui_of(request)
    if not ui.guard.allowed:
        raise Forbidden("This UI is read-only: start it with --allow-actions and a token to act.")
    pre = request.cookies.get(COOKIE + "_pre") or secrets.token_urlsafe(16)
    # The form's token is bound to a cookie set here: another site cannot sign a browser in.
    request.cookies[COOKIE + "_pre"] = pre
    response = ui.render(request, "login.html", title="Sign in", login_csrf=ui.guard.login_csrf(request))
    response.set_cookie(COOKIE + "_pre", pre, httponly=True, samesite="strict", max_age=3600)
    return response


async def login(request: Request) -> Response:
    from starlette.responses import RedirectResponse

    ui = ui_of(request)
    guard = ui.guard
    if not guard.allowed:
        raise Forbidden("This UI is read-only: start it with --allow-actions and a token to act.")
    guard.check_origin(request)
    form = await read_form(request)
    expected = guard.login_csrf(request)
    if not expected or not same(form.get("csrf", ""), expected):
        raise Forbidden("Refused: the sign-in form is stale; reload it and retry.")
    client = request.client.host if request.client else "unknown"
    try:
        guard.check_tries(client)
    except TooManyTries as exc:
        return ui.render(
            request, "login.html", status=429, title="Sign in", login_csrf=expected, failed=str(exc)
        )
    if not guard.check_token(form.get("token", "")):
        guard.failed_sign_in(client)
        return ui.render(
            request,
            "login.html",
            status=403,
            title="Sign in",
            login_csrf=expected,
            failed="That token is not this UI's token.",
        )
    name = guard.check_name(form.get("name", ""))
    response = RedirectResponse(href(request), status_code=303)
    guard.set_session(response, name, secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    from starlette.responses import RedirectResponse

    guard = ui_of(request).guard
    await guard.authorize(request)
    guard.sign_out(request)  # a copy of the cookie kept elsewhere stops working too
    response = RedirectResponse(href(request), status_code=303)
    response.delete_cookie(COOKIE)
    return response


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/login", login_form, methods=["GET"], name="login_form"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]
