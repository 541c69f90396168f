"""Actions on a real server: refused unless signed in with the token, CSRF-safe, recorded with who acted."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

import mlops_kit as mk
from tests.ui.conftest import TOKEN, serve

ACTIONS = [
    ("/models/churn/aliases", {"alias": "staging", "version": "1"}),
    ("/models/churn/aliases/production/delete", {}),
    ("/models/churn/1/archive", {}),
    ("/models/churn/1/restore", {}),
    ("/endpoints/churn/promote", {}),
    ("/endpoints/churn/rollback", {}),
]
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token the page's forms carry."""
    found = _CSRF.search(page.text)
    assert found is not None and found.group(1), "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(http: httpx.Client, url: str, name: str = "alice", token: str = TOKEN) -> httpx.Response:
    """GET /login (the pre-cookie and the form's token), then POST the name and token."""
    form = http.get(url + "/login")
    assert form.status_code == 200
    return http.post(url + "/login", data={"csrf": csrf_of(form), "name": name, "token": token})


def signed_in(http: httpx.Client, url: str, name: str = "alice") -> str:
    """Sign in and return the CSRF token of the session's forms."""
    answer = sign_in(http, url, name)
    assert answer.status_code == 303, answer.text
    return csrf_of(http.get(url + "/models/churn"))


def _events(store: Path) -> int:
    registry = mk.Registry(mk.storage(str(store)))
    return len(registry.history("churn")) + len(mk.LocalDeployer(registry).history("churn"))


def test_a_read_only_ui_refuses_every_action_and_renders_no_forms(story_copy: Path, client) -> None:
    before = _events(story_copy)
    with serve(mk.storage(str(story_copy))) as url:
        for path, fields in ACTIONS:
            answer = client.post(url + path, data={**fields, "csrf": "anything"})
            assert answer.status_code == 403, path
            assert "read-only" in answer.text
        assert client.get(url + "/login").status_code == 403
        for page in ("/models/churn", "/models/churn/1", "/models/churn/2"):
            text = client.get(url + page).text
            assert "<form" not in text and 'name="csrf"' not in text, page
    assert _events(story_copy) == before


def test_actions_are_refused_without_signing_in(story_copy: Path, client) -> None:
    before = _events(story_copy)
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        for path, fields in ACTIONS:
            answer = client.post(url + path, data={**fields, "csrf": ""})
            assert answer.status_code == 403, path
            assert "Sign in" in answer.text
        text = client.get(url + "/models/churn").text
        assert 'name="alias"' not in text and "Set alias" not in text  # no session, no forms
    assert _events(story_copy) == before


def test_a_wrong_token_at_login_is_a_403_page_and_signs_nobody_in(story_copy: Path, client) -> None:
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        answer = sign_in(client, url, token="not-the-token")
        assert answer.status_code == 403
        assert "not this UI&#39;s token" in answer.text
        assert "mlops_kit_ui=" not in answer.headers.get("set-cookie", "")
        assert client.post(url + "/models/churn/1/archive", data={"csrf": ""}).status_code == 403


def test_a_missing_or_wrong_csrf_token_is_refused(story_copy: Path, client) -> None:
    before = _events(story_copy)
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        good = signed_in(client, url)
        with httpx.Client() as other:  # another person's session has another token
            theirs = signed_in(other, url, "bob")
        assert theirs != good
        for fields in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": theirs}, {"csrf": good[:-1]}):
            answer = client.post(
                url + "/models/churn/aliases", data={"alias": "staging", "version": "1", **fields}
            )
            assert answer.status_code == 403, fields
            assert "CSRF" in answer.text
    assert _events(story_copy) == before


def test_a_csrf_field_that_is_not_ascii_is_refused_not_a_server_error(story_copy: Path, client) -> None:
    # hmac.compare_digest raises TypeError on non-ASCII text: that was a 500.
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        form = client.get(url + "/login")
        answer = client.post(url + "/login", data={"csrf": "é", "name": "alice", "token": TOKEN})
        assert answer.status_code == 403, answer.text
        assert csrf_of(form)
        signed_in(client, url)
        answer = client.post(url + "/models/churn/1/archive", data={"csrf": "ünïcode"})
        assert answer.status_code == 403


def test_a_post_from_another_origin_is_refused(story_copy: Path, client) -> None:
    before = _events(story_copy)
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url)
        fields = {"csrf": csrf, "alias": "staging", "version": "1"}
        for origin in ("http://evil.example", url.replace("127.0.0.1", "localhost"), url + ".evil.example"):
            answer = client.post(url + "/models/churn/aliases", data=fields, headers={"Origin": origin})
            assert answer.status_code == 403, origin
            assert "not from this UI" in answer.text
        referer = {"Referer": "http://evil.example/page"}
        assert client.post(url + "/models/churn/aliases", data=fields, headers=referer).status_code == 403
    assert _events(story_copy) == before


