"""The model per agent in Debian's Chromium: chosen on the project page and in the New project
form, kept across a reload and returned by the API, a refused choice shown beside its select,
the model shown per agent the one the agent then runs on, and no host path in the page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect

from api.axe import serious_violations
from api.chromium import chromium
from api.server import SCRIPT, Server, make_git_repo
from api.test_browser import SCREENSHOTS, WIDER_THAN_VIEWPORT

LINTER = """---
name: linter
description: Checks the style of each commit
tools: [Read, Grep]
model: openai:gpt-4.1-mini
---
You are the linter agent. You check the style of each commit.
"""


def _research_on(script: Path) -> str:
    """The built-in research agent, its file naming a model of its own."""
    text = (resources.files("forgeline.agents.definitions") / "research.md").read_text()
    return text.replace("name: research\n", f"name: research\nmodel: scripted:{script}\n", 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with OpenAI models on offer (a base URL is set), an operator agent `linter`
    with a model in its file, and research's file naming another script."""
    home = tmp_path_factory.mktemp("models-home")
    (home / "agents").mkdir()
    (home / "agents" / "linter.md").write_text(LINTER)
    other = home / "other.yaml"
    other.write_text(SCRIPT)
    (home / "agents" / "research.md").write_text(_research_on(other))
    running = Server(home, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=[1280, 390], ids=["desktop", "phone"])
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    width: int = request.param
    context = browser.new_context(viewport={"width": width, "height": 800 if width > 400 else 844})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def _create(server: Server, repo: Path, **extra: Any) -> str:
    with server.client() as http:
        body = {"feature_request": "Add a greeting option", "repositories": [{"url": str(repo)}]}
        created = http.post("/api/projects", json={**body, **extra})
        assert created.status_code == 201, created.text
        project_id: str = created.json()["id"]
        return project_id


def _api_project(server: Server, project_id: str) -> dict[str, Any]:
    with server.client() as http:
        shown: dict[str, Any] = http.get(f"/api/projects/{project_id}").json()
        return shown


def _inject_option(page: Page, label: str, value: str) -> None:
    """A choice the server refuses (a stale page or a hand-edited form would send one)."""
    page.get_by_label(label, exact=True).evaluate(
        "(select, value) => select.add(new Option(value, value))", value
    )
    page.get_by_label(label, exact=True).select_option(value)


def _shot(page: Page, name: str, selector: str) -> None:
    page.locator(selector).screenshot(path=SCREENSHOTS / name, animations="disabled")


def test_choose_a_model_for_review_on_the_project_page(
    page: Page, server: Server, tmp_path: Path
) -> None:
    project_id = _create(server, make_git_repo(tmp_path / "repo"))
    page.goto(f"{server.url}/projects/{project_id}")
    review = page.get_by_label("Model for review", exact=True)
    expect(review.locator("option").first).to_have_text("project default (scripted:script.yaml)")
    expect(review).to_have_accessible_description(
        re.compile(r"Runs on scripted:script\.yaml \(the server's default\)")
    )
    linter = page.get_by_label("Model for linter", exact=True)
    expect(linter).to_have_accessible_description(re.compile("gpt-4.1-mini .set in the agent's"))
    review.select_option("openai:gpt-4.1")
    page.get_by_role("button", name="Save per-agent models").click()
    expect(page.get_by_role("status")).to_have_text("Models per agent saved.")
    expect(page.locator("#agent-model-review-runs")).to_have_text(
        "Runs on openai:gpt-4.1 (chosen for this project)"
    )
    page.reload()
    expect(review).to_have_value("openai:gpt-4.1")
    assert _api_project(server, project_id)["agent_models"] == {"review": "openai:gpt-4.1"}
    # A choice not saved yet survives the page's live refresh (an event arriving meanwhile).
    page.get_by_label("Model for test", exact=True).select_option("openai:o3")
    page.get_by_role("heading", name="Live log").click()
    page.evaluate("window.forgelineRefresh()")
    page.wait_for_timeout(1000)
    expect(page.get_by_label("Model for test", exact=True)).to_have_value("openai:o3")
    page.get_by_label("Model for test", exact=True).select_option("")
    assert serious_violations(page) == []
    if page.viewport_size and page.viewport_size["width"] < 400:
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []

    _inject_option(page, "Model for review", "mystery:x")
    page.get_by_role("button", name="Save per-agent models").click()
    expect(review).to_have_accessible_description(re.compile("unknown model provider 'mystery'"))
    expect(page.locator("#agent-model-review-error")).to_be_visible()
    expect(page.locator("#agent-models-error")).to_be_hidden()
    expect(page.get_by_role("status")).not_to_contain_text("mystery")
    assert _api_project(server, project_id)["agent_models"] == {"review": "openai:gpt-4.1"}
    assert serious_violations(page) == []
    wide = page.viewport_size is not None and page.viewport_size["width"] > 400
    _shot(page, "agent-models.png" if wide else "agent-models-mobile.png", "#model-card")


