"""Git helpers on real repositories: commits, diffs, log, worktrees, safety."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from forgeline.domain.errors import UserError
from forgeline.workspace import git, git_run
from forgeline.workspace.git import GitError
from forgeline.workspace.repo import GitRepo

from .conftest import MakeRepo, commit_file, sh_git

R = GitRepo.standard
AUTHOR = {"author_name": "Ada Agent", "author_email": "ada@forgeline.test"}


async def test_run_returns_output_and_raises_one_line_errors(make_repo: MakeRepo) -> None:
    repo = make_repo("proj")
    result = await git.run("rev-parse", "--abbrev-ref", "HEAD", repo=R(repo))
    assert (result.stdout.strip(), result.code, result.ok) == ("main", 0, True)
    failed = await git.run("rev-parse", "--verify", "no-such-ref", repo=R(repo), check=False)
    assert failed.code != 0
    with pytest.raises(GitError) as info:
        await git.run("checkout", "no-such-branch", repo=R(repo))
    message = str(info.value)
    assert message.startswith("git checkout failed: ")
    assert "no-such-branch" in message
    assert "\n" not in message
    assert info.value.code == 1


async def test_run_in_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a directory"):
        await git.run("status", cwd=tmp_path / "missing")
    with pytest.raises(GitError, match="no git directory"):
        await git.run("status", repo=GitRepo(work_tree=tmp_path, git_dir=tmp_path / "none"))


async def test_commit_all_none_without_changes_sha_with_changes(make_repo: MakeRepo) -> None:
    repo = make_repo("proj", files={"a.txt": "1\n", ".gitignore": "*.log\n"})
    assert not await git.has_changes(R(repo))
    assert await git.commit_all(R(repo), "nothing", **AUTHOR) is None

    (repo / "a.txt").write_text("2\n")
    (repo / "new" / "b.txt").parent.mkdir()
    (repo / "new" / "b.txt").write_text("new\n")
    (repo / "debug.log").write_text("ignored\n")
    assert await git.has_changes(R(repo))
    sha = await git.commit_all(R(repo), "Change a, add b\n\nBody line.", **AUTHOR)
    assert sha is not None and len(sha) == 40
    assert sha == await git.head_sha(R(repo))
    assert not await git.has_changes(R(repo))

    shown = sh_git(repo, "show", "--name-only", "--format=%an <%ae>|%cn|%B", sha)
    assert shown.startswith(
        "Ada Agent <ada@forgeline.test>|Ada Agent|Change a, add b\n\nBody line."
    )
    assert "new/b.txt" in shown and "a.txt" in shown
    assert "debug.log" not in shown
    assert (repo / "debug.log").exists()


async def test_commit_all_custom_author_and_empty_message(make_repo: MakeRepo) -> None:
    repo = make_repo("proj")
    (repo / "x.txt").write_text("x\n")
    with pytest.raises(GitError, match="empty"):
        await git.commit_all(R(repo), "  \n", **AUTHOR)
    await git.commit_all(R(repo), "x", author_name="Other", author_email="o@example.org")
    commits = await git.log(R(repo), 1)
    assert (commits[0].author_name, commits[0].author_email) == ("Other", "o@example.org")


async def test_repository_hooks_never_run(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo("proj")
    marker = tmp_path / "hook-ran"
    hooks = [repo / ".git" / "hooks", tmp_path / "custom-hooks"]
    for folder in hooks:
        folder.mkdir(exist_ok=True)
        for hook in ("pre-commit", "commit-msg", "post-commit", "post-checkout"):
            script = folder / hook
            script.write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
            script.chmod(0o755)
    sh_git(repo, "config", "core.hooksPath", str(hooks[1]))
    (repo / "x.txt").write_text("x\n")
    assert await git.commit_all(R(repo), "x", **AUTHOR) is not None
    await git.create_branch(R(repo), "feature/y")
    assert not marker.exists()


async def test_diff_stat_changed_files_and_log(make_repo: MakeRepo) -> None:
    repo = make_repo("proj", files={"a.txt": "one\n", "b.txt": "bee\n"})
    base = await git.head_sha(R(repo))
    await git.create_branch(R(repo), "forgeline/work", from_ref=base)
    commit_file(repo, "a.txt", "one\ntwo\n", "extend a")
    commit_file(repo, "c.txt", "sea\n", "add c")

    patch = await git.diff(R(repo), base)
    assert "+two" in patch and "+sea" in patch and "bee" not in patch
    stat = await git.diff(R(repo), base, stat=True)
    assert "a.txt | 1 +" in stat and "2 files changed" in stat
    assert await git.changed_files(R(repo), base) == ["a.txt", "c.txt"]

    (repo / "b.txt").write_text("changed\n")
    (repo / "untracked.txt").write_text("u\n")
    assert "+changed" in await git.diff(R(repo), base, head=None)
    assert "+changed" not in await git.diff(R(repo), base)
    assert await git.changed_files(R(repo), base, head=None) == [
        "a.txt",
        "b.txt",
        "c.txt",
        "untracked.txt",
    ]

    commits = await git.log(R(repo), 10)
    assert [c.subject for c in commits[:2]] == ["add c", "extend a"]
    since = await git.log(R(repo), 10, since=base)
    assert [c.subject for c in since] == ["add c", "extend a"]
    assert since[0].sha == await git.head_sha(R(repo))
    assert since[0].author_email == "author@example.com"
    assert since[0].date.startswith("20")
    assert [c.subject for c in await git.log(R(repo), 1)] == ["add c"]


async def test_log_of_empty_repository(tmp_path: Path) -> None:
    sh_git(tmp_path, "init", "-q", "-b", "main", "empty")
    assert await git.log(R(tmp_path / "empty")) == []
    with pytest.raises(GitError, match="unknown revision 'HEAD'"):
        await git.head_sha(R(tmp_path / "empty"))


async def test_branches_and_detached_head(make_repo: MakeRepo) -> None:
    repo = make_repo("proj")
    first = await git.head_sha(R(repo))
    commit_file(repo, "n.txt", "n\n", "second")
    await git.create_branch(R(repo), "side", from_ref=first, checkout=False)
    assert await git.current_branch(R(repo)) == "main"
    assert await git.ref_exists(R(repo), "refs/heads/side")
    assert not await git.ref_exists(R(repo), "refs/heads/missing")
    assert await git.head_sha(R(repo), "side") == first
    assert await git.merge_base(R(repo), "main", "side") == first
    sh_git(repo, "checkout", "-q", "--detach", first)
    assert await git.current_branch(R(repo)) is None


async def test_merge_base_without_common_ancestor(make_repo: MakeRepo) -> None:
    repo = make_repo("proj")
    sh_git(repo, "switch", "-q", "--orphan", "island")
    commit_file(repo, "i.txt", "i\n", "island")
    with pytest.raises(GitError, match="no common ancestor"):
        await git.merge_base(R(repo), "main", "island")


async def test_worktree_add_and_remove(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo("proj", files={"a.txt": "v1\n"})
    first = await git.head_sha(R(repo))
    commit_file(repo, "a.txt", "v2\n", "v2")
    tree = tmp_path / "ws" / ".forgeline" / "worktrees" / "review"
    linked = await git.worktree_add(R(repo), tree, first)
    assert linked.git_dir.parent == repo / ".git" / "worktrees"
    assert (tree / "a.txt").read_text() == "v1\n"
    assert (repo / "a.txt").read_text() == "v2\n"
    assert not await git.has_changes(R(repo))
    assert await git.current_branch(linked) is None
    assert await git.head_sha(linked) == first
    (tree / "scratch.txt").write_text("left behind by a test run\n")
    await git.worktree_remove(R(repo), tree)
    assert not tree.exists()
    assert not linked.git_dir.exists()  # git's administrative directory is gone too
    listing = sh_git(repo, "worktree", "list", "--porcelain")
    assert str(tree) not in listing
    with pytest.raises(GitError, match="already exists"):
        await git.worktree_add(R(repo), repo, first)


async def test_worktree_remove_after_directory_vanished(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("proj")
    tree = tmp_path / "wt"
    await git.worktree_add(R(repo), tree, "HEAD")
    shutil.rmtree(tree)
    await git.worktree_remove(R(repo), tree)
    assert str(tree) not in sh_git(repo, "worktree", "list", "--porcelain")
    await git.worktree_remove(R(repo), tree)  # already forgotten: git's prune, no error


async def test_revisions_that_look_like_options_are_refused(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("proj")
    target = tmp_path / "written"
    for call in (
        git.diff(R(repo), f"--output={target}"),
        git.head_sha(R(repo), "-h"),
        git.changed_files(R(repo), "HEAD", head=f"--output={target}"),
        git.log(R(repo), 1, ref="--all"),
    ):
        with pytest.raises(UserError):
            await call
    assert not target.exists()


async def test_remote_url_and_push_errors(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo("proj")
    assert await git.remote_url(R(repo)) is None
    with pytest.raises(GitError, match="no remote named 'origin'"):
        await git.push(R(repo), branch="main")


async def test_git_environment_cannot_redirect_git(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("proj")
    other = make_repo("other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    env = git.git_env()
    assert "GIT_DIR" not in env and env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["LC_ALL"] == "C" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    (repo / "mine.txt").write_text("mine\n")
    await git.commit_all(R(repo), "mine", **AUTHOR)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert "mine.txt" in sh_git(repo, "ls-files")
    assert "mine.txt" not in sh_git(other, "ls-files")
    assert not await git.has_changes(R(other))


def test_subcommand_skips_config_options() -> None:
    assert git_run.subcommand(("-c", "user.name=x", "commit", "-m", "m")) == "commit"
    assert git_run.subcommand(("--no-pager", "log")) == "log"
    assert git_run.subcommand(()) == "git"
