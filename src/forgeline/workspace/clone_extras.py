"""What a plain `git clone` leaves out: Git LFS objects and submodules (run right after the
clone), and the user's uncommitted work in a local repository (never copied: warned about).

Each function returns warnings for the user instead of failing the project: a repository
whose LFS objects or submodules cannot be fetched is still worth working on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from forgeline.workspace.git_errors import GitError, failure_detail
from forgeline.workspace.git_run import run
from forgeline.workspace.repo import GitRepo
from forgeline.workspace.urls import redact_url

FETCH_TIMEOUT_S = 600.0


def uses_lfs(repo: GitRepo) -> bool:
    """Whether the checkout's `.gitattributes` routes any path through the LFS filter."""
    try:
        text = (repo.work_tree / ".gitattributes").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "filter=lfs" in text


def lfs_installed() -> bool:
    return shutil.which("git-lfs") is not None


async def fetch_lfs(repo: GitRepo) -> list[str]:
    """Install LFS's filters in the clone and check out its large files' real content."""
    if not uses_lfs(repo):
        return []
    if not lfs_installed():
        return [
            f"{repo.work_tree.name} uses Git LFS but git-lfs is not installed: its large files are "
            "pointer files in the workspace and are not pushed (apt-get install git-lfs)"
        ]
    for args in (("lfs", "install", "--local", "--skip-repo"), ("lfs", "pull")):
        result = await run(*args, repo=repo, check=False, timeout_s=FETCH_TIMEOUT_S)
        if not result.ok:
            detail = failure_detail(result.stderr, result.code)
            return [f"{repo.work_tree.name}: git {' '.join(args)} failed: {detail}"]
    return []


async def push_lfs(repo: GitRepo, *, branch: str, remote: str = "origin") -> None:
    """Upload the branch's LFS objects before the branch itself (git push skips the hook).

    Raises:
        GitError: The upload failed; the message says why.
    """
    if not uses_lfs(repo) or not lfs_installed():
        return
    await check_lfs_endpoint(repo)
    args = ("lfs", "push", remote, branch)
    result = await run(*args, repo=repo, check=False, timeout_s=FETCH_TIMEOUT_S)
    if not result.ok:
        raise GitError(
            f"git lfs push of {branch} failed: {failure_detail(result.stderr, result.code)}",
            command=args,
            stderr=result.stderr,
            code=result.code,
        )


async def init_submodules(repo: GitRepo) -> list[str]:
    """Check out the clone's submodules (recursively), as of the recorded commits."""
    if not (repo.work_tree / ".gitmodules").is_file():
        return []
    args = ("submodule", "update", "--init", "--recursive", "--depth", "50")
    result = await run(*args, repo=repo, check=False, timeout_s=FETCH_TIMEOUT_S)
    if result.ok:
        return []
    retry = await run(*args[:4], repo=repo, check=False, timeout_s=FETCH_TIMEOUT_S)
    if retry.ok:
        return []
    detail = failure_detail(retry.stderr, retry.code)
    return [f"{repo.work_tree.name}: its submodules could not be initialised: {detail}"]


LFS_CONFIG = ".lfsconfig"
_CLONED_LFS_CONFIG = "forgeline-cloned-lfsconfig"
"""In the git directory (out of every sandbox's reach): the clone's `.lfsconfig`."""
_NO_FILE = "(none)"


def remember_lfs_config(repo: GitRepo) -> None:
    """Keep the clone's `.lfsconfig` (the repository owner's), to compare at push time."""
    path = repo.work_tree / LFS_CONFIG
    data = _read(path) if path.is_file() and not path.is_symlink() else _NO_FILE
    (repo.git_dir / _CLONED_LFS_CONFIG).write_text(data, encoding="utf-8")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace").strip()


def _work_tree_version(path: Path) -> str:
    if path.is_file():
        return _read(path)
    return "(not a file)" if os.path.lexists(path) else _NO_FILE


async def _lfs_config_versions(repo: GitRepo) -> list[str]:
    """`.lfsconfig` in the work tree, the index and `HEAD` (what git-lfs may read)."""
    found = [_work_tree_version(repo.work_tree / LFS_CONFIG)]
    for spec in (f":{LFS_CONFIG}", f"HEAD:{LFS_CONFIG}"):
        shown = await run("show", spec, repo=repo, check=False)
        found.append(shown.stdout.strip() if shown.ok else _NO_FILE)
    return found


async def check_lfs_endpoint(repo: GitRepo) -> None:
    """Refuse to push LFS objects when `.lfsconfig` changed since the clone.

    git-lfs takes its server from `.lfsconfig` (`lfs.url`, `lfs.pushurl`), a file agents
    can write: a changed one could send the repository's LFS objects to any host.

    Raises:
        GitError: The file differs from the clone's (or the clone's was not kept).
    """
    kept = repo.git_dir / _CLONED_LFS_CONFIG
    cloned = _read(kept) if kept.is_file() else None
    if cloned is not None and all(v == cloned for v in await _lfs_config_versions(repo)):
        return
    raise GitError(
        f"not pushing Git LFS objects of {repo.work_tree.name}: its {LFS_CONFIG} is not the one "
        "it was cloned with (it names the LFS server, so a changed one could send the files "
        f"anywhere); restore {LFS_CONFIG} or push the LFS objects yourself"
    )


async def after_clone(repo: GitRepo, *, submodules: bool) -> list[str]:
    """Everything a clone needs beyond `git clone`; returns warnings."""
    remember_lfs_config(repo)
    warnings = await fetch_lfs(repo)
    if submodules:
        warnings += await init_submodules(repo)
    elif (repo.work_tree / ".gitmodules").is_file():
        warnings.append(
            f"{repo.work_tree.name} has submodules; not initialised (FORGELINE_SUBMODULES=0)"
        )
    return warnings


def _local_checkout(source: str) -> Path | None:
    """The working tree of a local, non-bare repository given as a path or `file://` URL."""
    path = Path(source.removeprefix("file://")).expanduser()
    return path if (path / ".git").exists() else None


async def uncommitted_work(source: str) -> str | None:
    """A warning when a local repository has changes a clone leaves out, else None."""
    path = _local_checkout(source)
    if path is None:
        return None
    try:
        status = await run(
            "status", "--porcelain", "--untracked-files=normal", repo=GitRepo.standard(path)
        )
    except GitError:
        return None
    changed = [line for line in status.stdout.splitlines() if line.strip()]
    if not changed:
        return None
    return (
        f"{redact_url(source)} has {len(changed)} uncommitted change(s) "
        f"(e.g. {changed[0][3:]}); they are left out: Forgeline works on committed history only"
    )


async def clone_warnings(
    clones: list[GitRepo], sources: list[str], *, submodules: bool
) -> list[str]:
    """Finish each clone (LFS, submodules) and check each source for uncommitted work."""
    warnings: list[str] = []
    for clone in clones:
        warnings += await after_clone(clone, submodules=submodules)
    for source in sources:
        note = await uncommitted_work(source)
        if note:
            warnings.append(note)
    return warnings