def test_an_opaque_origin_is_refused(story_copy: Path, client) -> None:
    # A sandboxed iframe or a data: page posts with "Origin: null" and, with
    # referrerpolicy=no-referrer, without a Referer: that is not this UI either.
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url)
        answer = client.post(
            url + "/models/churn/aliases",
            data={"csrf": csrf, "alias": "staging", "version": "1"},
            headers={"Origin": "null"},
        )
        assert answer.status_code == 403
    assert "staging" not in mk.Registry(mk.storage(str(story_copy))).aliases("churn")


def test_signed_in_alias_and_archive_actions_are_recorded_with_the_name(story_copy: Path, client) -> None:
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url, "Alice Martin")
        page = client.get(url + "/models/churn").text
        assert 'name="alias"' in page and '<select name="version">' in page and "Set alias" in page
        steps = [
            ("/models/churn/aliases", {"alias": "staging", "version": "1"}, "/models/churn"),
            ("/models/churn/aliases/staging/delete", {}, "/models/churn"),
            ("/models/churn/1/archive", {}, "/models/churn/1"),
            ("/models/churn/1/restore", {}, "/models/churn/1"),
        ]
        for path, fields, back in steps:
            answer = client.post(url + path, data={**fields, "csrf": csrf, "ignored": "x"})
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"].startswith(back + "?done=")
            shown = client.get(url + answer.headers["location"])
            assert 'class="flash"' in shown.text
    history = list(mk.Registry(mk.storage(str(story_copy))).history("churn"))
    mine = [(e.kind, e.alias, e.version, e.from_version) for e in history if e.by == "Alice Martin (ui)"]
    assert mine == [
        ("alias_set", "staging", 1, None),
        ("alias_deleted", "staging", None, 1),
        ("archived", None, 1, None),
        ("restored", None, 1, None),
    ]


def test_the_done_message_says_what_happened(story_copy: Path, client) -> None:
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url)
        answer = client.post(
            url + "/models/churn/aliases", data={"csrf": csrf, "alias": "production", "version": "1"}
        )
        page = client.get(url + answer.headers["location"]).text
        assert "churn@production now points to version 1 (was 2)." in page


def test_promote_and_rollback_are_recorded_with_the_name(story_copy: Path, client) -> None:
    store = mk.storage(str(story_copy))
    deployer = mk.LocalDeployer(mk.Registry(store))
    deployer.deploy("churn:1", endpoint="churn", strategy=mk.Canary(weight=0.1))
    deployer.close()
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url, "carol")
        promoted = client.post(url + "/endpoints/churn/promote", data={"csrf": csrf})
        assert promoted.status_code == 303 and promoted.headers["location"].startswith(
            "/endpoints/churn?done="
        )
        rolled = client.post(url + "/endpoints/churn/rollback", data={"csrf": csrf, "reason": "checking"})
        assert rolled.status_code == 303
    events = list(mk.LocalDeployer(mk.Registry(mk.storage(str(story_copy)))).history("churn"))
    assert [(e.kind, e.version, e.by) for e in events[-2:]] == [
        ("promote", 1, "carol (ui)"),
        ("rollback", 2, "carol (ui)"),
    ]
    assert events[-1].reason == "checking"


@pytest.mark.parametrize(
    ("path", "fields", "status", "says"),
    [
        ("/models/churn/aliases", {"alias": "bad alias!", "version": "1"}, 400, "Invalid alias"),
        ("/models/churn/aliases", {"alias": "12", "version": "1"}, 400, "cannot be all digits"),
        ("/models/churn/aliases", {"alias": "", "version": "1"}, 400, "Give the alias"),
        ("/models/churn/aliases", {"alias": "staging", "version": "one"}, 400, "must be a number"),
        ("/models/churn/aliases", {"alias": "staging", "version": "99"}, 404, "no version 99"),
        ("/models/nope/aliases", {"alias": "staging", "version": "1"}, 404, "nope"),
        ("/models/churn/aliases/staging/delete", {}, 404, "no alias &#39;staging&#39;"),
        ("/models/churn/2/archive", {}, 409, "still the target of alias"),
        ("/models/churn/1/restore", {}, 409, "is not archived"),
        ("/models/churn/x/archive", {}, 404, "Versions are numbers"),
        ("/models/churn/7/archive", {}, 404, "no version 7"),
        ("/endpoints/churn/promote", {}, 409, "no candidate to promote"),
        ("/endpoints/nope/rollback", {}, 404, "nope"),
    ],
)
def test_a_refused_action_is_a_clear_4xx_page(
    story_copy: Path, client, path: str, fields: dict[str, str], status: int, says: str
) -> None:
    before = _events(story_copy)
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url)
        answer = client.post(url + path, data={**fields, "csrf": csrf})
        assert answer.status_code == status, answer.text
        assert says in answer.text
        assert "Traceback" not in answer.text
    assert _events(story_copy) == before


