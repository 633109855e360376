"""Logging in and out, the session cookie, CSRF tokens, disabled users, and who
sees which page."""

import pytest

from flexilims.errors import Forbidden
from flexilims.store.accounts import Accounts
from flexilims.web import auth

#: Every page a member can open, by the lab fixture's entities.
PAGES = [
    "/",
    "/projects/test",
    "/projects/test/tree",
    "/projects/test/search?name=PZA",
    "/projects/test/history",
    "/projects/test/names?parent=PZA",
    "/entities/{mouse}",
    "/entities/{mouse}/tree",
    "/entities/{dataset}/files",
    "/entities/{mouse}/edit",
    "/entities/{mouse}/delete",
    "/entities/{mouse}/history",
    "/trash",
]
ADMIN_PAGES = ["/admin/users", "/admin/projects", "/admin/settings"]
POSTS = [
    "/logout",
    "/entities/{mouse}/attributes",
    "/entities/{mouse}/attributes/remove",
    "/entities/{mouse}/rename",
    "/entities/{mouse}/move",
    "/entities/{mouse}/delete",
    "/entities/{mouse}/revert",
    "/trash/abc/restore",
    "/trash/abc/purge",
    "/admin/users",
    "/admin/users/jane/password",
    "/admin/users/jane/disable",
    "/admin/projects",
    "/admin/projects/test/members",
]


def urls(pages, lab):
    return [
        page.format(mouse=lab["mouse"]["id"], dataset=lab["dataset"]["id"])
        for page in pages
    ]


def test_pages_without_a_session_go_to_login(browser, lab, wstore, snapshot):
    client = browser()
    for url in urls(PAGES + ADMIN_PAGES, lab):
        reply = client.get(url)
        assert reply.status_code == 303, url
        assert reply.headers["location"].startswith("/login"), url
    reply = client.get(f"/entities/{lab['mouse']['id']}/edit")
    assert reply.headers["location"] == (
        f"/login?next=%2Fentities%2F{lab['mouse']['id']}%2Fedit"
    )
    before = snapshot(wstore)
    for url in urls(POSTS, lab):
        reply = client.post(url, {"key": "sex", "value": "M", "name": "x"})
        assert reply.status_code == 303 and reply.headers["location"] == "/login"
    assert snapshot(wstore) == before


def test_htmx_requests_without_a_session_redirect_the_page(browser, lab):
    reply = browser().get("/projects/test/tree", headers={"HX-Request": "true"})
    assert reply.status_code == 204 and reply.headers["HX-Redirect"] == "/login"


def test_every_page_opens_for_a_member(browser, lab):
    jane = browser("jane")
    for url in urls(PAGES, lab):
        reply = jane.get(url)
        assert reply.status_code == 200, (url, reply.text)
        assert reply.headers["content-type"].startswith("text/html")
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]


def test_another_projects_member_gets_404(browser, lab, wstore, snapshot):
    olga = browser("olga")
    for url in urls(PAGES[1:-1], lab):
        reply = olga.get(url)
        assert reply.status_code == 404, url
        assert "test" not in reply.text.split("<main")[1] or "PZAH" not in reply.text
        assert "PZAH6.4b" not in reply.text
    assert olga.get("/projects/nonexistent").status_code == 404
    # The same page as a project that does not exist: no hint.
    assert (
        olga.get("/projects/test").text.split("<main")[1]
        == olga.get("/projects/nonexistent").text.split("<main")[1]
    )
    before = snapshot(wstore)
    for url in urls(POSTS[1:7], lab):
        reply = olga.post(url, {"key": "sex", "value": "M", "name": "x"})
        assert reply.status_code == 404, url
    assert snapshot(wstore) == before
    assert "PZAH6.4b" not in olga.get("/").text


def test_admin_pages_refuse_members(browser, lab, wstore, snapshot):
    jane = browser("jane")
    for url in ADMIN_PAGES:
        reply = jane.get(url)
        assert reply.status_code == 403 and "For admins only" in reply.text
    before = snapshot(wstore)
    for url in urls(POSTS[7:], lab):
        reply = jane.post(
            url,
            {"username": "x", "password": "y", "name": "z", "confirm": "on"},
        )
        assert reply.status_code == 403, url
    assert snapshot(wstore) == before
    assert "Users</a>" not in jane.get("/").text
    ada = browser("ada")
    for url in ADMIN_PAGES:
        assert ada.get(url).status_code == 200


