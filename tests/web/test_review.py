"""The review page's parts on real `git diff` output: files, highlighting, findings, tree."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from forgeline.store import FindingRecord
from forgeline.web.codestyle import ROW_BACKGROUNDS, contrast, style_css
from forgeline.web.filetree import file_tree
from forgeline.web.review import FOLD_LINES, attach_findings, parse_diff

STATIC = Path(__file__).resolve().parents[2] / "src" / "forgeline" / "web" / "static"


def _git(repo: Path, *args: str) -> str:
    base = ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com"]
    return subprocess.run([*base, *args], check=True, capture_output=True, text=True).stdout


def _diff(tmp_path: Path) -> str:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "app.py").write_text("def f():\n    return 1\n")
    (repo / "old.txt").write_text("gone\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    (repo / "pkg" / "app.py").write_text('def f():\n    """Two."""\n    return 2\n')
    (repo / "old.txt").unlink()
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x01\x02")
    (repo / "big.txt").write_text("".join(f"line {i}\n" for i in range(FOLD_LINES + 5)))
    _git(repo, "add", "-A")
    return _git(repo, "diff", "--cached", "-M", "--no-color")


def _finding(id_: int, path: str, line: int | None) -> FindingRecord:
    return FindingRecord(
        id=id_, project_id="p", task_id=None, agent="review", commit_sha=None,
        severity="major", path=path, line=line, message=f"m{id_}", status="open", round=0,
        created_at=datetime.now(UTC),
    )  # fmt: skip


def test_files_of_a_diff_are_named_highlighted_binary_and_folded(tmp_path: Path) -> None:
    files = {f.path: f for f in parse_diff(_diff(tmp_path))}
    assert files["pkg/app.py"].status == "modified"
    assert (files["pkg/app.py"].added, files["pkg/app.py"].removed) == (2, 1)
    assert files["old.txt"].status == "removed"
    assert files["logo.png"].binary and files["logo.png"].lines == []
    assert files["big.txt"].folded and not files["pkg/app.py"].folded
    added = [line for line in files["pkg/app.py"].lines if line.kind == "add"]
    assert [line.new for line in added] == [2, 3]
    assert '<span class="sd">' in added[0].html  # a docstring, by Pygments
    assert '<span class="k">return</span>' in added[1].html


def test_findings_go_to_their_line_or_their_file(tmp_path: Path) -> None:
    files = parse_diff(_diff(tmp_path))
    at_line = _finding(1, "repo/pkg/app.py", 3)
    on_file = _finding(2, "pkg/app.py", None)
    elsewhere = _finding(3, "nowhere.py", 1)
    placed = attach_findings(files, [at_line, on_file, elsewhere], repo="repo")
    assert placed == {1, 2}
    app = next(f for f in files if f.path == "pkg/app.py")
    assert next(line for line in app.lines if line.new == 3).findings == [at_line]
    assert app.findings == [on_file]


def test_the_tree_nests_folders_before_files() -> None:
    files = parse_diff(
        "diff --git a/a/b/c.py b/a/b/c.py\n--- a/a/b/c.py\n+++ b/a/b/c.py\n@@ -1 +1 @@\n-x\n+y\n"
        "diff --git a/z.py b/z.py\n--- a/z.py\n+++ b/z.py\n@@ -1 +1 @@\n-x\n+y\n"
    )
    root = file_tree(files)
    assert [c.name for c in root.children] == ["a/b", "z.py"]
    assert root.children[0].children[0].file is files[0]


def test_a_diff_that_does_not_parse_is_shown_plain() -> None:
    files = parse_diff("diff --git a/x b/x\n@@ -1,3 +1,3 @@\n-only one line\n")
    assert files[0].path == "(diff)"
    assert any("only one line" in line.html for line in files[0].lines)


def test_the_static_stylesheet_is_the_readable_style() -> None:
    css = (STATIC / "pygments.css").read_text()
    assert css == style_css()
    colours = re.findall(r"(?<![-\w])color: (#[0-9a-f]{6})", css)
    assert len(colours) > 20
    for colour in colours:
        assert all(contrast(colour, bg) >= 4.5 for bg in ROW_BACKGROUNDS), colour
