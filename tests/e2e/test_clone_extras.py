"""What a plain clone leaves out: Git LFS objects (fetched at clone, pushed with the branch),
submodules (initialised at clone unless FORGELINE_SUBMODULES=0) and uncommitted work in a
local repository (left out, with a warning)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forgeline.testing.git_http import GitHttpServer

from .helpers import cli_env, forgeline, git, make_repo, read_events, summary, write_script

RESEARCH = {
    "research": [
        {
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "research.md", "content": "# R"}}
            ]
        },
        {"text": "Done."},
    ]
}
APPROVE: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
    {"text": "Approved."},
]
COMMIT = ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm"]


def research(tmp_path: Path, repo: str, **env: str) -> Any:
    script = write_script(tmp_path / "research.yaml", RESEARCH)
    args = ["run", "Look around", "--repo", repo, "--phases", "research", "--json"]
    return forgeline(*args, "--model", f"scripted:{script}", env=cli_env(tmp_path / "home", **env))


def lfs_origin(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    git(seed, "lfs", "install", "--local")
    (seed / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    (seed / "model.bin").write_text("the real weights\n")
    git(seed, "add", "-A")
    git(seed, *COMMIT, "weights")
    origin = tmp_path / "weights.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(seed, "push", "-q", f"file://{origin}", "main")
    return origin


def test_lfs_objects_are_fetched_at_clone_and_pushed(tmp_path: Path) -> None:
    origin = lfs_origin(tmp_path)
    new = "new weights, uploaded with the branch\n"
    agents = {
        "implementation": [
            {"tool_calls": [{"name": "Read", "input": {"file_path": "weights/model.bin"}}]},
            {
                "text": "Add new weights",
                "tool_calls": [
                    {"name": "Write", "input": {"file_path": "weights/new.bin", "content": new}}
                ],
            },
            {"text": "Done."},
        ],
        "review": APPROVE * 2,
        "security": APPROVE * 2,
        "test": APPROVE * 2,
        "documentation": [{"text": "Nothing to document."}],
    }
    script = write_script(tmp_path / "impl.yaml", agents)
    args = ["run", "Add weights", "--repo", f"file://{origin}", "--phases", "implementation"]
    empty = tmp_path / "empty-gitconfig"  # no LFS filters from the user's own config
    empty.write_text("")
    env = cli_env(tmp_path / "home", GIT_CONFIG_GLOBAL=str(empty))
    proc = forgeline(*args, "--model", f"scripted:{script}", "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    clone = Path(result["workspace"]) / "weights"
    assert (clone / "model.bin").read_text() == "the real weights\n"  # not a pointer file
    assert result["repositories"][0]["push"]["ok"] is True
    # The branch's commit holds a pointer; the object itself reached the origin.
    pointer = git(origin, "show", f"{result['branch']}:new.bin")
    oid = hashlib.sha256(new.encode()).hexdigest()
    assert f"oid sha256:{oid}" in pointer
    assert (origin / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).read_text() == new


@pytest.fixture
def app_with_submodule(tmp_path: Path) -> Iterator[Path]:
    """A repository whose `lib/` is a submodule served over HTTP on loopback."""
    lib = make_repo(tmp_path / "lib", {"lib.py": "VALUE = 42\n"})
    served = tmp_path / "served"
    served.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(lib), str(served / "lib.git"))
    with GitHttpServer(served, users={"reader": "s3cret"}) as server:
        url = server.url("lib.git").replace("http://", "http://reader:s3cret@")
        app = make_repo(tmp_path / "app", {"app.py": "from lib.lib import VALUE\n"})
        git(app, "submodule", "add", "-q", url, "lib")
        git(app, *COMMIT, "Add lib")
        yield app


def test_submodules_are_initialised_at_clone(tmp_path: Path, app_with_submodule: Path) -> None:
    proc = research(tmp_path, f"file://{app_with_submodule}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    clone = Path(summary(proc)["workspace"]) / "app"
    assert (clone / "lib" / "lib.py").is_file(), proc.stderr[-2000:]
    assert (clone / "lib" / "lib.py").read_text() == "VALUE = 42\n"


def test_submodules_opt_out(tmp_path: Path, app_with_submodule: Path) -> None:
    proc = research(tmp_path, f"file://{app_with_submodule}", FORGELINE_SUBMODULES="0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    clone = Path(summary(proc)["workspace"]) / "app"
    assert not (clone / "lib" / "lib.py").exists()
    assert "not initialised (FORGELINE_SUBMODULES=0)" in proc.stderr


def test_uncommitted_work_is_left_out_with_a_warning(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "notes", {"README.md": "# notes\n"})
    (repo / "README.md").write_text("# notes, edited but not committed\n")
    (repo / "draft.txt").write_text("untracked\n")
    proc = research(tmp_path, str(repo))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    assert (Path(result["workspace"]) / "notes" / "README.md").read_text() == "# notes\n"
    assert "2 uncommitted change(s)" in proc.stderr and "they are left out" in proc.stderr
    env = cli_env(tmp_path / "home")
    warnings = [e["data"]["message"] for e in read_events(env) if e["type"] == "warning"]
    assert any("uncommitted change(s)" in w for w in warnings)


def test_submodules_are_read_only_to_agents(tmp_path: Path, app_with_submodule: Path) -> None:
    change = {"file_path": "app/lib/lib.py", "old_string": "42", "new_string": "43"}
    agents = {
        "implementation": [
            {"tool_calls": [{"name": "Read", "input": {"file_path": "app/lib/lib.py"}}]},
            {
                "tool_calls": [
                    {"name": "Edit", "input": change},
                    {"name": "Bash", "input": {"command": "echo 'VALUE = 0' >> app/lib/lib.py"}},
                    {"name": "Bash", "input": {"command": "touch app/lib/new.py"}},
                ]
            },
            {"text": "The submodule cannot be changed."},
        ],
        "review": APPROVE,
        "security": APPROVE,
        "test": APPROVE,
        "documentation": [{"text": "Nothing to document."}],
    }
    script = write_script(tmp_path / "impl.yaml", agents)
    repo = f"file://{app_with_submodule}"
    args = ["run", "Change lib", "--repo", repo, "--phases", "implementation", "--json"]
    env = cli_env(tmp_path / "home")
    proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    clone = Path(summary(proc)["workspace"]) / "app"
    assert (clone / "lib" / "lib.py").read_text() == "VALUE = 42\n"
    assert not (clone / "lib" / "new.py").exists()
    results = [e["data"] for e in read_events(env) if e["type"] == "tool_result"]
    edit = next(r for r in results if r["name"] == "Edit")
    assert edit["is_error"] and "app/lib/ is a submodule" in edit["content"]
    bash = [r["content"] for r in results if r["name"] == "Bash"]
    assert all("Read-only file system" in text for text in bash), bash
