"""Concurrent overwatchers' worktrees on one repository: adds and removes never race.

Each overwatcher adds a `<task>/<repo>` worktree, works, then removes it (`git worktree
prune`). Unserialised, a prune running while another add is half done deletes that add's
administrative directory ("could not open '…/worktrees/<repo>/gitdir' for writing"); with
plain git this fails several times in every few dozen such overlaps.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from forgeline.workspace import git
from forgeline.workspace.layout import create_workspace
from forgeline.workspace.metadata import RepoSpec

BATCH = 8
ROUNDS = 4


def make_source(path: Path) -> Path:
    path.mkdir()
    (path / "a.py").write_text("A = 1\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "init"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


async def test_many_concurrent_worktree_adds_and_removes(tmp_path: Path) -> None:
    source = make_source(tmp_path / "app")
    ws = await create_workspace(
        home=tmp_path / "home", project_id="p", feature_request="x",
        repositories=[RepoSpec(url=str(source))],
    )  # fmt: skip
    repo = ws.repo("app")
    sha = await git.head_sha(repo)

    async def add(index: int) -> Path:
        tree = ws.worktree_path(f"task-{index}") / "app"
        linked = await git.worktree_add(repo, tree, sha)
        assert (tree / "a.py").read_text() == "A = 1\n"
        assert await git.head_sha(linked) == sha
        return linked.git_dir

    async def remove(index: int) -> None:
        await git.worktree_remove(repo, ws.worktree_path(f"task-{index}") / "app")

    admin_dirs = list(await asyncio.gather(*(add(i) for i in range(BATCH))))
    for start in range(BATCH, BATCH * ROUNDS, BATCH):  # one checkpoint's cleanup, the next's adds
        old, new = range(start - BATCH, start), range(start, start + BATCH)
        done = await asyncio.gather(*(remove(i) for i in old), *(add(i) for i in new))
        admin_dirs += done[BATCH:]
    await asyncio.gather(*(remove(i) for i in range(BATCH * (ROUNDS - 1), BATCH * ROUNDS)))
    assert all(isinstance(d, Path) and d.parent == repo.git_dir / "worktrees" for d in admin_dirs)
    listing = await git.run("worktree", "list", "--porcelain", repo=repo)
    assert listing.stdout.count("worktree ") == 1
    assert not any(ws.worktrees_dir.rglob("a.py"))


CHURN = """
import asyncio, sys
from pathlib import Path
from forgeline.workspace import git
from forgeline.workspace.layout import open_workspace

async def main(home: str, prefix: str) -> None:
    ws = open_workspace(Path(home), "p")
    repo = ws.repo("app")
    sha = await git.head_sha(repo)
    for round_ in range(3):
        trees = [ws.worktree_path(f"{prefix}-{round_}-{i}") / "app" for i in range(6)]
        await asyncio.gather(*(git.worktree_add(repo, tree, sha) for tree in trees))
        await asyncio.gather(*(git.worktree_remove(repo, tree) for tree in trees))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_worker_processes_on_one_machine_do_not_race(tmp_path: Path) -> None:
    source = make_source(tmp_path / "app")
    home = tmp_path / "home"
    ws = await create_workspace(
        home=home, project_id="p", feature_request="x", repositories=[RepoSpec(url=str(source))]
    )
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHURN, str(home), f"w{n}", stderr=asyncio.subprocess.PIPE
        )
        for n in range(3)
    ]
    async with asyncio.timeout(90):
        errors = [(await w.communicate())[1].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], errors
    listing = await git.run("worktree", "list", "--porcelain", repo=ws.repo("app"))
    assert listing.stdout.count("worktree ") == 1
