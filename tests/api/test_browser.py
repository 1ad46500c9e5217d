"""The web UI in Debian's Chromium: the whole flow on the demo's sample repository.

The server's model replays the demo script (research, planning with two questions,
implementation with review findings, documentation); its implementation turns are
slowed down so that Pause and Resume can be seen, one implementation command fails on
purpose and one research call is refused, and the gate's last finding names a line.
Every page is checked with axe-core (no serious or critical violation) and photographed
into docs/screenshots/.
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

from .axe import serious_violations
from .chromium import chromium
from .server import Server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Elements sticking out of the viewport (a horizontal scroll on a phone).
WIDER_THAN_VIEWPORT = """[...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter((e) => !(e.parentElement && e.parentElement.closest("pre, .log, .table-scroll")))
  .filter((e) => !e.closest("details:not([open]) > :not(summary)"))
  .map((e) => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 40))"""
IMPLEMENTATION_DELAY = 0.4  # seconds per implementation model turn
LONG = 60_000  # ms: a whole phase
FAILING = "cd pagekit && python3 -c 'raise SystemExit(3)'"
PAGER_LINE = 9  # the line of pagekit/pager.py the fix changes (and the nit names)


def demo_script() -> str:
    """The demo script, slowed down, with a failing command, a refused call and a line."""
    text = (resources.files("forgeline.demo") / "script.yaml").read_text(encoding="utf-8")
    script: dict[str, Any] = yaml.safe_load(text)
    agents = script["agents"]
    for turn in agents["implementation"]:
        turn["delay"] = IMPLEMENTATION_DELAY
    failing = {"name": "Bash", "input": {"command": FAILING}}
    agents["implementation"][0]["tool_calls"].append(failing)
    refused = {"name": "Read", "input": {"file_path": "/etc/hostname"}}
    agents["research"][0]["tool_calls"].append(refused)
    for turn in agents["review"]:
        for call in turn.get("tool_calls", []):
            for finding in call["input"].get("findings", []):
                if finding["path"].endswith("pagekit/pager.py"):
                    finding["line"] = PAGER_LINE
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


def accessible(page: Page) -> None:
    assert serious_violations(page) == []


def step(page: Page, name: str) -> Any:
    """The stepper item of a phase."""
    return page.locator(".step").filter(has=page.locator(".step-name", has_text=name))


def button(page: Page, name: str) -> Any:
    return page.get_by_role("button", name=name, exact=True)


def create_project(page: Page, server: Server, repo: Path) -> None:
    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name="New project")).to_be_visible()
    model = page.get_by_label("Model", exact=True)
    expect(model.locator("option").first).to_have_text("Default (scripted:script.yaml)")
    page.get_by_label("Feature request").fill(REQUEST)
    page.get_by_role("button", name="Add repository").click()
    expect(page.get_by_label("Repository URL or path")).to_have_count(2)
    page.get_by_role("button", name="Remove repository").last.click()
    expect(page.get_by_label("Repository URL or path")).to_have_count(1)
    expect(page.get_by_role("button", name="Remove repository")).to_be_hidden()
    # A repository that does not exist: the error is shown beside Create project.
    page.get_by_label("Repository URL or path").fill(str(repo.parent / "missing"))
    page.get_by_role("button", name="Create project").click()
    error = page.locator("#create-error")
    expect(error).to_contain_text("Could not create the project")
    assert (
        page.evaluate("document.querySelector('#create-error').previousElementSibling.textContent")
        == "Create project"
    )
    accessible(page)
    page.get_by_label("Repository URL or path").fill(str(repo))
    page.get_by_label("Branch (optional)").fill("main")
    page.get_by_label("Budget in USD (optional)").fill("5")
    shot(page, "new-project.png")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/projects/*")
    expect(page.get_by_role("heading", name=REQUEST)).to_be_visible()


def check_guard_rails(page: Page) -> None:
    """Before anything ran: only Start research can act; the others say why not."""
    expect(button(page, "Start research")).to_be_enabled()
    for name in ("Start planning", "Start implementation", "Pause", "Resume", "Cancel"):
        expect(button(page, name)).to_be_disabled()
    expect(button(page, "Start planning")).to_have_accessible_description(
        "Start planning: finish research first"
    )
    expect(button(page, "Cancel")).to_have_accessible_description(re.compile("nothing is running"))
    accessible(page)


def run_research(page: Page) -> None:
    button(page, "Start research").click()
    expect(page.get_by_role("status")).to_contain_text("Started research")
    log = page.get_by_role("log")
    expect(log).to_contain_text("Glob")
    expect(log).to_contain_text("Research completed", timeout=LONG)
    expect(step(page, "Research")).to_contain_text("completed")
    research = page.locator(".document[data-kind=research] .rendered")
    expect(research).to_contain_text("paginate() drops the last partial page")
    glob = log.locator("details.tool").filter(has_text="Glob").first
    glob.locator("summary").click()
    expect(glob.locator("pre")).to_contain_text("pager.py")
    refused = log.locator("details.tool.failed").filter(has_text="/etc/hostname")
    expect(refused.locator(".outcome")).to_contain_text("✗")
    expect(page.locator("#badge")).to_contain_text("completed")
    shot(page, "research-log.png", top="#log-h")


def rerun_asks_first(page: Page) -> None:
    """Start research on a finished research opens a dialog; Go back starts nothing."""
    button(page, "Start research").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Research has finished. Run it again?")
    expect(dialog.get_by_role("button", name="Run research again")).to_be_visible()
    shot(page, "confirm-dialog.png")
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    expect(step(page, "Research")).to_contain_text("completed")
    expect(button(page, "Start research")).to_be_focused()


def answer_questions(page: Page) -> None:
    button(page, "Start planning").click()
    empty = page.get_by_role("group", name=re.compile("Empty input"))
    expect(empty).to_be_visible(timeout=LONG)
    expect(step(page, "Planning")).to_contain_text("waiting")
    expect(page.locator("#badge")).to_contain_text("waiting")
    expect(button(page, "Start implementation")).to_be_disabled()
    empty.get_by_label("An empty list").check()
    regression = page.get_by_role("group", name=re.compile("Regression test"))
    expect(regression.get_by_role("checkbox")).to_have_count(2)
    regression.get_by_label("Partial last page").check()
    regression.get_by_label("Other").fill("Also compare with page_count() for sizes 1 to 5.")
    accessible(page)
    shot(page, "questions.png", top="#questions")
    button(page, "Submit answers").click()
    # The confirmation, unless the (fast, scripted) planning already finished over it.
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Answers sent|planning completed")
    )
    expect(step(page, "Planning")).to_contain_text("completed", timeout=LONG)
    expect(page.get_by_text("No questions waiting.")).to_be_visible()
    page.reload()
    answered = page.locator("dl.answered")
    expect(answered).to_contain_text("An empty list")
    expect(answered).to_contain_text("Also compare with page_count() for sizes 1 to 5.")
    expect(page.get_by_role("log")).to_contain_text("Answered “", timeout=LONG)


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


def pause_resume_and_cancel_asks(page: Page) -> None:
    button(page, "Start implementation").click()
    expect(step(page, "Implementation")).to_contain_text("running")
    expect(button(page, "Start research")).to_be_disabled()
    button(page, "Pause").click()
    expect(page.get_by_role("status")).to_contain_text("is paused")
    expect(step(page, "Implementation")).to_contain_text("paused")
    expect(page.locator("#badge")).to_contain_text("paused")
    expect(button(page, "Resume")).to_be_enabled()
    expect(button(page, "Pause")).to_be_disabled()
    button(page, "Cancel").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("A cancelled task cannot be resumed")
    dialog.get_by_role("button", name="Go back").click()
    expect(step(page, "Implementation")).to_contain_text("paused")
    button(page, "Resume").click()
    expect(page.get_by_role("status")).to_contain_text("is running")
    expect(step(page, "Implementation")).not_to_contain_text("paused")


def check_log(page: Page) -> None:
    log = page.get_by_role("log")
    checkpoint = log.locator(".group.checkpoint").first
    expect(checkpoint.locator("> summary")).to_contain_text("Checkpoint 1 (commit ")
    expect(checkpoint.locator(".group.overwatcher > summary")).to_contain_text(
        ["Review", "Security", "Test"]
    )
    expect(log.locator(".group.gate").first).to_be_attached()
    failed = log.locator("details.tool.failed").filter(has_text="SystemExit(3)")
    expect(failed.locator(".outcome")).to_have_text(" ✗ exit 3")
    passed = log.locator("details.tool").filter(has_text="unittest discover").first
    expect(passed.locator(".outcome")).to_have_text(" ✓ exit 0")
    expect(log.locator(".gate.passed")).to_contain_text("Gate passed")
    shot(page, "live-log.png", top="#log-h")


def check_review(page: Page) -> None:
    expect(step(page, "Documentation")).to_contain_text("completed", timeout=LONG)
    expect(step(page, "Implementation")).to_contain_text("completed")
    expect(page.locator("#badge")).to_contain_text("completed")
    review = page.locator("#review")
    tree = review.get_by_role("navigation", name="Files changed in pagekit")
    expect(tree.get_by_role("link", name="pager.py", exact=True)).to_be_visible()
    tree.get_by_role("link", name="test_pager.py", exact=True).click()
    expect(page).to_have_url(re.compile("#r-pagekit-tests-test-pager-py$"))
    pager = review.locator("details.file#r-pagekit-pagekit-pager-py")
    added = pager.locator("tr.add").filter(has_text="range(0, len(items), page_size)")
    expect(added.locator(".k", has_text="for")).to_be_visible()  # Pygments: a keyword
    expect(pager.locator("tr.del")).to_contain_text("len(items) - page_size + 1")
    at_line = pager.locator(f"tr#r-pagekit-pagekit-pager-py-L{PAGER_LINE} + tr.finding-row")
    expect(at_line).to_contain_text("The fix is minimal and matches page_count().")
    expect(review.locator("details.file#r-pagekit-tests-test-pager-py")).to_contain_text(
        "No test covers a partial last page"
    )
    commits = review.locator("ol.commits > li")
    expect(commits.first).to_contain_text("Fix paginate() dropping the last partial page")
    expect(commits.first.locator(".badge.agent")).to_have_text("implementation")
    commits.first.locator("summary").first.click()
    expect(commits.first.locator("details.file").first).to_be_visible()
    accessible(page)
    shot(page, "review.png", top="#review")


def check_findings_and_gate(page: Page) -> None:
    findings = page.locator("#findings")
    expect(findings.get_by_role("heading", name="Checkpoints")).to_be_visible()
    expect(findings.get_by_role("heading", name="Gate round 1")).to_be_visible()
    expect(findings.locator(".badge.sev-blocker")).to_have_text("blocker")
    expect(findings.locator(".finding.status-resolved").first).to_be_visible()
    findings.get_by_role("link", name=f"pagekit/pagekit/pager.py:{PAGER_LINE}").click()
    expect(page.locator(".inline-finding:target")).to_contain_text("matches page_count()")
    gate = page.locator("#gate")
    expect(gate.locator(".gate-result")).to_contain_text("Gate passed")
    expect(gate.locator(".verdicts")).to_contain_text("review: approve")
    failing = gate.locator("table.evidence tr.failed").filter(has_text="SystemExit(3)")
    expect(failing.locator("td").last).to_have_text("3")
    expect(gate.locator("table.evidence tr.ok").filter(has_text="unittest").first).to_be_visible()
    usage = page.locator("#usage")
    expect(usage.locator(".budget")).to_contain_text("of the project's $5.00 budget")
    expect(usage.locator("tr").filter(has_text="review")).to_contain_text("scripted:script.yaml")
    shot(page, "gate.png", top="#gate")
    shot(page, "project.png", top="#project")


def check_settings_and_404(page: Page, server: Server) -> None:
    page.goto(server.url + "/settings")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("anthropic"))).to_contain_text("not set")
    expect(page.locator("dl.settings")).to_contain_text("scripted:script.yaml")
    accessible(page)
    shot(page, "settings.png")
    response = page.goto(server.url + "/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name=re.compile("404"))).to_be_visible()
    accessible(page)
    shot(page, "not-found.png")


def check_projects_list(page: Page, server: Server, repo: Path) -> None:
    with server.client() as http:
        extra = {"feature_request": "Throwaway project", "repositories": [{"url": str(repo)}]}
        assert http.post("/api/projects", json=extra).status_code == 201
    page.goto(server.url + "/")
    link = page.get_by_role("link", name=REQUEST)
    expect(link).to_be_visible()
    page.get_by_label("Filter projects").fill("throwaway")
    expect(link).to_be_hidden()
    page.get_by_role("button", name="Delete Throwaway project").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("link", name="Throwaway project")).to_have_count(0)
    page.get_by_label("Filter projects").fill("")
    expect(page.locator(".projects li").first).to_contain_text("completed")
    accessible(page)
    shot(page, "projects.png")


def check_mobile(page: Page, url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    expect(button(page, "Start research")).to_be_visible()
    shot(page, "project-mobile.png")
    assert page.evaluate(WIDER_THAN_VIEWPORT) == []
    button(page, "Start research").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    shot(page, "confirm-mobile.png")
    page.get_by_role("button", name="Go back").click()
    shot(page, "review-mobile.png", top="#review")
    accessible(page)


def test_the_whole_flow_in_the_browser(tab: Page, demo_server: Server, tmp_path: Path) -> None:
    page = tab
    repo = make_sample_repo(tmp_path)
    create_project(page, demo_server, repo)
    project_url = page.url
    check_guard_rails(page)
    run_research(page)
    rerun_asks_first(page)
    answer_questions(page)
    edit_planning(page)
    pause_resume_and_cancel_asks(page)
    check_review(page)
    check_log(page)
    check_findings_and_gate(page)
    check_settings_and_404(page, demo_server)
    check_projects_list(page, demo_server, repo)
    check_mobile(page, project_url)
