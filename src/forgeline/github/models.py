"""The GitHub objects Forgeline uses, reduced to the fields it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forgeline.domain.errors import ForgelineError


class GitHubError(ForgelineError):
    """A GitHub API call failed; the message says why (status and GitHub's own words)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GitHubRepo:
    """A repository on GitHub: `owner/name`."""

    owner: str
    name: str

    @property
    def full_name(self) -> str:
        """`owner/name`."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class PullRequest:
    """One pull request."""

    number: int
    url: str
    draft: bool
    body: str
    head: str
    state: str = "open"

    @classmethod
    def from_json(cls, data: Any) -> PullRequest:
        """From GitHub's pull request JSON."""
        return cls(
            number=int(data["number"]),
            url=str(data["html_url"]),
            draft=bool(data.get("draft", False)),
            body=str(data.get("body") or ""),
            head=str((data.get("head") or {}).get("ref", "")),
            state=str(data.get("state", "open")),
        )


@dataclass(frozen=True)
class ReviewComment:
    """One review comment on a pull request's diff."""

    id: int
    path: str
    line: int | None
    body: str
    user: str
    in_reply_to: int | None
    url: str

    @classmethod
    def from_json(cls, data: Any) -> ReviewComment:
        """From GitHub's review comment JSON."""
        line = data.get("line") if data.get("line") is not None else data.get("original_line")
        return cls(
            id=int(data["id"]),
            path=str(data.get("path") or ""),
            line=int(line) if line is not None else None,
            body=str(data.get("body") or ""),
            user=str((data.get("user") or {}).get("login", "")),
            in_reply_to=data.get("in_reply_to_id"),
            url=str(data.get("html_url") or ""),
        )
