"""A `git diff` as a review page shows it: per file, syntax-highlighted lines, findings at them.

The diff is parsed with `unidiff` and each side of a file's hunks is highlighted with Pygments
(HTML with CSS classes; the stylesheet is the static `pygments.css`). Binary files are named,
large ones folded, and a finding is attached to the new-side line it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound
from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from forgeline.store import FindingRecord

FOLD_LINES = 400  # a file with more diff lines than this starts folded
_FORMATTER = HtmlFormatter(nowrap=True)


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk: `kind` is add, del, ctx or hunk (the `@@` header)."""

    kind: str
    old: int | None
    new: int | None
    html: Markup
    findings: list[FindingRecord] = field(default_factory=list)


@dataclass(frozen=True)
class FileDiff:
    """One file's part of a diff."""

    path: str
    old_path: str | None
    status: str  # added, removed, renamed, modified
    binary: bool
    added: int
    removed: int
    lines: list[DiffLine]
    anchor: str
    findings: list[FindingRecord] = field(default_factory=list)  # about the file, no line

    @property
    def folded(self) -> bool:
        """Whether the file starts closed (too many lines to read at a glance)."""
        return len(self.lines) > FOLD_LINES


def _lexer(path: str) -> Lexer:
    try:
        lexer: Lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        plain: Lexer = TextLexer(stripnl=False, ensurenl=False)
        return plain
    return lexer


def _highlighted(lexer: Lexer, lines: Sequence[str]) -> list[Markup]:
    """Each line as highlighted HTML (Pygments closes its spans at every line end)."""
    if not lines:
        return []
    html = highlight("\n".join(lines) + "\n", lexer, _FORMATTER)
    out = [Markup(line) for line in html.split("\n")]  # noqa: S704 - Pygments escapes
    return (out + [Markup("")] * len(lines))[: len(lines)]


def _status(patched: PatchedFile) -> str:
    if patched.is_added_file:
        return "added"
    if patched.is_removed_file:
        return "removed"
    if patched.is_rename:
        return "renamed"
    return "modified"


def _clean(path: str) -> str:
    return path[2:] if path[:2] in {"a/", "b/"} else path


def _file_lines(patched: PatchedFile, path: str) -> list[DiffLine]:
    lexer = _lexer(path)
    rows = [line for hunk in patched for line in hunk]
    new_side = _highlighted(lexer, [r.value.rstrip("\n") for r in rows if not r.is_removed])
    old_side = _highlighted(lexer, [r.value.rstrip("\n") for r in rows if r.is_removed])
    new_iter, old_iter = iter(new_side), iter(old_side)
    out: list[DiffLine] = []
    for hunk in patched:
        header = f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},"
        header += f"{hunk.target_length} @@ {hunk.section_header}".rstrip()
        out.append(DiffLine("hunk", None, None, escape(header)))
        for row in hunk:
            kind = "add" if row.is_added else "del" if row.is_removed else "ctx"
            html = next(old_iter) if row.is_removed else next(new_iter)
            out.append(DiffLine(kind, row.source_line_no, row.target_line_no, html))
    return out


def anchor_of(prefix: str, path: str) -> str:
    """A stable element id for a file's diff (letters, digits and dashes only)."""
    safe = "".join(c if c.isalnum() else "-" for c in path)
    return f"{prefix}-{safe}"[:200]


def parse_diff(text: str, *, prefix: str = "f") -> list[FileDiff]:
    """The files of a `git diff`; an unparsable diff is one plain file named `(diff)`."""
    try:
        patch = PatchSet(text)
    except UnidiffParseError:
        plain = [DiffLine("ctx", None, None, escape(line)) for line in text.splitlines()]
        return [FileDiff("(diff)", None, "modified", False, 0, 0, plain, anchor_of(prefix, "d"))]
    files = []
    for patched in patch:
        path = patched.path
        old = _clean(patched.source_file) if patched.is_rename else None
        lines = [] if patched.is_binary_file else _file_lines(patched, path)
        files.append(
            FileDiff(
                path=path,
                old_path=old,
                status=_status(patched),
                binary=patched.is_binary_file,
                added=patched.added,
                removed=patched.removed,
                lines=lines,
                anchor=anchor_of(prefix, path),
            )
        )
    return files


def _relative(path: str | None, repo: str | None) -> str:
    """A finding's path relative to its repository (agents name `repo/path` in a workspace)."""
    text = (path or "").lstrip("./")
    if repo and text.startswith(f"{repo}/"):
        return text[len(repo) + 1 :]
    return text


def attach_findings(
    files: Sequence[FileDiff], findings: Iterable[FindingRecord], *, repo: str | None = None
) -> set[int]:
    """Put each finding at the new-side line it names (or on its file when it names no line
    in the diff); returns the ids of those placed."""
    where: dict[tuple[str, int | None], DiffLine] = {
        (f.path, line.new): line for f in files for line in f.lines if line.new is not None
    }
    by_path = {f.path: f for f in files}
    placed: set[int] = set()
    for finding in findings:
        path = _relative(finding.path, repo)
        line = where.get((path, finding.line))
        if line is not None:
            line.findings.append(finding)
        elif path in by_path:
            by_path[path].findings.append(finding)
        else:
            continue
        placed.add(finding.id)
    return placed