def test_the_new_project_form_chooses_a_model_per_agent(
    page: Page, server: Server, tmp_path: Path
) -> None:
    repo = make_git_repo(tmp_path / "repo")
    page.goto(server.url + "/")
    disclosure = page.locator("summary", has_text="Model per agent")
    security = page.get_by_label("Model for security", exact=True)
    expect(security).to_be_hidden()
    disclosure.click()
    expect(security.locator("option").first).to_have_text("project default (scripted:script.yaml)")
    research = page.get_by_label("Model for research", exact=True)
    expect(research.locator("option").first).to_have_text("project default (scripted:other.yaml)")
    page.get_by_label("Model", exact=True).select_option("openai:gpt-4o")
    expect(security.locator("option").first).to_have_text("project default (openai:gpt-4o)")
    expect(research.locator("option").first).to_have_text("project default (scripted:other.yaml)")
    security.select_option("openai:o3")
    expect(security).to_have_accessible_description(re.compile(r"openai:o3 \(chosen for"))
    page.get_by_label("Feature request").fill("Add a greeting option")
    page.get_by_label("Repository URL or path").fill(str(repo))
    _inject_option(page, "Model for review", "gpt-4.1")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_label("Model for review", exact=True)).to_have_accessible_description(
        re.compile("must be written provider:model")
    )
    expect(page.locator("#create-error")).to_have_text(
        "Could not create the project: see Model per agent"
    )
    assert serious_violations(page) == []
    if page.viewport_size and page.viewport_size["width"] > 400:
        _shot(page, "new-project-models.png", "#new-project")
    page.get_by_label("Model for review", exact=True).select_option("")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/projects/*")
    expect(page.get_by_label("Model for security", exact=True)).to_have_value("openai:o3")
    shown = _api_project(server, page.url.rsplit("/", 1)[1])
    assert shown["model"] == "openai:gpt-4o"
    assert shown["agent_models"] == {"security": "openai:o3"}


def _finished_task(http: httpx2.Client, project_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks: list[dict[str, Any]] = http.get(f"/api/projects/{project_id}").json()["tasks"]
        if tasks and tasks[0]["status"] in ("completed", "failed"):
            return tasks[0]
        time.sleep(0.2)
    raise AssertionError("research did not finish")


@pytest.mark.parametrize("page", [1280], indirect=True, ids=["desktop"])
def test_the_shown_model_is_the_run_model_and_no_path_shows(
    page: Page, server: Server, tmp_path: Path
) -> None:
    spec = f"scripted:{server.script_file}"
    project_id = _create(server, make_git_repo(tmp_path / "repo"), agent_models={"test": spec})
    with server.client() as http:
        started = http.post(f"/api/projects/{project_id}/phases/research/start")
        assert started.status_code in (200, 201), started.text
        task = _finished_task(http, project_id)
    assert task["model"] == f"scripted:{server.home / 'other.yaml'}", task
    page.goto(f"{server.url}/projects/{project_id}")
    expect(page.locator("#agent-model-research-runs")).to_have_text(
        "Runs on scripted:other.yaml (set in the agent's file)"
    )
    test = page.get_by_label("Model for test", exact=True)
    expect(test.locator("option:checked")).to_have_text("scripted:script.yaml (current choice)")
    assert str(server.home) not in page.content()
    page.get_by_label("Model for planning", exact=True).select_option("openai:gpt-4.1")
    page.get_by_role("button", name="Save per-agent models").click()
    expect(page.get_by_role("status")).to_have_text("Models per agent saved.")
    shown = _api_project(server, project_id)["agent_models"]
    assert shown == {"test": spec, "planning": "openai:gpt-4.1"}
