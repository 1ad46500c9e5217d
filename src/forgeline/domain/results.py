"""What tasks produce, typed: overwatcher specs and reports, gate results, phase outputs.

A task's result is stored (and returned by its workflow) as JSON; these models are what
the orchestrator's modules pass each other instead of dictionaries. `TaskOutcome` is the
stored shape read back: a status, an error, and the phase's own output.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from forgeline.domain.findings import CommandRecord, Finding
from forgeline.store.schemas import PullRequestInfo

JsonObject = dict[str, JsonValue]
Output = TypeVar("Output", bound=BaseModel)


class CommitRef(BaseModel):
    """A commit Forgeline made: a checkpoint or the documentation's."""

    repo: str
    sha: str
    message: str


class AgentFinding(Finding):
    """A finding with the overwatcher that reported it."""

    agent: str


class OverwatchSpec(BaseModel):
    """What one overwatcher run reviews.

    Attributes:
        agent: `review`, `security` or `test`.
        kind: `checkpoint` (one commit's own change) or `gate` (the whole diff).
        round: The checkpoint's number, or the gate round.
        commits: The commit under review, per repository name.
    """

    agent: str
    kind: Literal["checkpoint", "gate"]
    round: int
    commits: dict[str, str]


class OverwatchResult(BaseModel):
    """An overwatcher's report, with the evidence findings Forgeline added."""

    agent: str
    verdict: str
    findings: list[AgentFinding] = Field(default_factory=list)
    commands: list[CommandRecord] = Field(default_factory=list)


class GateResult(BaseModel):
    """The final gate's verdict over the whole diff in one round."""

    round: int
    rounds: int
    passed: bool
    blockers: list[AgentFinding] = Field(default_factory=list)
    verdicts: dict[str, str] = Field(default_factory=dict)
    test_commands: list[CommandRecord] = Field(default_factory=list)

    def feedback(self) -> str:
        """The message that sends the implementation agent back to fix the blockers."""
        lines = [f"- [{b.severity}] {b.agent} {b.path or ''}: {b.message}" for b in self.blockers]
        return (
            "[Forgeline] The final gate over the whole diff found blockers. Fix them, run the "
            "tests, then stop:\n" + "\n".join(lines)
        )


class DocumentResult(BaseModel):
    """Research or planning: the document the agent wrote."""

    document: str
    summary: str
    steps: int


class DocumentationResult(BaseModel):
    """The documentation agent's commits."""

    commits: list[CommitRef] = Field(default_factory=list)
    summary: str = ""


class DocumentationOutcome(DocumentationResult):
    """The documentation task's outcome, as the implementation result keeps it."""

    status: str = "completed"


class PushResult(BaseModel):
    """How one push went: `ok` False means it failed, `detail` says why (git's reason)."""

    ok: bool
    detail: str
    skipped: bool = False


class RepositoryPush(PushResult):
    """A `PushResult` for one named repository and branch."""

    repo: str
    branch: str


class ReviewRound(BaseModel):
    """What an `iterate` round answered: the review comments and the replies posted."""

    comments: int
    replies: list[JsonObject] = Field(default_factory=list)


class ImplementationResult(BaseModel):
    """The implementation phase: gate, commits, documentation, pushes, pull requests."""

    pull_requests: dict[str, PullRequestInfo] = Field(default_factory=dict)
    gate: GateResult
    commits: list[CommitRef] = Field(default_factory=list)
    documentation: DocumentationOutcome
    pushes: list[RepositoryPush] = Field(default_factory=list)
    summary: str = ""
    review: ReviewRound | None = None


class PipelineResult(BaseModel):
    """`forgeline run`: the phases that ran, in order."""

    phases: list[str] = Field(default_factory=list)


class TaskOutcome(BaseModel):
    """A finished task's stored result: its status, its error, and its phase's output."""

    model_config = ConfigDict(extra="allow")

    status: Literal["completed", "failed"]
    error: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def output(self, model: type[Output]) -> Output:
        """The phase's output as `model` (only for a completed task)."""
        return model.model_validate(self.model_extra or {})

    @classmethod
    def of(cls, output: BaseModel) -> TaskOutcome:
        """A completed task's outcome around its phase's output."""
        return cls(status="completed", **output.model_dump(mode="json"))

    @classmethod
    def failure(cls, error: str) -> TaskOutcome:
        return cls(status="failed", error=error)

    def to_json(self) -> JsonObject:
        """The stored form: `{"status": ..., **output}` (`error` only when failed)."""
        data = self.model_dump(mode="json")
        if data.get("error") is None:
            del data["error"]
        return data