def test_login_sets_a_session_cookie_and_logout_ends_it(browser, people, wstore):
    client = browser()
    assert client.get("/").headers["location"] == "/login"
    client.get("/login")
    reply = client.post(
        "/login",
        {"username": "jane", "password": "jane-secret", "next": "/projects/test"},
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/projects/test"
    cookie = next(
        value
        for name, value in reply.headers.multi_items()
        if name == "set-cookie" and value.startswith(auth.SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/;" in cookie
    assert "Secure" not in cookie
    token = client.client.cookies[auth.SESSION_COOKIE]
    assert Accounts(wstore).actor_for_token(token).username == "jane"
    page = client.get("/")
    assert page.status_code == 200 and "Jane Doe" in page.text
    reply = client.post("/logout")
    assert reply.status_code == 303 and reply.headers["location"] == "/login"
    with pytest.raises(Forbidden):
        Accounts(wstore).actor_for_token(token)
    assert client.get("/").status_code == 303
    assert "You are logged out." in client.get("/login").text


def test_cookies_are_secure_over_tls(browser, people):
    client = browser(base_url="https://testserver")
    client.get("/login")
    reply = client.post("/login", {"username": "jane", "password": "jane-secret"})
    cookies = [v for k, v in reply.headers.multi_items() if k == "set-cookie"]
    assert any(c.startswith(auth.SESSION_COOKIE) and "Secure" in c for c in cookies)


def test_the_api_does_not_accept_the_session_cookie(browser, people):
    client = browser("jane")
    reply = client.client.get("/flexilims/api/projects")
    assert reply.status_code == 403


def test_wrong_password_is_refused_and_issues_no_token(
    browser, people, wstore, snapshot
):
    client = browser()
    client.get("/login")
    before = snapshot(wstore)
    reply = client.post("/login", {"username": "jane", "password": "wrong"})
    assert reply.status_code == 401
    assert "Wrong username or password" in reply.text
    assert 'value="jane"' in reply.text
    reply = client.post("/login", {"username": "nobody", "password": "x"})
    assert reply.status_code == 401 and "Wrong username or password" in reply.text
    after = snapshot(wstore)
    # Only the throttle counted the failures (per user and per address).
    assert len(after.pop("login_failures")) == 2 * 2
    before.pop("login_failures")
    assert after == before


def test_login_form_needs_its_csrf_value(browser, people, wstore, snapshot):
    client = browser()
    before = snapshot(wstore)
    reply = client.post(
        "/login", {"username": "jane", "password": "jane-secret"}, csrf=False
    )
    assert reply.status_code == 403 and "This form has expired" in reply.text
    client.get("/login")
    reply = client.post(
        "/login",
        {"username": "jane", "password": "jane-secret", "csrf": "forged"},
    )
    assert reply.status_code == 403
    assert snapshot(wstore) == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_login_goes_only_to_pages_of_this_site(browser, people, target):
    client = browser()
    client.get("/login")
    reply = client.post(
        "/login", {"username": "jane", "password": "jane-secret", "next": target}
    )
    assert reply.headers["location"] == "/"


def test_forms_without_the_sessions_csrf_token_change_nothing(
    browser, lab, wstore, snapshot
):
    jane = browser("jane")
    other = browser("ada")
    mouse = lab["mouse"]["id"]
    before = snapshot(wstore)
    for token in (None, "", "0" * 64, other.csrf):
        data = {"key": "sex", "value": "M"}
        if token is not None:
            data["csrf"] = token
        reply = jane.post(f"/entities/{mouse}/attributes", data, csrf=False)
        assert reply.status_code == 403 and "This form has expired" in reply.text
    reply = jane.post(f"/entities/{mouse}/delete", {"csrf": "x"}, csrf=False)
    assert reply.status_code == 403
    reply = jane.post("/logout", csrf=False)
    assert reply.status_code == 403
    assert snapshot(wstore) == before
    reply = jane.post(f"/entities/{mouse}/attributes", {"key": "sex", "value": "M"})
    assert reply.status_code == 303


def test_csrf_token_in_a_header_is_accepted(browser, lab):
    jane = browser("jane")
    reply = jane.client.post(
        f"/entities/{lab['mouse']['id']}/attributes",
        data={"key": "sex", "value": "M"},
        headers={"X-CSRF-Token": jane.csrf},
    )
    assert reply.status_code == 303


def test_disabled_users_cannot_log_in_and_lose_their_session(browser, people, wstore):
    jane = browser("jane")
    ada = browser("ada")
    reply = ada.post("/admin/users/jane/disable")
    assert reply.status_code == 303
    assert jane.get("/").status_code == 303
    client = browser()
    client.get("/login")
    reply = client.post("/login", {"username": "jane", "password": "jane-secret"})
    assert reply.status_code == 401 and "disabled" in reply.text
    with pytest.raises(Exception, match="disabled"):
        Accounts(wstore).authenticate("jane", "jane-secret")
    page = ada.get("/admin/users")
    assert ada.post("/admin/users/jane/enable").status_code == 303
    assert "disabled" in page.text
    browser("jane")


def test_unknown_pages_are_html_404_and_the_api_keeps_its_own(browser, people):
    jane = browser("jane")
    reply = jane.get("/no/such/page")
    assert reply.status_code == 404 and "<h1>Not found</h1>" in reply.text
    assert "Jane Doe" in reply.text
    reply = jane.client.get("/flexilims/api/nonexistent")
    assert reply.status_code == 404 and "<b>Message</b> no endpoint" in reply.text
    assert jane.client.get("/flexilims/api/save").status_code == 405
    assert jane.get("/entities/zzz").status_code == 404
    assert jane.get("/entities/" + "0" * 24).status_code == 404


def test_static_files_ship_in_the_package(browser):
    client = browser()
    for name in ("htmx.min.js", "app.js", "style.css", "favicon.svg"):
        reply = client.client.get(f"/static/{name}")
        assert reply.status_code == 200 and len(reply.content) > 100
    assert "htmx" in client.client.get("/static/htmx.min.js").text
    page = client.get("/login").text
    assert "http" not in page.replace("http-equiv", "").split("<body")[0].replace(
        'xmlns="http', ""
    )
