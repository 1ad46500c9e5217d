"""`forgeline run` as a new user runs it, on two PyPI sdists put under git (nobody here wrote them).

- `pluggy` 1.5.0: its tests need `pytest` (the `testing` extra); setuptools_scm writes the
  git-ignored `_version.py` at setup.
- `python-dateutil` 2.9.0.post0: a runtime dependency (`six`); pytest, freezegun and hypothesis
  come from `requirements-dev.txt`; `_version.py` generated and git-ignored too.

Research, planning (`--auto-answer`), implementation: the implementer edits a file in each and runs
the tests through `Bash`, the test overwatcher runs them too. A second project on the same
repositories breaks `easter()`: the test overwatcher approves anyway, and the gate fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from .helpers import cli_env, forgeline, git, summary, write_script

SDISTS = {"pluggy": "1.5.0", "python-dateutil": "2.9.0.post0"}
TESTS = {
    "pluggy": "cd pluggy && python -m pytest -q -p no:cacheprovider testing/test_helpers.py",
    "dateutil": "cd dateutil && python -m pytest -q -p no:cacheprovider tests/test_easter.py",
}
EASTER = "dateutil/src/dateutil/easter.py"
PLUGGY_INIT = "pluggy/src/pluggy/__init__.py"
CHANGED = {"pluggy": "src/pluggy/__init__.py", "dateutil": "src/dateutil/easter.py"}
Run = tuple[subprocess.CompletedProcess[str], dict[str, Any], dict[str, Path]]


@pytest.fixture(scope="session")
def sdists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both sdists, downloaded once per session."""
    target = tmp_path_factory.mktemp("sdists")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         "-d", str(target), *(f"{n}=={v}" for n, v in SDISTS.items())],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target


@pytest.fixture(scope="session")
def package_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`FORGELINE_CACHE_DIR`: the second project's setup downloads nothing again."""
    return tmp_path_factory.mktemp("forgeline-cache")


def _as_upstream(archive: Path, target: Path, generated: list[str], tag: str) -> Path:
    """The sdist as its repository has it: no PKG-INFO, egg-info or generated version file.

    Tagged like its release: setuptools_scm's version comes from the tag (without one it is
    0.1.dev1, and `freezegun`'s `python-dateutil>=2.7` sends pip backtracking for minutes).
    """
    unpacked = target.parent / f"{target.name}-unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    (top,) = list(unpacked.iterdir())
    shutil.move(top, target)
    unpacked.rmdir()
    for name in ["PKG-INFO", *generated]:
        path = target / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "sdist")
    git(target, "tag", tag)
    return target


def _bash(command: str) -> dict[str, Any]:
    return {"name": "Bash", "input": {"command": command, "timeout": 120000}}


def _read_edit(path: str, old: str, new: str) -> list[dict[str, Any]]:
    edit = {"name": "Edit", "input": {"file_path": path, "old_string": old, "new_string": new}}
    return [
        {"tool_calls": [{"name": "Read", "input": {"file_path": path}}]},
        {"tool_calls": [edit]},
    ]


def _agents(implementer: list[dict[str, Any]], test_runs: list[list[str]]) -> dict[str, Any]:
    """Each checkpoint's overwatchers see only its repository; the final gate sees both."""
    approve = {"name": "Report", "input": {"verdict": "approve", "findings": []}}
    question = {
        "question": "Where should the note go?",
        "header": "Placement",
        "multiSelect": False,
        "options": [{"label": "Module top", "description": "a comment"}, {"label": "README"}],
    }
    tested = [
        turn
        for names in test_runs
        for turn in (
            {"tool_calls": [_bash(TESTS[n]) for n in names]},
            {"tool_calls": [approve]},
            {"text": "The suites pass."},
        )
    ]
    runs = len(test_runs)
    return {
        "research": [
            {"tool_calls": [_bash(TESTS["dateutil"])]},
            {
                "tool_calls": [
                    {"name": "Write", "input": {"file_path": "research.md", "content": "# R\n"}}
                ]
            },
            {"text": "research.md is written."},
        ],
        "planning": [
            {"tool_calls": [{"name": "AskUser", "input": {"questions": [question]}}]},
            {
                "tool_calls": [
                    {"name": "Write", "input": {"file_path": "planning.md", "content": "# P\n"}}
                ]
            },
            {"text": "planning.md is written."},
        ],
        "implementation": implementer,
        "test": tested,
        "review": [{"tool_calls": [approve]}, {"text": "ok"}] * runs,
        "security": [{"tool_calls": [approve]}, {"text": "ok"}] * runs,
        "documentation": [{"text": "Nothing to document."}],
    }


