"""Three real projects in one run: set up, tested by the implementer and the test overwatcher."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from e2e.helpers import cli_env, forgeline, git, read_events, summary, write_script
from forgeline.environment.records import EnvPaths, read_record
from forgeline.environment.view import CodeDir, build_view
from forgeline.sandbox.runner import run_command
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.workspace.layout import Workspace

from .conftest import concat_map_repo, exceptiongroup_repo, markupsafe_repo

MARKUPSAFE_SETUP = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . -r requirements/tests.txt"
)
SPEEDUPS = "python -c 'import markupsafe._speedups as s; print(\"speedups\", s.__file__)'"
TESTS = {
    "exceptiongroup": "cd exceptiongroup && python -m pytest -q -p no:cacheprovider",
    "markupsafe": "cd markupsafe && python -m pytest -q -p no:cacheprovider",
    "concat-map": "cd concat-map && tape test/*.js",
}


def _bash(command: str) -> dict[str, Any]:
    return {"name": "Bash", "input": {"command": command, "timeout": 120000}}


def _implementer() -> list[dict[str, Any]]:
    edits = [
        {"name": "Write", "input": {"file_path": f"{name}/FORGELINE.md", "content": "checked\n"}}
        for name in TESTS
    ]
    return [
        {"tool_calls": [_bash(c) for c in TESTS.values()]},
        {"tool_calls": [_bash(f"cd markupsafe && {SPEEDUPS}"), _bash(_NO_NETWORK)]},
        {"text": "Note that the tests pass", "tool_calls": edits},
        {"text": "Done: every test suite passes."},
    ]


_NO_NETWORK = (
    "cd exceptiongroup && pip download --retries 0 --timeout 5 --no-deps -d /tmp/dl iniconfig"
)


def _test_overwatcher() -> list[dict[str, Any]]:
    approve = {"name": "Report", "input": {"verdict": "approve", "findings": []}}
    run = [
        {"tool_calls": [_bash(c) for c in TESTS.values()]},
        {"tool_calls": [_bash(f"cd markupsafe && {SPEEDUPS}"), approve]},
        {"text": "ok"},
    ]
    return run * 2


def _bash_results(env: dict[str, str], agent: str) -> list[tuple[str, int]]:
    """(command, exit code) of every Bash call, from the stored tool_call/tool_result events."""
    events = read_events(env)
    calls = {
        (e["data"]["agent"], e["data"]["id"]): e["data"]["input"]["command"]
        for e in events
        if e["type"] == "tool_call" and e["data"]["name"] == "Bash"
        and e["data"]["agent"] == agent
    }  # fmt: skip
    found = []
    for e in events:
        key = (e["data"].get("agent"), e["data"].get("id"))
        if e["type"] == "tool_result" and key in calls:
            code = re.findall(r"exit code: (-?\d+)", e["data"]["content"])
            found.append((calls[key], int(code[-1]) if code else -999))
    return found


@pytest.fixture(scope="module")
def three_projects_run(
    downloads: Path, shared_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("real")
    repos = {
        "exceptiongroup": exceptiongroup_repo(downloads, tmp / "exceptiongroup"),
        "markupsafe": markupsafe_repo(downloads, tmp / "markupsafe"),
        "concat-map": concat_map_repo(downloads, tmp / "concat-map"),
    }
    agents = {
        "implementation": _implementer(),
        "test": _test_overwatcher(),
        "documentation": [{"text": "Nothing to document."}],
    }
    for name in ("review", "security"):
        agents[name] = [
            {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
            {"text": "ok"},
        ] * 2
    script = write_script(tmp / "script.yaml", agents)
    env = cli_env(tmp / "home", FORGELINE_CACHE_DIR=str(shared_cache))
    args = ["run", "Check the tests", "--phases", "implementation", "--json"]
    args += ["--model", f"scripted:{script}"]
    for path in repos.values():
        args += ["--repo", str(path)]
    args += ["--setup", "auto", "--setup", MARKUPSAFE_SETUP]
    proc = forgeline(*args, env=env, timeout=400)
    return proc, env, repos


def test_setup_by_detection_and_given_command_then_real_tests_pass(
    three_projects_run: tuple[subprocess.CompletedProcess[str], dict[str, str], dict[str, Path]],
) -> None:
    proc, env, _ = three_projects_run
    assert proc.returncode == 0, proc.stderr[-6000:]
    result = summary(proc)
    assert result["status"] == "completed"
    types = [e["type"] for e in read_events(env)]
    assert types.count("setup_started") == 3
    assert types.count("setup_completed") == 3
    assert "setup_output" in types
    assert types.index("setup_completed") < types.index("tool_call")
    ran = dict(_bash_results(env, "implementation"))
    for command in TESTS.values():
        assert ran[command] == 0, (command, ran)
    assert ran[f"cd markupsafe && {SPEEDUPS}"] == 0
    assert ran[_NO_NETWORK] != 0  # the network is off again after setup
    tested = _bash_results(env, "test")
    assert len(tested) == 8
    assert all(code == 0 for _, code in tested), tested


def test_no_environment_file_is_committed(
    three_projects_run: tuple[subprocess.CompletedProcess[str], dict[str, str], dict[str, Path]],
) -> None:
    proc, _, _ = three_projects_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    for repo in result["repositories"]:
        assert repo["commits"], repo
        path = Path(repo["path"])
        base = git(path, "rev-list", "--max-parents=0", "HEAD").strip()
        changed = git(path, "diff", "--name-only", base, "HEAD").split()
        assert changed == ["FORGELINE.md"], (repo["name"], changed)
        assert not git(path, "status", "--porcelain").strip()


def test_setup_results_are_recorded_per_repository(
    three_projects_run: tuple[subprocess.CompletedProcess[str], dict[str, str], dict[str, Path]],
) -> None:
    proc, _, _ = three_projects_run
    result = summary(proc)
    setup = result["setup"]
    assert list(setup) == ["exceptiongroup", "markupsafe", "concat-map"]
    assert setup["markupsafe"]["command"] == MARKUPSAFE_SETUP
    assert setup["exceptiongroup"]["command"].endswith("-e '.[test,tests,testing,dev]'")
    assert setup["concat-map"]["command"].startswith("npm install")
    for name, item in setup.items():
        assert item["exit_code"] == 0 and item["seconds"] > 0, name
    log = Path(result["workspace"]) / ".forgeline/env/exceptiongroup/setup.log"
    assert "Successfully installed" in log.read_text()


async def test_an_overwatcher_tests_the_checkpoint_not_the_newer_tree(
    three_projects_run: tuple[subprocess.CompletedProcess[str], dict[str, str], dict[str, Path]],
    tmp_path: Path,
) -> None:
    """The editable install follows the alias: the implementer's tree, or the worktree."""
    proc, env, _ = three_projects_run
    result = summary(proc)
    home, workspace = Path(env["FORGELINE_HOME"]), Path(result["workspace"])
    repo = workspace / "exceptiongroup"
    base = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    root = tmp_path / "worktrees"
    git(repo, "worktree", "add", "-q", "--detach", str(root / "exceptiongroup"), base)
    record = read_record(Workspace(home=home, project_id=result["project_id"]), "exceptiongroup")
    assert record is not None
    paths = EnvPaths(home=home.resolve(), cache=Path(env["FORGELINE_CACHE_DIR"]))
    module = repo / "src/exceptiongroup/__init__.py"
    original = module.read_text()
    module.write_text(original + "\nraise RuntimeError('the newer tree')\n")
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    hidden = (home, Path("/root"), Path("/home"))
    show = "cd exceptiongroup && python -c 'import exceptiongroup; print(exceptiongroup.__file__)'"
    try:
        checkpoint = build_view(
            paths,
            [CodeDir(record=record, repo=repo, code=root / "exceptiongroup")],
            sandbox_on=True,
        )
        policy = SandboxPolicy(workspace=root, writable=(root,), readable=(common,), hidden=hidden)
        seen = await run_command(show, checkpoint.apply(policy), timeout_s=60)
        assert seen.exit_code == 0, seen.output
        assert f"{record.code_path}/src/exceptiongroup/__init__.py" in seen.output
        assert (root / "exceptiongroup/src/exceptiongroup/_version.py").is_file()  # generated
        mine = build_view(paths, [CodeDir(record=record, repo=repo, code=repo)], sandbox_on=True)
        newer = await run_command(
            show, mine.apply(SandboxPolicy(workspace=workspace, hidden=hidden)), timeout_s=60
        )
        assert newer.exit_code != 0 and "the newer tree" in newer.output
    finally:
        module.write_text(original)
        git(repo, "worktree", "remove", "--force", str(root / "exceptiongroup"))
