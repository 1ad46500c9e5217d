"""A repository's pull request in the terminal summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from forgeline.console.sanitize import safe as escape  # no control sequences, no markup


def print_pull_request(console: Console, repo: dict[str, Any]) -> None:
    """One line: the pull request's URL, or why there is none."""
    pull = repo.get("pull_request")
    if not pull:
        return
    if pull.get("url"):
        kind = "draft " if pull.get("draft") else ""
        state = "[red]FAILED[/] " if pull.get("status") == "failed" else ""
        console.print(f"   {state}{kind}pull request #{pull['number']}: {escape(pull['url'])}")
    if pull.get("detail"):
        colour = "red" if pull.get("status") == "failed" else "yellow"
        console.print(f"   [{colour}]pull request {pull['status']}:[/] {escape(pull['detail'])}")
