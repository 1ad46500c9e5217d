"""The Grep tool, running the real ripgrep binary on real trees and git repositories."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext
from forgeline.tools.ripgrep import find_rg
from forgeline.tools.search import GrepTool

from .helpers import git_init, run_tool, write


async def grep(ctx: ToolContext, pattern: str, **options: Any) -> list[str]:
    return (await run_tool(GrepTool(), ctx, pattern=pattern, **options)).splitlines()


@pytest.fixture
def tree(workspace: Path) -> Path:
    write(workspace / "app.py", "import os\n\ndef main():\n    return TODO\n", mtime=1_000)
    write(workspace / "lib" / "util.py", "def helper():\n    # todo: tidy\n    pass\n", mtime=3_000)
    write(workspace / "lib" / "notes.txt", "TODO one\nnothing\nTODO two\n", mtime=2_000)
    write(workspace / ".github" / "ci.yml", "run: TODO\n", mtime=500)
    return workspace


def test_rg_comes_from_the_virtualenv() -> None:
    assert find_rg().startswith(str(Path(sys.executable).parent))


async def test_files_with_matches_is_the_default_newest_first(tree: Path, ctx: ToolContext) -> None:
    assert await grep(ctx, "TODO") == [
        "Found 3 files",
        "lib/notes.txt",
        "app.py",
        ".github/ci.yml",
    ]


async def test_case_insensitive(tree: Path, ctx: ToolContext) -> None:
    lines = await grep(ctx, "todo", **{"-i": True})
    assert lines[0] == "Found 4 files"
    assert lines[1] == "lib/util.py"


async def test_content_mode_with_line_numbers(tree: Path, ctx: ToolContext) -> None:
    lines = await grep(ctx, "TODO", output_mode="content", path="lib")
    assert lines == ["lib/notes.txt:1:TODO one", "lib/notes.txt:3:TODO two"]
    plain = await grep(ctx, "TODO", output_mode="content", path="lib", **{"-n": False})
    assert plain == ["lib/notes.txt:TODO one", "lib/notes.txt:TODO two"]


async def test_single_file_path_still_names_the_file(tree: Path, ctx: ToolContext) -> None:
    assert await grep(ctx, "main", output_mode="content", path="app.py") == ["app.py:3:def main():"]
    assert await grep(ctx, "main", path=str(tree / "app.py")) == ["Found 1 file", "app.py"]


async def test_context_lines(tree: Path, ctx: ToolContext) -> None:
    lines = await grep(ctx, "return", output_mode="content", **{"-C": 1})
    assert lines == ["app.py-3-def main():", "app.py:4:    return TODO"]
    after = await grep(ctx, "helper", output_mode="content", **{"-A": 1})
    assert after == ["lib/util.py:1:def helper():", "lib/util.py-2-    # todo: tidy"]


async def test_glob_and_type_filters(tree: Path, ctx: ToolContext) -> None:
    assert await grep(ctx, "TODO", glob="*.txt") == ["Found 1 file", "lib/notes.txt"]
    assert await grep(ctx, "TODO|todo", glob="*.{py,yml}") == [
        "Found 3 files",
        "lib/util.py",
        "app.py",
        ".github/ci.yml",
    ]
    assert await grep(ctx, "def", type="py") == ["Found 2 files", "lib/util.py", "app.py"]


async def test_count_mode(tree: Path, ctx: ToolContext) -> None:
    lines = await grep(ctx, "TODO", output_mode="count", path="lib")
    assert lines == ["lib/notes.txt:2", "", "Found 2 matches in 1 file"]


async def test_head_limit(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "many.txt", "".join(f"hit {n}\n" for n in range(100)))
    for n in range(5):
        write(workspace / f"f{n}.txt", "hit\n", mtime=1_000 + n)
    lines = await grep(ctx, "hit", output_mode="content", path="many.txt", head_limit=3)
    assert lines[:3] == ["many.txt:1:hit 0", "many.txt:2:hit 1", "many.txt:3:hit 2"]
    assert "cut at head_limit=3" in lines[3]
    listed = await grep(ctx, "hit", glob="f*.txt", head_limit=2)
    assert listed[:3] == ["Found 5 files", "f4.txt", "f3.txt"]
    assert "cut at head_limit=2" in listed[3]


async def test_output_cap_stops_reading(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, max_output_chars=2_000)
    write(workspace / "big.txt", "needle in a haystack\n" * 50_000)
    lines = await grep(ctx, "needle", output_mode="content")
    assert 50 < len(lines) < 120
    assert "cut at the output size cap" in lines[-1]


async def test_gitignore_is_respected_in_repos_and_plain_folders(workspace: Path) -> None:
    repo = workspace / "repo"
    git_init(repo)
    plain = workspace / "plain"
    for root in (repo, plain):
        write(root / ".gitignore", "build/\n*.log\n")
        write(root / "src.py", "secret_token = 1\n")
        write(root / "build" / "out.py", "secret_token = 2\n")
        write(root / "debug.log", "secret_token = 3\n")
    ctx = ToolContext(workspace=workspace)
    found = await grep(ctx, "secret_token")
    assert sorted(found[1:]) == ["plain/src.py", "repo/src.py"]
    assert not any(".git/" in line for line in await grep(ctx, "core", path="repo"))


async def test_bad_regex_is_a_tool_error(tree: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="regex parse error"):
        await grep(ctx, "foo(")
    with pytest.raises(ToolError, match="unrecognized file type"):
        await grep(ctx, "foo", type="nosuchtype")


async def test_no_matches_and_odd_patterns(tree: Path, ctx: ToolContext) -> None:
    assert await grep(ctx, "zzz_not_there") == ["No matches found"]
    write(tree / "flags.txt", "use --force here\n")
    assert await grep(ctx, "--force") == ["Found 1 file", "flags.txt"]


async def test_nothing_to_search_is_no_match(workspace: Path, ctx: ToolContext) -> None:
    assert (await grep(ctx, "x"))[0] == "No matches found"
    write(workspace / "a.py", "x = 1\n")
    lines = await grep(ctx, "x", glob="*.rs")
    assert lines[0] == "No matches found"
    assert "no files were searched" in lines[1]


async def test_symlinks_to_outside_are_not_searched(workspace: Path, ctx: ToolContext) -> None:
    outside = workspace.parent / "outside"
    write(outside / "secret.txt", "SECRET\n")
    (workspace / "file-link.txt").symlink_to(outside / "secret.txt")
    (workspace / "dir-link").symlink_to(outside, target_is_directory=True)
    write(workspace / "visible.txt", "SECRET\n")
    assert await grep(ctx, "SECRET") == ["Found 1 file", "visible.txt"]
    with pytest.raises(ToolError, match="outside the workspace"):
        await grep(ctx, "SECRET", path="dir-link")


async def test_multiline(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "m.py", "class A:\n    pass\n")
    assert await grep(ctx, r"A:.\s+pass") == ["No matches found"]
    assert await grep(ctx, r"A:.\s+pass", multiline=True) == ["Found 1 file", "m.py"]
    with pytest.raises(ToolError, match="multiline"):
        await grep(ctx, r"A:\n\s+pass")
    lines = await grep(ctx, r"A:\n\s+pass", multiline=True, output_mode="content")
    assert lines == ["m.py:1:class A:", "m.py:2:    pass"]


async def test_paths_outside_are_refused(tree: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="outside the workspace"):
        await grep(ctx, "root", path="/etc")
    with pytest.raises(ToolError, match="path not found"):
        await grep(ctx, "x", path="missing")


async def test_fast_on_a_large_tree(workspace: Path, ctx: ToolContext) -> None:
    for d in range(40):
        directory = workspace / f"pkg{d}"
        directory.mkdir()
        for f in range(100):
            fd = os.open(directory / f"m{f}.py", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, f"def func_{d}_{f}():\n    return {f}\n".encode())
            os.close(fd)
    started = time.monotonic()
    lines = await grep(ctx, "def func_", output_mode="content", head_limit=5)
    assert len(lines) == 6
    one = await grep(ctx, r"func_32_17\b", output_mode="content")
    assert one == ["pkg32/m17.py:1:def func_32_17():"]
    listed = await grep(ctx, "return", head_limit=10)
    assert listed[0] == "Found 4000 files"
    assert time.monotonic() - started < 10


async def test_no_symlinked_directory_leads_out(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "repo" / "a.txt", "root here\n")
    (workspace / "repo" / "link").symlink_to("/etc", target_is_directory=True)
    assert await grep(ctx, "root") == ["Found 1 file", "repo/a.txt"]
    assert (await grep(ctx, "root", glob="repo/link/**"))[0] == "No matches found"
    assert await grep(ctx, "root", path="repo") == ["Found 1 file", "repo/a.txt"]
    with pytest.raises(ToolError, match="outside the workspace"):
        await grep(ctx, "root", path="repo/link")


async def test_forgeline_files_are_never_searched(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / ".forgeline" / "logs" / "t1.jsonl", '{"text": "needle"}\n')
    write(workspace / ".forgeline" / "worktrees" / "t1" / "repo" / "a.py", "needle\n")
    write(workspace / "repo" / ".forgeline" / "setup.sh", "echo needle\n")
    write(workspace / "repo" / "a.py", "needle\n")
    found = await grep(ctx, "needle")
    assert sorted(found[1:]) == ["repo/.forgeline/setup.sh", "repo/a.py"]
    assert (await grep(ctx, "needle", glob=".forgeline/**"))[0] == "No matches found"
    for path in (".forgeline", ".forgeline/logs/t1.jsonl", str(workspace / ".forgeline")):
        with pytest.raises(ToolError, match="Forgeline's own files"):
            await grep(ctx, "needle", path=path)


async def test_a_sub_directory_search_keeps_the_repository_ignore_rules(
    workspace: Path, ctx: ToolContext
) -> None:
    repo = workspace / "repo"
    git_init(repo)
    write(repo / ".gitignore", "*.log\n/src/gen/\n")
    write(repo / "src" / "app.py", "token\n")
    write(repo / "src" / "debug.log", "token\n")
    write(repo / "src" / "gen" / "out.py", "token\n")
    write(workspace / "other" / "b.py", "token\n")
    assert await grep(ctx, "token", path="repo/src") == ["Found 1 file", "repo/src/app.py"]
    lines = await grep(ctx, "token", path="repo/src", output_mode="content")
    assert lines == ["repo/src/app.py:1:token"]


async def test_ignore_files_above_the_workspace_do_not_apply(
    workspace: Path, ctx: ToolContext
) -> None:
    write(workspace.parent / ".gitignore", "*\n")
    write(workspace / "repo" / "src" / "app.py", "token\n")
    assert await grep(ctx, "token") == ["Found 1 file", "repo/src/app.py"]
    assert await grep(ctx, "token", path="repo/src") == ["Found 1 file", "repo/src/app.py"]