def test_an_alias_on_an_archived_version_is_a_conflict_page(story_copy: Path, client) -> None:
    mk.Registry(mk.storage(str(story_copy))).archive("churn", 1)
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url)
        answer = client.post(
            url + "/models/churn/aliases", data={"csrf": csrf, "alias": "staging", "version": "1"}
        )
        assert answer.status_code == 409
        assert "archived" in answer.text


def test_the_session_cookie_is_httponly_and_samesite_strict(story_copy: Path, client) -> None:
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        answer = sign_in(client, url)
    cookies = [c for c in answer.headers.get_list("set-cookie") if c.startswith("mlops_kit_ui=")]
    assert len(cookies) == 1
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes


def test_a_forged_or_foreign_cookie_is_refused(story_copy: Path, client) -> None:
    store = mk.storage(str(story_copy))
    with serve(store, allow_actions=True, token=TOKEN) as other_url:
        signed_in(client, other_url)  # a valid cookie, but of another server (another secret)
        foreign = client.cookies["mlops_kit_ui"]
    with serve(store, allow_actions=True, token=TOKEN) as url:
        signed_in(client, url)
        real = client.cookies["mlops_kit_ui"]
        issued, name, signature = real.strip('"').split("|")
        forged = [
            f"{issued}|mallory|{signature}",  # another name under the same signature
            f"{int(issued) + 1}|{name}|{signature}",
            f"{issued}|{name}|{'0' * 64}",
            foreign,
            "garbage",
        ]
        csrf = csrf_of_session(client, url)
        for cookie in forged:
            with httpx.Client(cookies={"mlops_kit_ui": cookie}) as attacker:
                page = attacker.get(url + "/models/churn")
                assert page.status_code == 200 and "Sign in" in page.text, cookie
                answer = attacker.post(url + "/models/churn/1/archive", data={"csrf": csrf})
                assert answer.status_code == 403, cookie


def csrf_of_session(http: httpx.Client, url: str) -> str:
    return csrf_of(http.get(url + "/models/churn"))


def test_a_cookie_that_is_not_ascii_is_no_session_not_a_server_error(story_copy: Path) -> None:
    # hmac.compare_digest raises TypeError on non-ASCII text: every page was a 500.
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        raw = "mlops_kit_ui=1764612000|alice|\u00e9\u00e9".encode("latin-1")
        with httpx.Client() as http:
            page = http.get(url + "/models/churn", headers={"Cookie": raw})
        assert page.status_code == 200
        assert "Sign in" in page.text


def test_a_signed_out_cookie_stops_working(story_copy: Path, client) -> None:
    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        csrf = signed_in(client, url)
        stolen = client.cookies["mlops_kit_ui"]
        assert client.post(url + "/logout", data={"csrf": csrf}).status_code == 303
        with httpx.Client(cookies={"mlops_kit_ui": stolen}) as replay:
            page = replay.get(url + "/models/churn")
            assert "Sign in" in page.text
            answer = replay.post(url + "/models/churn/1/archive", data={"csrf": csrf})
            assert answer.status_code == 403
    assert mk.Registry(mk.storage(str(story_copy))).archived("churn") == []


def test_guessing_the_token_is_stopped_after_a_few_tries(story_copy: Path, client) -> None:
    from mlops_kit.ui._security import MOST_FAILED_SIGN_INS

    with serve(mk.storage(str(story_copy)), allow_actions=True, token=TOKEN) as url:
        for guess in range(MOST_FAILED_SIGN_INS):
            assert sign_in(client, url, token=f"guess-{guess:04d}").status_code == 403
        answer = sign_in(client, url)  # even the right token: this client is locked out for a while
        assert answer.status_code == 429
        assert "Too many failed sign-ins" in answer.text
        assert "mlops_kit_ui=" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("options", "says"), [({"allow_actions": True}, "needs a token"), ({"token": "short"}, "at least 8")]
)
def test_actions_without_a_usable_token_are_a_config_error(options: dict, says: str) -> None:
    with pytest.raises(mk.ConfigError, match=says):
        mk.ui_app(mk.MemoryStorage(), **options)


def test_a_session_ends_after_12_hours_and_when_the_server_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/ui.md promises of the session cookie, on the guard itself."""
    from starlette.requests import Request

    from mlops_kit.ui import _security

    def request(cookie: str) -> Request:
        header = f"{_security.COOKIE}={cookie}".encode()
        return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", header)]})

    guard = _security.Guard(allow_actions=True, token=TOKEN)
    cookie = guard.cookie_value("Ada")
    assert guard.session(request(cookie)).name == "Ada"  # type: ignore[union-attr]
    restarted = _security.Guard(allow_actions=True, token=TOKEN)  # same token, a new process
    assert restarted.session(request(cookie)) is None
    later = time.time() + _security.SESSION_SECONDS + 1
    monkeypatch.setattr(_security.time, "time", lambda: later)
    assert guard.session(request(cookie)) is None
