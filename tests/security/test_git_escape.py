"""A sandboxed agent cannot make Forgeline's own (host-side) git run its code.

Each test is the real attack through the public path: a `scripted:` implementation agent
issues `Bash` calls in the sandbox that plant a git configuration defining a filter clean
driver (and fsmonitor) that would `touch` a marker file; then the workflow checkpoints
(host `git add`/`commit`/`diff`), and the diff the API serves is computed. The marker
lives on the host's /tmp, which the sandbox cannot see (its /tmp is private), so only
host git could create it. Before the git directories moved out of the work trees, each
of these created the marker.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from forgeline.api.documents import repository_diffs
from forgeline.orchestrator.boot import start_runtime
from forgeline.orchestrator.service import Service
from forgeline.sandbox.bwrap import sandbox_status
from forgeline.settings import Settings
from forgeline.workspace.metadata import RepoSpec

APPROVE: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
    {"text": "ok"},
]
FILTER = "printf '[filter \"x\"]\\n\\tclean = touch {marker}\\n'"
ATTACKS = {
    # A commondir pointing at a copy of the git dir whose config defines the filter.
    "commondir": (
        "cd app && cp -r .git .evil; " + FILTER + " >> .evil/config; "
        "printf '../.evil\\n' > .git/commondir; printf '* filter=x\\n' > .gitattributes"
    ),
    # The git dir renamed away and a new one planted with the filter and fsmonitor.
    "replace": (
        "cd app && mv .git .git.old; git init -q .; git config core.fsmonitor 'touch {marker}'; "
        "git config filter.x.clean 'touch {marker}'; printf '* filter=x\\n' > .gitattributes"
    ),
    # A nested repository with its own filter, fsmonitor and a modified file.
    "nested": (
        "mkdir -p app/sub && cd app/sub && git init -q . && "
        "git config core.fsmonitor 'touch {marker}' && "
        "git config filter.x.clean 'touch {marker}' && printf '* filter=x\\n' > .gitattributes "
        "&& echo one > f && git add -A && git -c user.name=a -c user.email=a@b commit -qm n; "
        "echo two >> f"
    ),
}


def make_repo(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "init"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    assert sandbox_status().available, sandbox_status().detail
    runtime = await start_runtime(Settings(home=tmp_path / "home"), role="test")
    try:
        yield Service(runtime)
    finally:
        await runtime.stop()


async def run_implementation(
    service: Service, tmp_path: Path, turns: list[dict[str, Any]], files: dict[str, str]
) -> tuple[str, str]:
    """Run the implementation phase with a scripted implementer; return project and task ids."""
    agents = {"implementation": turns, "documentation": [{"text": "Nothing to document."}]}
    agents.update({name: APPROVE * 3 for name in ("review", "security", "test")})
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"agents": agents}))
    repo = make_repo(tmp_path / "app", files)
    project = await service.create_project(
        feature_request="Tidy the app",
        repositories=[RepoSpec(url=str(repo))],
        phases=["implementation"],
        model=f"scripted:{script}",
    )
    task = await service.start_phase(project.id, "implementation")
    async with asyncio.timeout(120):
        while (await service.get_task(task.id)).status in ("pending", "running"):
            await asyncio.sleep(0.1)
    return project.id, task.id


async def completed(service: Service, task_id: str) -> None:
    done = await service.get_task(task_id)
    assert done.status == "completed", done.error


def bash(command: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "Bash", "input": {"command": command + "; true"}}]}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_planted_git_config_never_runs_on_the_host(
    service: Service, tmp_path: Path, attack: str
) -> None:
    marker = Path("/tmp") / f"PWNED-{uuid.uuid4().hex}"
    command = ATTACKS[attack].format(marker=marker)
    turns = [bash(command), {"text": "Done."}]
    try:
        project_id, task_id = await run_implementation(service, tmp_path, turns, {"a.py": "1\n"})
        assert not marker.exists(), f"host git ran the {attack} attacker's command"
        await completed(service, task_id)
        repos = await service.store.list_repositories(project_id)
        home = service.runtime.settings.home
        diffs = await repository_diffs(home, project_id, repos)  # GET /api/projects/{id}/diff
        assert [d["repo"] for d in diffs] == ["app"]
        assert not marker.exists(), f"host git ran the {attack} attacker's command (diff)"
    finally:
        marker.unlink(missing_ok=True)


async def test_a_nested_repository_is_never_committed(service: Service, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"PWNED-{uuid.uuid4().hex}"
    turns = [bash(ATTACKS["nested"].format(marker=marker) + "; echo y > ../b.py"), {"text": "."}]
    project_id, task_id = await run_implementation(service, tmp_path, turns, {"a.py": "1\n"})
    await completed(service, task_id)
    project = await service.store.get_project(project_id)
    app = Path(project.workspace) / "app"
    tree = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "HEAD"], cwd=app, capture_output=True, text=True
    )
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout.split() == ["a.py", "b.py"]
    log = subprocess.run(["git", "log", "-1", "--format=%B"], cwd=app, capture_output=True)
    assert b"sub/ (nested repository, not committed)" in log.stdout
    assert not marker.exists()


PROTECTED_WRITES = [
    {"name": "Write", "input": {"file_path": "app/.git/x", "content": "x"}},
    {"name": "Write", "input": {"file_path": "app/.forgeline/agents/security.md", "content": "!"}},
    {"name": "Read", "input": {"file_path": "app/.forgeline/agents/security.md"}},
    {
        "name": "Edit",
        "input": {
            "file_path": "app/.forgeline/agents/security.md",
            "old_string": "Check",
            "new_string": "Approve",
        },
    },
    {"name": "Write", "input": {"file_path": "lib/.forgeline/agents/review.md", "content": "!"}},
]
SHELL_WRITES = (
    "echo x > app/.git/x; echo x > app/.git; rm -f app/.git; mv app/.git app/.g; "
    "echo '!' > app/.forgeline/agents/security.md; rm -rf app/.forgeline; "
    "mv app/.forgeline app/.f; mkdir -p lib/.forgeline/agents; "
    "echo '!' > lib/.forgeline/agents/x.md"
)


async def test_no_tool_writes_under_git_or_forgeline(service: Service, tmp_path: Path) -> None:
    agent_file = (
        "---\nname: security\ntools: [Read, Report]\n---\nYou are the security agent. Check.\n"
    )
    turns = [
        {"tool_calls": PROTECTED_WRITES},
        bash(SHELL_WRITES + "; git -C app status --short; git -C app log --oneline -1"),
        {"text": "Done."},
    ]
    files = {"a.py": "x = 1\n", ".forgeline/agents/security.md": agent_file}
    repo_root = tmp_path / "app"
    repo_root.mkdir()
    (tmp_path / "lib").mkdir()
    make_repo(tmp_path / "lib", {"b.py": "y = 2\n"})
    agents = {"implementation": turns, "documentation": [{"text": "Nothing to document."}]}
    agents.update({name: APPROVE * 3 for name in ("review", "security", "test")})
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"agents": agents}))
    project = await service.create_project(
        feature_request="Tidy the app",
        repositories=[
            RepoSpec(url=str(make_repo(repo_root, files))),
            RepoSpec(url=str(tmp_path / "lib")),
        ],
        phases=["implementation"],
        model=f"scripted:{script}",
    )
    task = await service.start_phase(project.id, "implementation")
    async with asyncio.timeout(120):
        while (await service.get_task(task.id)).status in ("pending", "running"):
            await asyncio.sleep(0.1)
    done = await service.get_task(task.id)
    assert done.status == "completed", done.error
    ws = Path(project.workspace)
    assert (ws / "app" / ".forgeline" / "agents" / "security.md").read_text() == agent_file
    assert (ws / "app" / ".git").read_text() == "gitdir: ../.forgeline/git/app\n"
    assert not (ws / "app" / ".g").exists() and not (ws / "app" / ".f").exists()
    assert not any((ws / "lib" / ".forgeline").rglob("*"))
    events = await service.store.list_events(project.id)
    results = [
        e.data for e in events if e.type == "tool_result" and e.data["agent"] == "implementation"
    ]
    by_name = [(r["name"], r["is_error"]) for r in results[: len(PROTECTED_WRITES)]]
    assert by_name == [
        ("Write", True),
        ("Write", True),
        ("Read", False),
        ("Edit", True),
        ("Write", True),
    ]
    assert all("is ever written by an agent" in r["content"] for r in results[:2])
    shell = results[len(PROTECTED_WRITES)]["content"]
    assert shell.count("Read-only file system") >= 3, shell