def _run(tmp: Path, env: dict[str, str], repos: dict[str, Path], agents: dict[str, Any]) -> Run:
    tmp.mkdir()
    script = write_script(tmp / "script.yaml", agents)
    args = ["run", "Note the calendars", "--auto-answer", "--json", "--model", f"scripted:{script}"]
    for path in repos.values():
        args += ["--repo", str(path)]
    proc = forgeline(*args, env=env, timeout=400)
    return proc, summary(proc), repos


@pytest.fixture(scope="module")
def projects(
    sdists: Path, package_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("real-cli")
    repos = {
        "pluggy": _as_upstream(
            sdists / "pluggy-1.5.0.tar.gz", tmp / "pluggy", ["src/pluggy/_version.py"], "1.5.0"
        ),
        "dateutil": _as_upstream(
            sdists / "python-dateutil-2.9.0.post0.tar.gz",
            tmp / "dateutil",
            ["src/dateutil/_version.py", "src/python_dateutil.egg-info"],
            "2.9.0.post0",
        ),
    }
    env = cli_env(tmp / "home", FORGELINE_CACHE_DIR=str(package_cache))
    return tmp, env, repos


@pytest.fixture(scope="module")
def good_run(projects: tuple[Path, dict[str, str], dict[str, Path]]) -> Run:
    tmp, env, repos = projects
    implementer = [
        *_read_edit(EASTER, "EASTER_JULIAN = 1\n", "EASTER_JULIAN = 1  # the Julian calendar\n"),
        *_read_edit(PLUGGY_INIT, "__all__ = [\n", "__all__ = [  # the public API\n"),
        {"tool_calls": [_bash(c) for c in TESTS.values()]},
        {"text": "Both suites pass."},
    ]
    agents = _agents(implementer, [["dateutil"], ["pluggy"], list(TESTS)])
    return _run(tmp / "good", env, repos, agents)


def test_detected_setup_real_tests_and_only_the_change_committed(good_run: Run) -> None:
    proc, result, _ = good_run
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert result["status"] == "completed" and result["error"] is None
    for name in ("pluggy", "dateutil"):
        setup = result["setup"][name]
        assert setup["exit_code"] == 0 and "-e '.[test,tests,testing,dev]'" in setup["command"]
    assert "requirements-dev.txt" in result["setup"]["dateutil"]["command"]
    by_agent = {(e["agent"], e["command"]): e["exit_code"] for e in result["evidence"]}
    for command in TESTS.values():
        assert by_agent[("implementation", command)] == 0, result["evidence"]
        assert by_agent[("test", command)] == 0, result["evidence"]
    assert result["gate"]["passed"] is True
    for repo in result["repositories"]:
        assert repo["push"]["ok"] is True, repo
        path = Path(repo["path"])
        (commit,) = repo["commits"]
        shown = git(path, "show", "--name-only", "--format=", commit["sha"]).split()
        assert shown == [CHANGED[repo["name"]]], shown
        assert not git(path, "status", "--porcelain", "--ignored=no").strip()
    assert result["usage"]


def test_a_broken_change_fails_the_gate_naming_the_failing_command(
    good_run: Run, projects: tuple[Path, dict[str, str], dict[str, Path]]
) -> None:
    tmp, env, repos = projects
    broken = "return datetime.date(int(y), int(d), int(m))"
    implementer = [
        *_read_edit(EASTER, "return datetime.date(int(y), int(m), int(d))", broken),
        {"tool_calls": [_bash(TESTS["dateutil"])]},
        {"text": "Done."},
    ] * 2
    env = {**env, "FORGELINE_MAX_GATE_ROUNDS": "1"}
    proc, result, _ = _run(
        tmp / "broken", env, repos, _agents(implementer, [["dateutil"], list(TESTS)])
    )
    assert proc.returncode == 1, proc.stderr[-6000:]
    assert result["status"] == "failed"
    assert result["gate"]["passed"] is False
    assert TESTS["dateutil"] in result["error"], result["error"]
    failing = [e for e in result["evidence"] if e["command"] == TESTS["dateutil"]]
    assert any(e["agent"] == "test" and e["exit_code"] != 0 for e in failing), failing
    warm = result["setup"]["dateutil"]["seconds"]
    cold = good_run[1]["setup"]["dateutil"]["seconds"]
    assert warm < cold, (warm, cold)
