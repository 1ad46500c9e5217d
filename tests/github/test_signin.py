"""GitHub sign-in in a real Chromium against a real `forgeline serve` and the fake GitHub's
OAuth flow: two users each see, open and control only their own projects; the `state` is
checked; the session cookie is HttpOnly; the bearer token still sees everything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext

from api.chromium import chromium
from api.server import Server, make_git_repo
from forgeline.testing.fake_github import FakeGitHub

CLIENT_ID, CLIENT_SECRET = "Iv1.fake-client", "fake-client-secret"
TOKEN = "operator-token"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def sign_in(browser: Browser, server: Server, fake: FakeGitHub, login: str) -> BrowserContext:
    context = browser.new_context()
    page = context.new_page()
    fake.oauth.user = login
    page.goto(server.url + "/")
    page.get_by_role("link", name="Sign in with GitHub").click()
    page.wait_for_url(server.url + "/")
    page.close()
    return context


def new_project(context: BrowserContext, server: Server, repo: Path, request: str) -> str:
    body = {"feature_request": request, "repositories": [{"url": str(repo)}]}
    answer = context.request.post(server.url + "/api/projects", data=body)
    assert answer.status == 201, answer.text()
    return str(answer.json()["id"])


def test_two_github_users_see_only_their_own_projects(
    browser: Browser, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.oauth.clients[CLIENT_ID] = CLIENT_SECRET
    env = {
        "FORGELINE_GITHUB_URL": fake_github.base_url,
        "FORGELINE_GITHUB_API_URL": fake_github.api_url,
        "FORGELINE_GITHUB_CLIENT_ID": CLIENT_ID,
        "FORGELINE_GITHUB_CLIENT_SECRET": CLIENT_SECRET,
    }
    server = Server(tmp_path / "home", token=TOKEN, env=env)
    try:
        alice = sign_in(browser, server, fake_github, "alice")
        bob = sign_in(browser, server, fake_github, "bob")
        mine = new_project(alice, server, make_git_repo(tmp_path / "a"), "Alice's feature")
        theirs = new_project(bob, server, make_git_repo(tmp_path / "b"), "Bob's feature")
        views = [
            (alice, "Alice's feature", "Bob's feature"),
            (bob, "Bob's feature", "Alice's feature"),
        ]
        for context, own, other in views:
            page = context.new_page()
            page.goto(server.url + "/")
            assert page.get_by_role("link", name=own).is_visible()
            assert page.get_by_role("link", name=other).count() == 0
            page.close()
        page = bob.new_page()
        assert page.goto(f"{server.url}/projects/{mine}").status == 404
        assert bob.request.get(f"{server.url}/api/projects/{mine}").status == 404
        start = f"{server.url}/api/projects/{mine}/phases/research/start"
        assert bob.request.post(start).status == 404
        original = bob.request.post(
            f"{server.url}/agents/research/start", data={"project_id": mine}
        )
        assert original.status == 404
        listed = bob.request.get(server.url + "/api/projects").json()
        assert [p["id"] for p in listed] == [theirs]
        assert alice.request.get(f"{server.url}/api/projects/{mine}").status == 200
        cookie = next(c for c in alice.cookies() if c["name"] == "forgeline_user")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        forged = page.goto(f"{server.url}/auth/github/callback?code=x&state=guessed")
        assert forged is not None and forged.status == 400
        with httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as op:
            assert {p["id"] for p in op.get("/api/projects").json()} == {mine, theirs}
    finally:
        server.stop()
