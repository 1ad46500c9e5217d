"""Scripted agents for the GitHub end-to-end tests."""

from __future__ import annotations

from typing import Any

Turns = list[dict[str, Any]]

PLAN = "# Plan\n\nDescribe each service in its README.\n\n## Steps\n\n1. Edit the READMEs.\n"
PROBE = "env; cat .forgeline/git/api/config .forgeline/git/web/config"


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


API_ROUNDS = [
    ("# api\n", "# api\n\nServes JSON.\n", "Describe the api"),
    ("Serves JSON.\n", "Serves JSON on port 8080.\n", "Name the port"),
    ("port 8080.\n", "port 8080 over HTTP.\n", "Name the protocol"),
]


def api_rounds_script() -> dict[str, Turns]:
    """One repository `api`: an implementation run, then one per review round."""
    implementation: Turns = []
    for old, new, subject in API_ROUNDS:
        implementation += [*edit("api/README.md", old, new, subject), {"text": f"{subject}: done."}]
    return {
        "implementation": implementation,
        "documentation": [{"text": "Nothing to document."}] * len(API_ROUNDS),
        **overwatchers(2 * len(API_ROUNDS)),
    }
