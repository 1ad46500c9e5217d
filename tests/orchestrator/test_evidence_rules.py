"""The evidence rules: which commands failed, which repositories have tests, what an
approval against them earns."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from forgeline.orchestrator.evidence import approval_findings, failure_line, repo_of
from forgeline.orchestrator.testsuite import repository_tests
from forgeline.tools.base import CommandRecord
from forgeline.workspace.repo import GitRepo

NPM_DEFAULT = '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'


def record(exit_code: int = 0, tail: str = "", command: str = "pytest") -> CommandRecord:
    return CommandRecord(command=command, exit_code=exit_code, output_tail=tail)


@pytest.mark.parametrize(
    ("exit_code", "tail", "failed"),
    [
        (0, "==== 3 passed in 0.1s ====", False),
        (0, "==== 1 failed, 2 passed in 0.1s ====", True),
        (0, "===== 2 errors in 0.3s =====", True),
        (0, "======= no tests ran in 0.01s =======", True),
        (0, "FAILED (failures=1)", True),
        (0, "Ran 4 tests in 0.001s\n\nOK", False),
        (0, "bash: line 1: python: command not found", True),
        (0, "/usr/bin/python3: No module named pytest", True),
        (0, "tests/test_a.py::test_no_module_named PASSED", False),
        (2, "", True),
    ],
)
def test_failure_line(exit_code: int, tail: str, failed: bool) -> None:
    assert (failure_line(record(exit_code, tail)) is not None) is failed


def test_repo_of() -> None:
    assert repo_of("cd api && pytest", ["api", "web"]) == "api"
    assert repo_of("cd ./web/src && npm test", ["api", "web"]) == "web"
    assert repo_of("pytest api/tests", ["api", "web"]) == "api"
    assert repo_of("ls", ["api", "web"]) is None
    assert repo_of("ls", ["api"]) == "api"


def test_approval_rules() -> None:
    tested = {"api": "tests/"}
    assert approval_findings("approve", [], {}) == []
    [missing] = approval_findings("approve", [], tested)
    assert missing.severity == "blocker" and "tests not run" in missing.message
    [failed] = approval_findings("approve", [record(0), record(1, command="pytest -x")], tested)
    assert failed.severity == "blocker" and "`pytest -x` exited with 1" in failed.message
    assert approval_findings("approve", [record(1), record(0)], tested) == []
    assert approval_findings("request_changes", [], tested) == []


def commit(repo: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@e"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    out = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"README.md": "x"}, None),
        ({"pkg/tests/test_a.py": ""}, "pkg/tests/"),
        ({"test_thing.py": ""}, "test_thing.py"),
        ({"src/a.test.ts": ""}, "src/a.test.ts"),
        ({"tox.ini": "[tox]"}, "tox.ini"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "[tool.pytest] in pyproject.toml"),
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, None),
        (
            {"package.json": '{"scripts": {"test": "vitest run"}}'},
            'a "test" script in package.json',
        ),
        (
            {"package.json": NPM_DEFAULT},
            None,
        ),
        ({"Makefile": "all:\n\ttrue\ntest: all\n\tpytest\n"}, "make test"),
        ({"node_modules/x/test/a.js": ""}, None),
    ],
)
async def test_repository_tests(tmp_path: Path, files: dict[str, str], reason: str | None) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    sha = commit(repo, files)
    assert await repository_tests(GitRepo.standard(repo), sha) == reason
