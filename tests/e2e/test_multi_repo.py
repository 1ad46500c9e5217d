"""A project over two repositories: each gets its branch, its commits and its push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import cli_env, forgeline, git, make_repo, summary, write_script

APPROVE: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
    {"text": "ok"},
]


def bare_clone(source: Path, target: Path) -> Path:
    git(source.parent, "clone", "-q", "--bare", str(source), str(target))
    return target


def test_two_repositories_each_get_branch_commits_and_push(tmp_path: Path) -> None:
    origins = []
    for name in ("api", "web"):
        seed = make_repo(tmp_path / f"seed-{name}", {"README.md": f"# {name}\n"})
        origins.append(bare_clone(seed, tmp_path / f"{name}.git"))
    edit = [
        {
            "tool_calls": [
                {"name": "Read", "input": {"file_path": "api/README.md"}},
                {"name": "Read", "input": {"file_path": "web/README.md"}},
            ]
        },
        {
            "text": "Describe both services",
            "tool_calls": [
                {
                    "name": "Edit",
                    "input": {
                        "file_path": "api/README.md",
                        "old_string": "# api\n",
                        "new_string": "# api\n\nServes JSON.\n",
                    },
                },
                {
                    "name": "Edit",
                    "input": {
                        "file_path": "web/README.md",
                        "old_string": "# web\n",
                        "new_string": "# web\n\nCalls the api.\n",
                    },
                },
            ],
        },
        {"text": "Both READMEs describe their service."},
    ]
    agents = {"implementation": edit, "documentation": [{"text": "Nothing else to document."}]}
    for overwatcher in ("review", "security", "test"):
        agents[overwatcher] = APPROVE * 2
    script = write_script(tmp_path / "script.yaml", agents)
    args = [
        "run",
        "Describe the services",
        "--phases",
        "implementation",
        "--model",
        f"scripted:{script}",
        "--json",
    ]
    for origin in origins:
        args += ["--repo", f"file://{origin}"]
    env = cli_env(
        tmp_path / "home",
        FORGELINE_COMMIT_AUTHOR_NAME="Robo",
        FORGELINE_COMMIT_TEMPLATE="{subject}\n\n{files}\n",
    )
    proc = forgeline(*args, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = summary(proc)
    assert [r["name"] for r in result["repositories"]] == ["api", "web"]
    for repo, origin in zip(result["repositories"], origins, strict=True):
        assert [c["subject"] for c in repo["commits"]] == ["Describe both services"]
        pushed = git(origin, "log", "-1", "--format=%an|%B", repo["branch"]).strip()
        assert pushed == "Robo|Describe both services\n\n- README.md"
