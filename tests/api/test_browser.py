"""The web UI in Debian's Chromium: create a project, start research, watch the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from .server import Server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def test_create_project_start_research_and_see_the_log(
    browser: Browser, server: Server, repo: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(server.url + "/")
    page.get_by_label("Feature request").fill("Add a greeting option")
    page.get_by_label("Repository URL or path").fill(str(repo))
    page.get_by_label("Branch (optional)").fill("main")
    page.screenshot(path=SCREENSHOTS / "projects.png", full_page=True)
    page.get_by_role("button", name="Create project").click()

    page.wait_for_url("**/projects/*")
    expect(page.get_by_role("heading", name="Add a greeting option")).to_be_visible()
    page.get_by_role("button", name="Start research").click()
    expect(page.get_by_role("status")).to_contain_text("Started research")

    log = page.get_by_role("log")
    expect(log).to_contain_text("Looking around the repository.")
    expect(log).to_contain_text("Glob(")
    expect(log).to_contain_text("phase_completed research")
    expect(page.locator(".document[data-kind=research] .rendered")).to_contain_text(
        "The code is in app.py"
    )
    page.locator("details.tool").first.locator("summary").click()
    expect(page.locator("details.tool").first.locator("pre")).to_contain_text("app.py")
    expect(page.locator(".step").first).to_contain_text("completed")
    research = page.locator(".document[data-kind=research]")
    expect(research.get_by_label("Edit research.md")).to_be_hidden()
    research.get_by_role("button", name="Edit").click()
    research.get_by_label("Edit research.md").fill("# Research\n\nEdited by hand.")
    research.get_by_role("button", name="Save").click()
    expect(research.locator(".rendered")).to_contain_text("Edited by hand.")
    page.screenshot(path=SCREENSHOTS / "project.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SCREENSHOTS / "project-mobile.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    context.close()
