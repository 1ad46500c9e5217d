"""Path containment and write scopes, on real directories and symlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext
from forgeline.tools.files import EditTool, ReadTool, WriteTool
from forgeline.tools.paths import check_writable, display_path, resolve_in_workspace

from .helpers import git_init, run_tool, write


def test_relative_and_absolute_paths_inside_resolve(workspace: Path, ctx: ToolContext) -> None:
    target = write(workspace / "src" / "a.py", "x\n")
    assert resolve_in_workspace("src/a.py", ctx) == target
    assert resolve_in_workspace(str(target), ctx) == target
    assert resolve_in_workspace("./src/../src/a.py", ctx) == target
    assert resolve_in_workspace("new/file.txt", ctx) == workspace / "new" / "file.txt"
    assert display_path(target, ctx) == "src/a.py"
    assert display_path(workspace, ctx) == "."


@pytest.mark.parametrize(
    "path",
    ["../outside.txt", "src/../../outside.txt", "missing/../../outside.txt", "/etc/passwd"],
)
def test_escapes_are_refused(workspace: Path, ctx: ToolContext, path: str) -> None:
    write(workspace.parent / "outside.txt", "secret\n")
    with pytest.raises(ToolError, match="outside the workspace"):
        resolve_in_workspace(path, ctx)


def test_empty_and_nul_paths_are_refused(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="empty"):
        resolve_in_workspace("  ", ctx)
    with pytest.raises(ToolError, match="NUL"):
        resolve_in_workspace("a\x00b", ctx)


async def test_symlink_to_outside_file_is_refused_for_read_and_write(
    workspace: Path, ctx: ToolContext
) -> None:
    outside = write(workspace.parent / "secret.txt", "top secret\n")
    (workspace / "link.txt").symlink_to(outside)
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_tool(ReadTool(), ctx, file_path="link.txt")
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_tool(WriteTool(), ctx, file_path="link.txt", content="pwned")
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_tool(EditTool(), ctx, file_path="link.txt", old_string="top", new_string="x")
    assert outside.read_text() == "top secret\n"


async def test_dangling_symlink_pointing_outside_is_refused(
    workspace: Path, ctx: ToolContext
) -> None:
    target = workspace.parent / "created-by-agent.txt"
    (workspace / "dangling").symlink_to(target)
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_tool(WriteTool(), ctx, file_path="dangling", content="x")
    assert not target.exists()


async def test_symlinked_parent_directory_is_refused(workspace: Path, ctx: ToolContext) -> None:
    outside_dir = workspace.parent / "elsewhere"
    outside_dir.mkdir()
    write(outside_dir / "existing.txt", "old\n")
    (workspace / "linkdir").symlink_to(outside_dir, target_is_directory=True)
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_tool(WriteTool(), ctx, file_path="linkdir/new.txt", content="x")
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_tool(ReadTool(), ctx, file_path="linkdir/existing.txt")
    assert sorted(p.name for p in outside_dir.iterdir()) == ["existing.txt"]


async def test_symlink_inside_the_workspace_is_followed(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "real.txt", "hello\n")
    (workspace / "alias.txt").symlink_to(workspace / "real.txt")
    assert "hello" in await run_tool(ReadTool(), ctx, file_path="alias.txt")
    assert workspace / "real.txt" in ctx.read_files


def test_research_agent_may_only_write_research_md(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="research", writable=(workspace / "research.md",))
    check_writable(workspace / "research.md", ctx)
    with pytest.raises(ToolError, match=r"the research agent may only write research\.md"):
        check_writable(workspace / "planning.md", ctx)
    with pytest.raises(ToolError, match=r"may only write research\.md"):
        check_writable(workspace / "research.md" / "inner.txt", ctx)


async def test_write_scope_is_enforced_by_write_and_edit(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="planning", writable=(workspace / "planning.md",))
    write(workspace / "repo" / "main.py", "print(1)\n")
    await run_tool(ReadTool(), ctx, file_path="repo/main.py")
    with pytest.raises(ToolError, match=r"the planning agent may only write planning\.md"):
        await run_tool(WriteTool(), ctx, file_path="repo/main.py", content="x")
    with pytest.raises(ToolError, match=r"may only write planning\.md"):
        await run_tool(EditTool(), ctx, file_path="repo/main.py", old_string="1", new_string="2")
    assert (workspace / "repo" / "main.py").read_text() == "print(1)\n"
    out = await run_tool(WriteTool(), ctx, file_path="planning.md", content="# Plan\n")
    assert "Created planning.md" in out


def test_agent_without_write_scope(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="review")
    with pytest.raises(ToolError, match="the review agent may not write any files"):
        check_writable(workspace / "notes.md", ctx)


def test_directory_scope_allows_files_below_it(workspace: Path) -> None:
    (workspace / "repo").mkdir()
    ctx = ToolContext(workspace=workspace, agent="implementation", writable=(workspace / "repo",))
    check_writable(workspace / "repo" / "deep" / "new.py", ctx)
    with pytest.raises(ToolError, match="may only write files under repo/"):
        check_writable(workspace / "research.md", ctx)


async def test_git_directories_are_never_written(workspace: Path, ctx: ToolContext) -> None:
    git_init(workspace / "repo")
    with pytest.raises(ToolError, match=r"\.git"):
        await run_tool(WriteTool(), ctx, file_path="repo/.git/hooks/pre-commit", content="x")
    with pytest.raises(ToolError, match=r"\.git"):
        check_writable(workspace / ".git" / "config", ctx)
    assert not (workspace / "repo" / ".git" / "hooks" / "pre-commit").exists()


async def test_forgeline_files_of_a_repository_are_never_written(
    workspace: Path, ctx: ToolContext
) -> None:
    agent = write(workspace / "repo" / ".forgeline" / "agents" / "security.md", "Check.\n")
    await run_tool(ReadTool(), ctx, file_path="repo/.forgeline/agents/security.md")
    with pytest.raises(ToolError, match=r"nothing under \.forgeline/ is ever written"):
        await run_tool(WriteTool(), ctx, file_path="repo/.forgeline/agents/security.md", content="")
    with pytest.raises(ToolError, match=r"\.forgeline/"):
        await run_tool(
            EditTool(), ctx, file_path=str(agent), old_string="Check", new_string="Approve"
        )
    with pytest.raises(ToolError, match=r"\.forgeline/"):
        await run_tool(WriteTool(), ctx, file_path="other/.forgeline/setup.sh", content="x")
    assert agent.read_text() == "Check.\n"
    assert not (workspace / "other").exists()


@pytest.mark.parametrize(("link", "target"), [("docs", ".forgeline"), (".forgeline", "docs")])
async def test_symlinks_do_not_lead_around_the_protection(
    workspace: Path, ctx: ToolContext, link: str, target: str
) -> None:
    (workspace / "repo" / target).mkdir(parents=True)
    (workspace / "repo" / link).symlink_to(target)
    with pytest.raises(ToolError, match=r"\.forgeline/"):
        await run_tool(WriteTool(), ctx, file_path=f"repo/{link}/setup.sh", content="x")
    assert not (workspace / "repo" / target / "setup.sh").exists()
    await run_tool(WriteTool(), ctx, file_path="repo/forgeline.md", content="fine\n")
