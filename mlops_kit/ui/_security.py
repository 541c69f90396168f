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
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from mlops_kit.core.errors import ConfigError, MlopsKitError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = [
    "COOKIE",
    "MOST_FAILED_SIGN_INS",
    "Forbidden",
    "Guard",
    "Session",
    "TooManyTries",
    "read_form",
    "same",
]

COOKIE = "mlops_kit_ui"
SESSION_SECONDS = 12 * 3600
# Failed sign-ins one client may make in a window before it must wait: guessing the
# token over the network stays slow.
MOST_FAILED_SIGN_INS = 10
FAILED_SIGN_IN_WINDOW = 15 * 60
MOST_FORM_BYTES = 64 * 1024
_NAME = re.compile(r"^[\w .@+-]{1,64}$")


class Forbidden(MlopsKitError):
    """An action the UI refuses: actions are off, no valid session, or a bad CSRF token."""


class TooManyTries(Forbidden):
    """Too many failed sign-ins from one client: it waits before trying again."""


def same(given: str, expected: str) -> bool:
    # Compare bytes: hmac.compare_digest raises TypeError on non-ASCII str (a 500 on bad input).
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Session:
    """A signed-in person."""

    name: str
    issued: int


class Guard:
    """Decides whether a request may act, and who it acts as."""

    def __init__(self, *, allow_actions: bool, token: str | None) -> None:
        if allow_actions and not token:
            raise ConfigError(
                "allow_actions=True needs a token= (a secret the team shares, 8 characters or more)."
            )
        if token is not None and len(token) < 8:
            raise ConfigError("token= must be at least 8 characters: a short token is guessed quickly.")
        self.allowed = allow_actions
        self._token = token
        # Restarting the server signs everyone out: the key changes.
        secret = secrets.token_bytes(32)
        self._key = hashlib.sha256(secret + (token or "").encode()).digest()
        self._signed_out: dict[str, float] = {}  # cookie signature -> when it expires anyway
        self._failures: dict[str, deque[float]] = {}  # client address -> times of failed sign-ins

    def check_token(self, token: str) -> bool:
        return self._token is not None and same(token, self._token)

    def check_tries(self, client: str) -> None:
        """Refuse a client that failed to sign in too often lately (:class:`TooManyTries`)."""
        failures = self._failures.get(client)
        now = time.monotonic()
        while failures and now - failures[0] > FAILED_SIGN_IN_WINDOW:
            failures.popleft()
        if failures is not None and len(failures) >= MOST_FAILED_SIGN_INS:
            wait = int(FAILED_SIGN_IN_WINDOW - (now - failures[0])) + 1
            raise TooManyTries(f"Too many failed sign-ins from this address: wait {wait} s and retry.")

    def failed_sign_in(self, client: str) -> None:
        if len(self._failures) > 10_000:  # many addresses: forget the quiet ones first
            self._failures = {k: v for k, v in self._failures.items() if len(v) >= MOST_FAILED_SIGN_INS // 2}
        self._failures.setdefault(client, deque(maxlen=MOST_FAILED_SIGN_INS)).append(time.monotonic())

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
        if not same(signature, self._sign(f"{issued}|{name}")):
            return None
        if time.time() - int(issued) > SESSION_SECONDS or signature in self._signed_out:
            return None
        return Session(name, int(issued))

    def sign_out(self, request: Request) -> None:
        """Make the request's session cookie worthless here, even if a copy of it was kept."""
        now = time.time()
        self._signed_out = {s: t for s, t in self._signed_out.items() if t > now}
        if self.session(request) is not None:
            signature = request.cookies[COOKIE].rpartition("|")[2]
            self._signed_out[signature] = now + SESSION_SECONDS

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
        if origin == "null":  # a sandboxed frame, a data: or file: page: never this UI
            raise Forbidden("Refused: the form was sent from a page without an origin, not from this UI.")
        if origin is None:
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
        form = await read_form(request)
        if not same(form.get("csrf", ""), self.csrf(request)):
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


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (what the UI's forms send), last value of each name.

    Read here rather than with Starlette's ``request.form()``, which needs python-multipart
    and also takes file uploads that no action wants.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Forbidden(f"Refused: actions take a form (application/x-www-form-urlencoded), not {kind!r}.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MOST_FORM_BYTES:
            raise Forbidden(f"Refused: the form is larger than {MOST_FORM_BYTES:,} bytes.")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=100, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise Forbidden(f"Refused: the form is not valid URL-encoded UTF-8 ({exc}).") from None
    return dict(pairs)
