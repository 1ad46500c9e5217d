"""Token mode over real HTTP: a sign-in page for browsers, 401 JSON for API clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.server import Server

TOKEN = "tok-3f9a1c7e"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("home"), token=TOKEN)
    yield running
    running.stop()


def test_a_browser_without_a_session_gets_the_sign_in_page(guarded: Server) -> None:
    with guarded.client() as browser:
        for path in ("/", "/projects/x", "/api/projects"):
            page = browser.get(path, headers=HTML)
            assert page.status_code == 401
            assert page.headers["content-type"].startswith("text/html")
            assert 'action="/signin"' in page.text and 'name="token"' in page.text
            assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert browser.get("/static/style.css").status_code == 200  # the page's stylesheet
        api = browser.get("/api/projects")
        assert api.status_code == 401 and api.json()["detail"] == "missing or wrong API token"


def test_signing_in_sets_a_strict_http_only_session_cookie(guarded: Server) -> None:
    with guarded.client() as browser:
        wrong = browser.post("/signin", data={"token": "nope", "next": "/"}, headers=HTML)
        assert wrong.status_code == 401 and "not the server" in wrong.text
        assert "set-cookie" not in wrong.headers
        done = browser.post("/signin", data={"token": TOKEN, "next": "/projects/x"})
        assert done.status_code == 303 and done.headers["location"] == "/projects/x"
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        assert TOKEN not in cookie  # the cookie is derived from the token, not the token
        assert browser.get("/api/projects").status_code == 200
        assert browser.get("/", headers=HTML).status_code == 200
        browser.post("/signout")
        assert browser.get("/api/projects").status_code == 401


def test_the_cookie_is_secure_over_https(guarded: Server) -> None:
    with guarded.client() as browser:  # uvicorn trusts X-Forwarded-Proto from 127.0.0.1
        done = browser.post(
            "/signin", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"}
        )
    assert done.status_code == 303
    assert "Secure" in done.headers["set-cookie"]


def test_sign_in_never_redirects_to_another_site(guarded: Server) -> None:
    with guarded.client() as browser:
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            done = browser.post("/signin", data={"token": TOKEN, "next": target})
            assert done.headers["location"] == "/", target


def test_a_forged_sign_in_is_refused(guarded: Server) -> None:
    with guarded.client() as browser:
        forged = browser.post(
            "/signin", data={"token": TOKEN}, headers={"Origin": "http://127.0.0.1:1"}
        )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers


def test_token_query_still_signs_in(guarded: Server) -> None:
    with guarded.client() as browser:
        assert browser.get(f"/?token={TOKEN}").status_code == 200
        assert browser.get("/api/projects").status_code == 200
