"""The sign-in page of token mode in Chromium: what a browser gets instead of raw 401 JSON,
accessible (axe-core), and photographed for the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from api.axe import serious_violations
from api.chromium import chromium
from api.server import Server
from api.test_browser import SCREENSHOTS

TOKEN = "signin-page-token-7d1"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("signin-home"), token=TOKEN)
    yield running
    running.stop()


def test_the_sign_in_page_is_a_page_and_accessible(guarded: Server) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(guarded.url + "/settings")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert serious_violations(page) == []
        page.get_by_label("API token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert serious_violations(page) == []
        page.screenshot(path=Path(SCREENSHOTS) / "signin.png", animations="disabled")
        page.get_by_label("API token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
        expect(page.get_by_role("row", name="openai")).to_contain_text("not set")
