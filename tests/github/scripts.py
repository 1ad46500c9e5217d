"""Scripted agents for the GitHub end-to-end tests."""

from __future__ import annotations

from typing import Any

Turns = list[dict[str, Any]]

PLAN = "# Plan\n\nDescribe each service in its README.\n\n## Steps\n\n1. Edit the READMEs.\n"
PROBE = "env; cat api/.git/config web/.git/config"


def report(verdict: str = "approve") -> Turns:
    return [
        {"tool_calls": [{"name": "Report", "input": {"verdict": verdict, "findings": []}}]},
        {"text": "ok"},
    ]


def test_run() -> Turns:
    bash = {"name": "Bash", "input": {"command": "cat */README.md"}}
    return [{"tool_calls": [bash]}, *report()]


def edit(path: str, old: str, new: str, text: str) -> Turns:
    return [
        {"tool_calls": [{"name": "Read", "input": {"file_path": path}}]},
        {
            "text": text,
            "tool_calls": [
                {"name": "Edit", "input": {"file_path": path, "old_string": old, "new_string": new}}
            ],
        },
    ]


def overwatchers(runs: int) -> dict[str, Turns]:
    return {
        "review": report() * runs,
        "security": report() * runs,
        "test": test_run() * runs,
    }


def planning() -> Turns:
    write = {"name": "Write", "input": {"file_path": "planning.md", "content": PLAN}}
    return [{"tool_calls": [write]}, {"text": "planning.md is written."}]


def two_repo_implementation() -> Turns:
    probe = {"tool_calls": [{"name": "Bash", "input": {"command": PROBE}}]}
    return [
        probe,
        *edit("api/README.md", "# api\n", "# api\n\nServes JSON.\n", "Describe the api"),
        *edit("web/README.md", "# web\n", "# web\n\nCalls the api.\n", "Describe the web app"),
        {"text": "Both READMEs describe their service."},
    ]
