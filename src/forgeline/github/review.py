"""A pull request's unresolved review comments, as input for another implementation round,
and the replies that say what changed (DESIGN §13).

A comment counts as unresolved when it starts a thread (it is not itself a reply) and no
reply in its thread is one of Forgeline's (they carry `REPLY_MARKER`). GitHub's REST API
has no "resolved" flag for threads; a thread Forgeline has answered is done until a
reviewer starts a new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from forgeline.github.models import GitHubRepo, ReviewComment

REPLY_MARKER = "<!-- forgeline:reply -->"
BODY_CAP = 4_000


class ThreadToAnswer(BaseModel):
    """An unresolved review comment of one repository's pull request."""

    model_config = ConfigDict(frozen=True)

    repo: str
    owner: str
    name: str
    number: int
    comment_id: int
    path: str
    line: int | None
    body: str
    user: str
    replies: tuple[str, ...] = ()

    @property
    def github(self) -> GitHubRepo:
        """The repository on GitHub."""
        return GitHubRepo(owner=self.owner, name=self.name)


def unresolved(
    comments: Sequence[ReviewComment], *, repo: str, github: GitHubRepo, number: int
) -> list[ThreadToAnswer]:
    """The threads of `comments` that no Forgeline reply has answered yet, oldest first."""
    replies: dict[int, list[ReviewComment]] = {}
    for comment in comments:
        if comment.in_reply_to is not None:
            replies.setdefault(comment.in_reply_to, []).append(comment)
    threads = []
    for comment in comments:
        thread = replies.get(comment.id, [])
        if comment.in_reply_to is not None or REPLY_MARKER in comment.body:
            continue
        if any(REPLY_MARKER in r.body for r in thread):
            continue
        threads.append(
            ThreadToAnswer(
                repo=repo, owner=github.owner, name=github.name, number=number,
                comment_id=comment.id, path=comment.path, line=comment.line,
                body=comment.body[:BODY_CAP], user=comment.user,
                replies=tuple(f"{r.user}: {r.body[:BODY_CAP]}" for r in thread),
            )
        )  # fmt: skip
    return threads


def review_message(threads: Sequence[ThreadToAnswer]) -> str:
    """The text the implementation agent gets: each comment with its place and thread."""
    lines = [
        "",
        "",
        "[Forgeline] This is another round on the same branch: the pull request's reviewers "
        "left these unresolved review comments. Address each one in the code (or, where a "
        "comment is wrong, say precisely why in your final message), run the tests, then stop.",
    ]
    for index, t in enumerate(threads, start=1):
        where = f"{t.repo}/{t.path}" + (f":{t.line}" if t.line else "")
        lines.append(f"\n{index}. {where} ({t.user}, comment {t.comment_id}):\n{t.body}")
        lines.extend(f"   reply from {reply}" for reply in t.replies)
    return "\n".join(lines)


def review_notes(threads: Sequence[ThreadToAnswer]) -> str:
    """Markdown for the pull request body: which review comments the last round addressed."""
    rows = [
        f"- {t.path}{':' + str(t.line) if t.line else ''}: {_one_line(t.body)} ({t.user})"
        for t in threads
    ]
    return "## Review comments addressed in the last round\n\n" + "\n".join(rows)


def reply_text(thread: ThreadToAnswer, commits: Sequence[dict[str, str]], summary: str) -> str:
    """The reply in a comment's thread: the commits of this round in its repository."""
    mine = [c for c in commits if c.get("repo") == thread.repo]
    if mine:
        shas = ", ".join(f"{c['sha'][:12]} ({_subject(c.get('message', ''))})" for c in mine)
        said = f"Addressed in {shas}."
    else:
        said = f"No change was needed in {thread.repo} for this comment."
    note = f"\n\n> {_one_line(summary)}" if summary.strip() else ""
    return f"{REPLY_MARKER}\n{said}{note}\n"


def _subject(message: str) -> str:
    return _one_line(message.splitlines()[0] if message else "")[:80]


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
