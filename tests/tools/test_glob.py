"""The Glob tool on real directory trees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext
from forgeline.tools.globbing import compile_glob, expand_braces
from forgeline.tools.search import GlobTool

from .helpers import git_init, run_tool, write


async def glob(ctx: ToolContext, pattern: str, path: str | None = None) -> list[str]:
    arguments = {"pattern": pattern} if path is None else {"pattern": pattern, "path": path}
    return (await run_tool(GlobTool(), ctx, **arguments)).splitlines()


@pytest.fixture
def tree(workspace: Path) -> Path:
    write(workspace / "setup.py", "", mtime=1_000)
    write(workspace / "README.md", "", mtime=2_000)
    write(workspace / "src" / "pkg" / "core.py", "", mtime=5_000)
    write(workspace / "src" / "pkg" / "util.py", "", mtime=3_000)
    write(workspace / "src" / "pkg" / "data.json", "", mtime=4_000)
    write(workspace / "src" / "main.py", "", mtime=6_000)
    write(workspace / "docs" / "guide.txt", "", mtime=7_000)
    return workspace


async def test_double_star_matches_at_any_depth_newest_first(tree: Path, ctx: ToolContext) -> None:
    assert await glob(ctx, "**/*.py") == [
        "src/main.py",
        "src/pkg/core.py",
        "src/pkg/util.py",
        "setup.py",
    ]


async def test_single_star_stays_in_one_directory(tree: Path, ctx: ToolContext) -> None:
    assert await glob(ctx, "*.py") == ["setup.py"]
    assert await glob(ctx, "src/*.py") == ["src/main.py"]
    assert await glob(ctx, "src/**/*.py") == ["src/main.py", "src/pkg/core.py", "src/pkg/util.py"]


async def test_braces_classes_and_question_mark(tree: Path, ctx: ToolContext) -> None:
    assert await glob(ctx, "src/**/*.{json,py}") == [
        "src/main.py",
        "src/pkg/core.py",
        "src/pkg/data.json",
        "src/pkg/util.py",
    ]
    assert await glob(ctx, "src/pkg/[cu]*.py") == ["src/pkg/core.py", "src/pkg/util.py"]
    assert await glob(ctx, "src/pkg/[!c]*.py") == ["src/pkg/util.py"]
    assert await glob(ctx, "docs/gui?e.txt") == ["docs/guide.txt"]


async def test_path_argument_and_results_relative_to_root(tree: Path, ctx: ToolContext) -> None:
    assert await glob(ctx, "*.py", path="src/pkg") == ["src/pkg/core.py", "src/pkg/util.py"]
    assert await glob(ctx, f"{tree}/src/*.py") == ["src/main.py"]


async def test_only_files_are_listed(tree: Path, ctx: ToolContext) -> None:
    everything = await glob(ctx, "**/*")
    assert "src" not in everything
    assert "src/pkg" not in everything
    assert len(everything) == 7
    assert await glob(ctx, "src/**") == [
        "src/main.py",
        "src/pkg/core.py",
        "src/pkg/data.json",
        "src/pkg/util.py",
    ]


async def test_git_directories_are_skipped(workspace: Path, ctx: ToolContext) -> None:
    git_init(workspace / "repo")
    write(workspace / "repo" / "a.txt", "a")
    assert (workspace / "repo" / ".git" / "HEAD").exists()
    assert await glob(ctx, "**/*") == ["repo/a.txt"]


async def test_symlinked_directories_are_not_followed(workspace: Path, ctx: ToolContext) -> None:
    outside = workspace.parent / "outside"
    write(outside / "secret.py", "")
    (workspace / "link").symlink_to(outside, target_is_directory=True)
    write(workspace / "a.py", "")
    assert await glob(ctx, "**/*.py") == ["a.py"]


async def test_results_are_capped_at_1000(workspace: Path, ctx: ToolContext) -> None:
    for n in range(1005):
        write(workspace / "many" / f"f{n:04}.txt", "", mtime=10_000 + n)
    lines = await glob(ctx, "many/*.txt")
    assert len(lines) == 1001
    assert lines[0] == "many/f1004.txt"
    assert "showing the 1000 newest of 1005 matching files" in lines[-1]


async def test_errors_and_no_match(tree: Path, ctx: ToolContext) -> None:
    assert await glob(ctx, "**/*.rs") == ["No files found"]
    with pytest.raises(ToolError, match=r"'\.\.' segments"):
        await glob(ctx, "../**/*.py")
    with pytest.raises(ToolError, match="outside the workspace"):
        await glob(ctx, "*.py", path="..")
    with pytest.raises(ToolError, match="outside the workspace"):
        await glob(ctx, "/etc/*.conf")
    with pytest.raises(ToolError, match="not a directory"):
        await glob(ctx, "*", path="setup.py")


def test_compiled_glob_prunes_and_prefixes() -> None:
    matcher = compile_glob("src/pkg/*.py")
    assert matcher.prefix == ("src", "pkg")
    assert matcher.max_depth == 0
    assert compile_glob("**/*.py").max_depth is None
    assert expand_braces("a.{b,{c,d}}") == ["a.b", "a.c", "a.d"]
    assert expand_braces("{solo}") == ["{solo}"]


def _escape_links(workspace: Path) -> None:
    """`repo/link -> /etc` and `repo/other -> another workspace`, beside a real file."""
    write(workspace / "repo" / "a.py", "")
    (workspace / "repo" / "link").symlink_to("/etc", target_is_directory=True)
    neighbour = workspace.parent / "other-project"
    write(neighbour / "api" / "secrets.py", "")
    (workspace / "repo" / "other").symlink_to(neighbour, target_is_directory=True)


@pytest.mark.parametrize(
    "pattern",
    ["**/*", "repo/**/*", "repo/link/*", "repo/link/**/*", "repo/link/passwd", "repo/other/**"],
)
async def test_no_symlinked_directory_leads_out(
    workspace: Path, ctx: ToolContext, pattern: str
) -> None:
    _escape_links(workspace)
    found = await glob(ctx, pattern)
    assert not any("link/" in line or "other/" in line for line in found), found
    assert found in (["repo/a.py"], ["No files found"])


async def test_a_path_through_a_symlink_out_is_refused(workspace: Path, ctx: ToolContext) -> None:
    _escape_links(workspace)
    with pytest.raises(ToolError, match="outside the workspace"):
        await glob(ctx, "*", path="repo/link")
    with pytest.raises(ToolError, match="outside the workspace"):
        await glob(ctx, str(workspace / "repo" / "other" / "api" / "*.py"))


async def test_forgeline_files_are_never_listed(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / ".forgeline" / "metadata.json", "{}")
    write(workspace / ".forgeline" / "worktrees" / "t1" / "repo" / "a.py", "")
    write(workspace / ".forgeline" / "envs" / "venv" / "bin" / "python.py", "")
    write(workspace / "repo" / ".forgeline" / "agents" / "review.md", "")
    write(workspace / "repo" / "a.py", "")
    assert sorted(await glob(ctx, "**/*")) == ["repo/.forgeline/agents/review.md", "repo/a.py"]
    assert await glob(ctx, ".forgeline/**/*.py") == ["No files found"]
    assert await glob(ctx, "{.forgeline,repo}/**/*.py") == ["repo/a.py"]
    with pytest.raises(ToolError, match=r"Forgeline's own files \(\.forgeline/\)"):
        await glob(ctx, "*", path=".forgeline/worktrees")


async def test_gitignore_is_respected(workspace: Path, ctx: ToolContext) -> None:
    repo = workspace / "repo"
    git_init(repo)
    write(repo / ".gitignore", "/build\n*.log\n.venv/\n")
    write(repo / "src" / "app.py", "")
    write(repo / "src" / "debug.log", "")
    write(repo / "build" / "out.py", "")
    write(repo / ".venv" / "lib" / "site.py", "")
    write(repo / "docs" / "build" / "page.py", "")
    plain = workspace / "plain"
    write(plain / ".gitignore", "*.py\n")
    write(plain / "keep.txt", "")
    write(plain / "skip.py", "")
    everything = sorted(await glob(ctx, "**/*"))
    assert everything == [
        "plain/.gitignore",
        "plain/keep.txt",
        "repo/.gitignore",
        "repo/docs/build/page.py",
        "repo/src/app.py",
    ]
    assert await glob(ctx, "*", path="repo/src") == ["repo/src/app.py"]
    assert await glob(ctx, "repo/src/*") == ["repo/src/app.py"]


async def test_ignore_files_above_the_workspace_do_not_apply(
    workspace: Path, ctx: ToolContext
) -> None:
    write(workspace.parent / ".gitignore", "*\n")
    write(workspace / "repo" / "src" / "app.py", "")
    assert await glob(ctx, "**/*.py") == ["repo/src/app.py"]
    assert await glob(ctx, "*.py", path="repo/src") == ["repo/src/app.py"]


async def test_odd_directory_names_beside_the_path(workspace: Path, ctx: ToolContext) -> None:
    for name in ("we[ir]d *", "!bang", "a{b,c}", "sp ace "):
        write(workspace / name / "x.py", "")
    write(workspace / "src" / "x.py", "")
    assert await glob(ctx, "src/*.py") == ["src/x.py"]
    assert len(await glob(ctx, "*/x.py")) == 5


def _separate_git_dir_repo(workspace: Path) -> Path:
    """A repository laid out as Forgeline clones it: its git directory under `.forgeline/git/`
    (the work tree has a `.git` file), environments and caches in `info/exclude`."""
    git_dir = workspace / ".forgeline" / "git" / "app"
    git_dir.parent.mkdir(parents=True)
    subprocess.run(
        ["git", "init", "-q", f"--separate-git-dir={git_dir}", str(workspace / "app")], check=True
    )
    write(git_dir / "info" / "exclude", "# caches\n.venv/\n/gen.py\n*.pyc\n!keep.pyc\n")
    for name in ("main.py", "gen.py", "sub/gen.py", ".venv/bin/tool.py", "x.pyc", "keep.pyc"):
        write(workspace / "app" / name, "")
    return git_dir


async def test_info_exclude_of_a_separate_git_dir_is_respected(
    workspace: Path, ctx: ToolContext
) -> None:
    _separate_git_dir_repo(workspace)
    assert sorted(await glob(ctx, "**/*")) == ["app/keep.pyc", "app/main.py", "app/sub/gen.py"]
    assert sorted(await glob(ctx, "*", path="app/sub")) == ["app/sub/gen.py"]


async def test_info_exclude_is_respected_in_a_worktree(workspace: Path) -> None:
    git_dir = _separate_git_dir_repo(workspace)
    root = workspace / ".forgeline" / "worktrees" / "t1"
    git = ["git", f"--git-dir={git_dir}", f"--work-tree={workspace / 'app'}"]
    identity = ["-c", "user.name=T", "-c", "user.email=t@e"]
    for args in (["add", "-A"], [*identity, "commit", "-qm", "c"], ["worktree", "add", "-q"]):
        extra = [str(root / "app")] if args[0] == "worktree" else []
        subprocess.run([*git, *args, *extra], check=True)
    write(root / "app" / ".venv" / "lib.py", "")
    ctx = ToolContext(workspace=root, agent="review")
    assert "app/.venv/lib.py" not in await glob(ctx, "**/*")
    assert "app/main.py" in await glob(ctx, "**/*")
