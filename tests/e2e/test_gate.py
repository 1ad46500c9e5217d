"""The final gate's rules, through `forgeline run`: blockers go back to the implementer (and
reach its next model call), rounds are bounded, an overwatcher that fails or never reports
fails the run, and a second project on the same repository names its own branch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forgeline.testing.fake_replies import FakeToolCall, FakeTurn
from forgeline.testing.fakellm import FakeLLM

from .helpers import cli_env, forgeline, git, make_repo, read_events, summary, write_script

REQUEST = "Describe the notes tool"
APPROVE: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
    {"text": "Approved."},
]
BLOCKER = "The README must say how to install the tool."
MAJOR = "Say what kind of notes the tool keeps."
REQUEST_CHANGES: list[dict[str, Any]] = [
    {
        "tool_calls": [
            {
                "name": "Report",
                "input": {
                    "verdict": "request_changes",
                    "findings": [
                        {"severity": "blocker", "path": "notes/README.md", "message": BLOCKER}
                    ],
                },
            }
        ]
    },
    {"text": "Changes needed."},
]
# The implementation agent of these tests answers from the fake LLM server (so the test
# sees every request it sends); every other agent is scripted.
IMPLEMENTER = """\
---
name: implementation
description: The implementer, served by the fake LLM
tools: [Read, Write, Edit, Bash, Glob, Grep, TodoWrite]
model: openai:gpt-4.1
---
You are the implementation agent.
"""


def edit(old: str, new: str) -> dict[str, Any]:
    return {"file_path": "notes/README.md", "old_string": old, "new_string": new}


def scripted_edit() -> list[dict[str, Any]]:
    return [
        {"tool_calls": [{"name": "Read", "input": {"file_path": "notes/README.md"}}]},
        {
            "text": "Describe the tool",
            "tool_calls": [
                {"name": "Edit", "input": edit("# notes\n", "# notes\n\nKeeps notes.\n")}
            ],
        },
        {"text": "Done."},
    ]


def env_of(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


def run(tmp_path: Path, repo: Path, agents: dict[str, Any], name: str, **env: str) -> Any:
    script = write_script(tmp_path / f"{name}.yaml", agents)
    args = ["run", REQUEST, "--repo", str(repo), "--phases", "implementation", "--json"]
    home = cli_env(tmp_path / "home", **env)
    return forgeline(*args, "--model", f"scripted:{script}", env=home)


def test_gate_exhaustion_after_max_rounds(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "notes", {"README.md": "# notes\n"})
    agents = {
        "implementation": [*scripted_edit(), {"text": "I think it is fine."}],
        "review": APPROVE + REQUEST_CHANGES * 2,
        "security": APPROVE * 3,
        "test": APPROVE * 3,
    }
    proc = run(tmp_path, repo, agents, "exhaust", FORGELINE_MAX_GATE_ROUNDS="2")
    assert proc.returncode == 1, proc.stderr[-3000:]
    result = summary(proc)
    assert result["status"] == "failed"
    assert result["gate"]["passed"] is False and result["gate"]["rounds"] == 2
    assert "1 open blocker(s) after 2 round(s)" in result["error"] and BLOCKER in result["error"]
    assert result["gate"]["verdicts"] == {
        "review": "request_changes",
        "security": "approve",
        "test": "approve",
    }
    assert result["repositories"][0]["push"] is None  # never pushed


@pytest.mark.parametrize(
    ("test_agent", "expected"),
    [
        (
            [*APPROVE, {"text": "Looks fine to me."}],
            "the test overwatcher ended without calling Report",
        ),
        (APPROVE, "the scripted model has no more turns for agent 'test'"),
        ([], "the scripted model has no more turns for agent 'test'"),
    ],
    ids=["never-reports", "fails", "fails-everywhere"],
)
def test_an_overwatcher_that_fails_at_the_gate_fails_the_run(
    tmp_path: Path, test_agent: list[dict[str, Any]], expected: str
) -> None:
    repo = make_repo(tmp_path / "notes", {"README.md": "# notes\n"})
    agents = {
        "implementation": scripted_edit(),
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": test_agent,
    }
    proc = run(tmp_path, repo, agents, "fail")
    assert proc.returncode == 1, proc.stderr[-3000:]
    result = summary(proc)
    assert result["status"] == "failed" and result["gate"]["passed"] is False
    assert "an overwatcher failed at the final gate (test)" in result["error"]
    assert expected in result["error"]
    warnings = [
        e["data"]["message"] for e in read_events(env_of(tmp_path)) if e["type"] == "warning"
    ]
    failed_checkpoint = [w for w in warnings if "failed on its checkpoint" in w]
    assert len(failed_checkpoint) == (0 if test_agent else 1)


def test_a_checkpoint_overwatcher_failure_is_a_warning_when_the_gate_passes(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "notes", {"README.md": "# notes\n"})
    agents = {
        "implementation": scripted_edit(),
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": [{"text": "Looks fine."}, *APPROVE],  # no Report at the checkpoint
        "documentation": [{"text": "Nothing to document."}],
    }
    proc = run(tmp_path, repo, agents, "cp-fail")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    assert (result["status"], result["error"], result["gate"]["passed"]) == (
        "completed",
        None,
        True,
    )
    assert "failed on its checkpoint" in proc.stderr


def test_second_project_same_repo_round_two_gets_findings_and_edits_again(tmp_path: Path) -> None:
    """Two projects on one local repository with one request: the second is on `…-2` and says
    so everywhere; the gate's blocker reaches its implementer's next call, and in round two
    it edits the file it read in round one."""
    repo = make_repo(tmp_path / "notes", {"README.md": "# notes\n"})
    first = {
        "implementation": scripted_edit(),
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": APPROVE * 2,
        "documentation": [{"text": "Nothing to document."}],
    }
    proc = run(tmp_path, repo, first, "first")
    assert proc.returncode == 0, proc.stderr[-3000:]
    branch = summary(proc)["branch"]
    assert git(repo, "branch", "--list", branch).strip()  # pushed back to the local repo

    agents_dir = tmp_path / "home" / "agents"
    agents_dir.mkdir(parents=True)
    (agents_dir / "implementation.md").write_text(IMPLEMENTER)
    checkpoint_finding = {"severity": "major", "path": "notes/README.md", "message": MAJOR}
    checkpoint_review = [
        {
            "tool_calls": [
                {
                    "name": "Report",
                    "input": {"verdict": "approve", "findings": [checkpoint_finding]},
                }
            ]
        },
        {"text": "One remark."},
    ]
    second = {
        "review": checkpoint_review + REQUEST_CHANGES + APPROVE * 2,
        "security": APPROVE * 4,
        "test": APPROVE * 4,
        "documentation": [{"text": "Nothing to document."}],
    }
    install = edit("Keeps notes.\n", "Keeps notes.\n\nInstall: pip install notes\n")
    with FakeLLM() as fake:
        fake.enqueue(
            FakeTurn(
                tool_calls=[FakeToolCall(name="Read", input={"file_path": "notes/README.md"})]
            ),
            FakeTurn(
                text="Describe the tool",
                tool_calls=[
                    FakeToolCall(name="Edit", input=edit("# notes\n", "# notes\n\nKeeps notes.\n"))
                ],
            ),
            FakeTurn(text="Done."),
            FakeTurn(
                text="Say how to install", tool_calls=[FakeToolCall(name="Edit", input=install)]
            ),
            FakeTurn(text="Install instructions added."),
        )
        proc = run(
            tmp_path,
            repo,
            second,
            "second",
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=fake.openai_base_url,
        )
        requests = [json.dumps(r.body) for r in fake.requests]
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    assert result["branch"] == f"{branch}-2"
    assert result["repositories"][0]["branch"] == f"{branch}-2"
    assert result["gate"]["passed"] and result["gate"]["rounds"] == 2
    assert f"notes is on {branch}-2" in requests[0]
    assert f"{branch} is checked out" not in requests[0]
    # The gate's blocker is in the first call of round two, not before; the checkpoint's
    # finding reached the implementer once, by then at the latest.
    assert BLOCKER not in requests[2] and BLOCKER in requests[3]
    assert MAJOR not in requests[0] + requests[1]
    assert MAJOR in requests[3] and requests[4].count(MAJOR) == 1
    # Round two's Edit of the file read in round one went through.
    assert "has not been read" not in requests[4]
    workspace = Path(result["workspace"])
    assert "Install: pip install notes" in (workspace / "notes" / "README.md").read_text()
    assert git(repo, "log", "-1", "--format=%s", f"{branch}-2").strip() == "Say how to install"
