"""The records `Store` returns and the inputs it takes (never ORM objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forgeline.domain.messages import Usage
from forgeline.domain.questions import Answer, Question, QuestionOption
from forgeline.domain.status import TaskStatus as TaskStatus
from forgeline.domain.tasks import TaskKind

ProjectStatus = Literal[
    "created", "running", "waiting", "paused", "completed", "failed", "cancelled"
]
FindingStatus = Literal["open", "resolved"]
PullRequestMode = Literal["draft", "ready", "off"]
PullRequestStatus = Literal["opened", "updated", "skipped", "failed"]

PROJECT_STATUSES: frozenset[str] = frozenset(get_args(ProjectStatus))
TASK_STATUSES: frozenset[str] = frozenset(get_args(TaskStatus))
FINISHED_TASK_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
FINDING_STATUSES: frozenset[str] = frozenset(get_args(FindingStatus))


class _Record(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class ProjectRecord(_Record):
    """One project (`projects` row)."""

    id: str
    name: str
    feature_request: str
    phases: list[str]
    model: str | None
    status: ProjectStatus
    current_phase: str | None
    workspace: str
    slug: str
    branch: str
    last_seq: int
    allow_network: bool
    pr_mode: PullRequestMode = "draft"
    owner: str | None = None
    max_cost_usd: float | None = None
    agent_models: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime

    @field_validator("agent_models", mode="before")
    @classmethod
    def _no_models(cls, value: object) -> object:
        """Projects made before per-agent models have none (NULL)."""
        return {} if value is None else value


class ProjectUpdate(TypedDict, total=False):
    """The fields `Store.update_project` may change."""

    name: str
    feature_request: str
    phases: list[str]
    model: str | None
    status: ProjectStatus
    current_phase: str | None
    workspace: str
    slug: str
    branch: str
    allow_network: bool
    pr_mode: PullRequestMode
    max_cost_usd: float | None
    agent_models: dict[str, str]


class PullRequestInfo(BaseModel):
    """A repository's pull request (DESIGN §13), or why it has none.

    `url`, `number` and `draft` are set once the pull request exists; `status` says what the
    last push did to it, `detail` why it was skipped or failed.
    """

    url: str | None = None
    number: int | None = None
    draft: bool | None = None
    status: PullRequestStatus
    detail: str | None = None


class NewRepository(BaseModel):
    """A repository to attach to a project."""

    url: str
    name: str
    base_branch: str | None = None
    branch: str | None = None
    base_sha: str | None = None
    setup: str | None = None


class RepositoryRecord(_Record):
    """One repository of a project, in the order it was given."""

    id: int
    project_id: str
    position: int
    url: str
    name: str
    base_branch: str | None
    branch: str | None
    base_sha: str | None
    pull_request: PullRequestInfo | None = None
    setup: str | None = None


class RepositoryUpdate(TypedDict, total=False):
    """The fields `Store.update_repository` may change."""

    base_branch: str | None
    branch: str | None
    base_sha: str | None
    pull_request: dict[str, Any] | None


class TaskRecord(_Record):
    """One task: an agent's run in a phase."""

    id: str
    project_id: str
    phase: str
    agent: str
    status: TaskStatus
    parent_id: str | None
    kind: TaskKind
    round: int | None
    workflow_id: str | None
    error: str | None
    result: Any | None
    model: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class TaskUpdate(TypedDict, total=False):
    """The fields `Store.update_task` may change."""

    status: TaskStatus
    error: str | None
    result: Any | None
    workflow_id: str | None
    model: str | None


class QuestionRecord(_Record):
    """One `AskUser` question and, once given, its answer."""

    id: str
    project_id: str
    task_id: str | None
    batch: str
    position: int
    question: str
    header: str | None
    options: list[QuestionOption] | None
    multi_select: bool
    answer: Answer | None
    answered_at: datetime | None
    created_at: datetime

    @property
    def pending(self) -> bool:
        """True while the question has no answer."""
        return self.answer is None

    def to_question(self) -> Question:
        """The question as the `AskUser` tool asked it."""
        return Question(
            question=self.question,
            header=self.header,
            options=self.options,
            multiSelect=self.multi_select,
        )


class UsageBreakdown(BaseModel):
    """Usage summed over one agent or one model."""

    key: str
    usage: Usage


class UsageSummary(BaseModel):
    """A project's usage: the total, and the same split per agent and per model."""

    total: Usage = Field(default_factory=Usage)
    by_agent: list[UsageBreakdown] = Field(default_factory=list)
    by_model: list[UsageBreakdown] = Field(default_factory=list)


class FindingRecord(_Record):
    """One overwatcher finding."""

    id: int
    project_id: str
    task_id: str | None
    agent: str
    commit_sha: str | None
    severity: str
    path: str | None
    line: int | None
    message: str
    status: FindingStatus
    round: int
    created_at: datetime
