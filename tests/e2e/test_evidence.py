"""The gate passes only on evidence (DESIGN §12): the test overwatcher's approval is checked
against the commands it really ran, and a rejected push fails the run with git's reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from forgeline.console.summary import print_summary

from .helpers import cli_env, forgeline, git, make_repo, summary, write_script

CALC = "def add(a, b):\n    return a + b\n"
CALC_TEST = (
    "import unittest\n\nfrom calc import add\n\n\n"
    "class AddTest(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
)
TEST_COMMAND = "cd calc && python3 -m unittest discover -s tests -t . 2>&1 | tail -3"
APPROVE: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
    {"text": "Approved."},
]


def calc_repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "calc",
        {"calc.py": CALC, "tests/__init__.py": "", "tests/test_calc.py": CALC_TEST},
    )


def breaking_change() -> list[dict[str, Any]]:
    """The implementer breaks `add` (its tests now fail) and says all is well."""
    edit = {"file_path": "calc/calc.py", "old_string": "a + b", "new_string": "a - b"}
    return [
        {"tool_calls": [{"name": "Read", "input": {"file_path": "calc/calc.py"}}]},
        {"text": "Simplify add", "tool_calls": [{"name": "Edit", "input": edit}]},
        {"text": "Done; the tests pass."},
    ]


def run(tmp_path: Path, repo: str, agents: dict[str, Any], **env: str) -> Any:
    script = write_script(tmp_path / "script.yaml", agents)
    home_env = cli_env(tmp_path / "home", FORGELINE_MAX_GATE_ROUNDS="1", **env)
    request = "Simplify add"
    args = ["run", request, "--repo", repo, "--phases", "implementation"]
    return forgeline(*args, "--model", f"scripted:{script}", "--json", env=home_env)


def test_failing_tests_block_the_gate_although_the_test_agent_approves(tmp_path: Path) -> None:
    run_tests = {"tool_calls": [{"name": "Bash", "input": {"command": TEST_COMMAND}}]}
    agents = {
        "implementation": breaking_change(),
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": ([run_tests, *APPROVE]) * 2,
    }
    proc = run(tmp_path, str(calc_repo(tmp_path)), agents)
    assert proc.returncode == 1, proc.stderr[-3000:]
    result = summary(proc)
    assert result["status"] == "failed"
    assert result["gate"]["passed"] is False and result["gate"]["rounds"] == 1
    assert result["gate"]["verdicts"]["test"] == "approve"
    blockers = result["gate"]["blockers"]
    assert [b["agent"] for b in blockers] == ["test"]
    assert TEST_COMMAND in blockers[0]["message"]
    assert "open blocker" in result["error"]
    tests = [e for e in result["evidence"] if e["agent"] == "test"]
    assert [e["command"] for e in tests] == [TEST_COMMAND, TEST_COMMAND]
    assert all(e["repo"] == "calc" and e["failed"] for e in tests)
    assert all("FAILED (failures=1)" in e["output_tail"] for e in tests)
    assert {e["exit_code"] for e in tests} == {1}  # Bash runs with pipefail
    # The human summary names the failure first, then each test command with its exit code.
    text = human_summary(result)
    assert text.index("open blocker") < text.index(TEST_COMMAND) < text.index("Final gate")
    assert f"exit {tests[-1]['exit_code']}: FAILED" in text


def human_summary(result: dict[str, Any]) -> str:
    console = Console(record=True, width=250, color_system=None)
    print_summary(console, result)
    return console.export_text()


def test_approval_without_running_the_tests_is_a_blocker(tmp_path: Path) -> None:
    agents = {
        "implementation": breaking_change(),
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": APPROVE * 2,
    }
    proc = run(tmp_path, str(calc_repo(tmp_path)), agents)
    assert proc.returncode == 1, proc.stderr[-3000:]
    result = summary(proc)
    assert result["gate"]["passed"] is False
    [blocker] = result["gate"]["blockers"]
    assert "tests not run" in blocker["message"] and "tests/" in blocker["message"]
    assert result["gate"]["test_commands"] == []
    assert not [e for e in result["evidence"] if e["agent"] == "test"]
    assert "Test tests not run" in human_summary(result)


def test_rejected_push_fails_the_run_with_gits_reason(tmp_path: Path) -> None:
    seed = make_repo(tmp_path / "seed", {"README.md": "# notes\n"})
    origin = tmp_path / "notes.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen until Monday' >&2\nexit 1\n")
    hook.chmod(0o755)
    edit = {"file_path": "notes/README.md", "old_string": "# notes\n", "new_string": "# Notes\n"}
    agents = {
        "implementation": [
            {"tool_calls": [{"name": "Read", "input": {"file_path": "notes/README.md"}}]},
            {"text": "Capitalise the title", "tool_calls": [{"name": "Edit", "input": edit}]},
            {"text": "Done."},
        ],
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": APPROVE * 2,
        "documentation": [{"text": "Nothing to document."}],
    }
    proc = run(tmp_path, f"file://{origin}", agents)
    assert proc.returncode == 1, proc.stderr[-3000:]
    result = summary(proc)
    assert result["status"] == "failed"
    assert result["gate"]["passed"] is True
    [repo] = result["repositories"]
    assert repo["push"]["ok"] is False
    for text in (repo["push"]["detail"], result["error"]):
        assert "pushes are frozen until Monday" in text and "pre-receive hook declined" in text
    assert git(origin, "branch", "--list", repo["branch"]).strip() == ""
    text = human_summary(result)
    assert text.index("push FAILED") < text.index("Final gate") < text.index("Workspace")
