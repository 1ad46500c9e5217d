"""The web UI in Debian's Chromium: the whole flow on the demo's sample repository.

The server's model replays the demo script (research, planning with two questions,
implementation with review findings, documentation); its implementation turns are
slowed down so that Pause and Resume can be seen. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from forgeline.console.demo import REQUEST, make_sample_repo

from .chromium import chromium
from .server import Server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Elements sticking out of the viewport (a horizontal scroll on a phone).
WIDER_THAN_VIEWPORT = """[...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter((e) => !(e.parentElement && e.parentElement.closest("pre, .log, .table-scroll")))
  .map((e) => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 40))"""
IMPLEMENTATION_DELAY = 0.4  # seconds per implementation model turn
LONG = 60_000  # ms: a whole phase


def demo_script() -> str:
    """The demo script, with a delay on each implementation turn."""
    text = (resources.files("forgeline.demo") / "script.yaml").read_text(encoding="utf-8")
    script: dict[str, Any] = yaml.safe_load(text)
    for turn in script["agents"]["implementation"]:
        turn["delay"] = IMPLEMENTATION_DELAY
    return yaml.safe_dump(script, sort_keys=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("demo-home"), script=demo_script())
    yield running
    running.stop()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def shot(page: Page, name: str, *, top: str | None = None) -> None:
    """A screenshot of the viewport in docs/screenshots/, scrolled to `top` (a selector)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if top is not None:
        page.locator(top).first.evaluate("(e) => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=SCREENSHOTS / name, animations="disabled", caret="hide")


def step(page: Page, name: str) -> Any:
    """The stepper item of a phase."""
    return page.locator(".step").filter(has=page.locator(".step-name", has_text=name))


def create_project(page: Page, server: Server, repo: Path) -> None:
    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name="New project")).to_be_visible()
    page.get_by_label("Feature request").fill(REQUEST)
    page.get_by_label("Repository URL or path").fill(str(repo))
    page.get_by_label("Branch (optional)").fill("main")
    shot(page, "new-project.png")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/projects/*")
    expect(page.get_by_role("heading", name=REQUEST)).to_be_visible()


def run_research(page: Page) -> None:
    page.get_by_role("button", name="Start research").click()
    expect(page.get_by_role("status")).to_contain_text("Started research")
    log = page.get_by_role("log")
    expect(log).to_contain_text("Glob(")
    expect(log).to_contain_text("phase_completed research", timeout=LONG)
    expect(step(page, "Research")).to_contain_text("completed")
    research = page.locator(".document[data-kind=research] .rendered")
    expect(research).to_contain_text("paginate() drops the last partial page")
    tool = page.locator("details.tool").first
    tool.locator("summary").click()
    expect(tool.locator("pre")).to_contain_text("pager.py")
    shot(page, "research-log.png", top="#log-h")


def answer_questions(page: Page) -> None:
    page.get_by_role("button", name="Start planning").click()
    empty = page.get_by_role("group", name=re.compile("Empty input"))
    expect(empty).to_be_visible(timeout=LONG)
    expect(step(page, "Planning")).to_contain_text("waiting")
    empty.get_by_label("An empty list").check()
    regression = page.get_by_role("group", name=re.compile("Regression test"))
    expect(regression.get_by_role("checkbox")).to_have_count(2)
    regression.get_by_label("Partial last page").check()
    regression.get_by_label("Other").fill("Also compare with page_count() for sizes 1 to 5.")
    shot(page, "questions.png", top="#questions")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("status")).to_contain_text("Answers sent")
    expect(step(page, "Planning")).to_contain_text("completed", timeout=LONG)
    expect(page.get_by_text("No questions waiting.")).to_be_visible()


def edit_planning(page: Page) -> None:
    planning = page.locator(".document[data-kind=planning]")
    expect(planning.locator(".rendered h1")).to_contain_text("Plan: keep the last partial page")
    editor = planning.get_by_label("Edit planning.md")
    expect(editor).to_be_hidden()
    planning.get_by_role("button", name="Edit").click()
    expect(editor).to_be_focused()
    note = "\n\n## Note from the user\n\nKeep the change minimal."
    editor.fill(editor.input_value() + note)
    planning.get_by_role("button", name="Save").click()
    expect(planning.locator(".rendered h2").last).to_have_text("Note from the user")
    expect(page.get_by_role("status")).to_contain_text("planning.md saved")
    page.reload()
    expect(planning.locator(".rendered")).to_contain_text("Keep the change minimal.")
    expect(planning.locator(".rendered")).to_contain_text("Decisions")
    shot(page, "planning.png", top=".document[data-kind=planning]")


def pause_and_resume(page: Page) -> None:
    page.get_by_role("button", name="Start implementation").click()
    expect(step(page, "Implementation")).to_contain_text("running")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("is paused")
    expect(step(page, "Implementation")).to_contain_text("paused")
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("is running")
    expect(step(page, "Implementation")).not_to_contain_text("paused")


def check_results(page: Page) -> None:
    expect(step(page, "Documentation")).to_contain_text("completed", timeout=LONG)
    expect(step(page, "Implementation")).to_contain_text("completed")
    findings = page.locator("#findings")
    expect(findings.locator(".badge.sev-major")).to_have_text("major")
    expect(findings.locator(".badge.sev-blocker")).to_have_text("blocker")
    expect(findings).to_contain_text("No test covers a partial last page")
    diff = page.locator("#diff")
    expect(diff.locator(".add").filter(has_text="range(0, len(items), page_size)")).to_be_visible()
    expect(diff.locator(".del").filter(has_text="len(items) - page_size + 1")).to_be_visible()
    expect(diff).to_contain_text("test_partial_last_page")
    expect(page.get_by_role("log")).to_contain_text("phase_completed implementation")
    shot(page, "implementation.png", top="#findings")
    shot(page, "project.png", top="#project")


def check_projects_list(page: Page, server: Server) -> None:
    page.goto(server.url + "/")
    link = page.get_by_role("link", name=REQUEST)
    expect(link).to_be_visible()
    expect(page.locator(".projects li").first).to_contain_text("completed")
    shot(page, "projects.png")


def check_mobile(page: Page, url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    expect(page.get_by_role("button", name="Start research")).to_be_visible()
    shot(page, "project-mobile.png")
    assert page.evaluate(WIDER_THAN_VIEWPORT) == []


def test_the_whole_flow_in_the_browser(tab: Page, demo_server: Server, tmp_path: Path) -> None:
    page = tab
    repo = make_sample_repo(tmp_path)
    create_project(page, demo_server, repo)
    project_url = page.url
    run_research(page)
    answer_questions(page)
    edit_planning(page)
    pause_and_resume(page)
    check_results(page)
    check_projects_list(page, demo_server)
    check_mobile(page, project_url)
