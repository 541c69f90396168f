"""Actions behind a token: a signed session cookie, a CSRF token per session, an origin check.

The UI is read-only unless started with actions allowed and a token. A person signs in
with the token and their name; the cookie carries the name, signed with a key derived
from the token and a secret of this process, so it cannot be forged and stops working
when the server restarts or the token changes. Every form carries a CSRF token bound to
the session, and a POST from another origin is refused, so another site cannot act
through a signed-in browser. The name is recorded in the audit history of each action.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_kit.core.errors import MlopsKitError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["COOKIE", "Forbidden", "Guard", "Session"]

COOKIE = "mlops_kit_ui"
SESSION_SECONDS = 12 * 3600
_NAME = re.compile(r"^[\w .@+-]{1,64}$")


class Forbidden(MlopsKitError):
    """An action the UI refuses: actions are off, no valid session, or a bad CSRF token."""


@dataclass(frozen=True)
class Session:
    """A signed-in person."""

    name: str
    issued: int


class Guard:
    """Decides whether a request may act, and who it acts as."""

    def __init__(self, *, allow_actions: bool, token: str | None) -> None:
        if allow_actions and not token:
            raise ValueError("allow_actions=True needs a token= (a secret the team shares).")
        if token is not None and len(token) < 8:
            raise ValueError("token= must be at least 8 characters.")
        self.allowed = allow_actions
        self._token = token
        # Restarting the server signs everyone out: the key changes.
        secret = secrets.token_bytes(32)
        self._key = hashlib.sha256(secret + (token or "").encode()).digest()

    def check_token(self, token: str) -> bool:
        return self._token is not None and hmac.compare_digest(token.encode(), self._token.encode())

    @staticmethod
    def check_name(name: str) -> str:
        name = name.strip()
        if not _NAME.match(name):
            raise Forbidden(
                "Give your name (1 to 64 letters, digits, spaces or . @ + - _): it is recorded with each action."
            )
        return name

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def cookie_value(self, name: str) -> str:
        body = f"{int(time.time())}|{name}"
        return f"{body}|{self._sign(body)}"

    def session(self, request: Request) -> Session | None:
        if not self.allowed:
            return None
        raw = request.cookies.get(COOKIE, "")
        issued, _, rest = raw.partition("|")
        name, _, signature = rest.rpartition("|")
        if not (issued.isdigit() and name and signature):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{issued}|{name}")):
            return None
        if time.time() - int(issued) > SESSION_SECONDS:
            return None
        return Session(name, int(issued))

    def csrf(self, request: Request) -> str:
        """The CSRF token forms carry: bound to the session cookie ('' without one)."""
        raw = request.cookies.get(COOKIE)
        return self._sign(f"csrf|{raw}") if raw and self.session(request) else ""

    def login_csrf(self, request: Request) -> str:
        """The sign-in form's token, bound to a cookie set before signing in."""
        raw = request.cookies.get(COOKIE + "_pre", "")
        return self._sign(f"login|{raw}") if raw else ""

    def check_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            origin = request.headers.get("referer")
        if origin is None:
            return  # not a browser (curl): the CSRF token still guards the action
        host = request.headers.get("host", "")
        scheme = request.url.scheme
        if not (origin == f"{scheme}://{host}" or origin.startswith(f"{scheme}://{host}/")):
            raise Forbidden(f"Refused: the form was sent from {origin}, not from this UI.")

    async def authorize(self, request: Request) -> tuple[Session, dict[str, str]]:
        """The session of an action's POST and its form fields, or :class:`Forbidden`."""
        if not self.allowed:
            raise Forbidden("This UI is read-only: start it with --allow-actions and a token to act.")
        self.check_origin(request)
        session = self.session(request)
        if session is None:
            raise Forbidden("Sign in with the token first: actions are recorded with your name.")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not hmac.compare_digest(form.get("csrf", ""), self.csrf(request)):
            raise Forbidden("Refused: the form's CSRF token is missing or stale; reload the page and retry.")
        return session, form

    def set_session(self, response: Response, name: str, *, secure: bool) -> None:
        response.set_cookie(
            COOKIE,
            self.cookie_value(name),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
