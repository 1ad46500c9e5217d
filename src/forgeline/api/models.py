"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import re
from typing import Annotated, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forgeline.store.schemas import UsageSummary

_STRICT = ConfigDict(extra="forbid")
# Longest file name most file systems accept (bytes, per path component).
MAX_NAME_BYTES = 255
_SEPARATORS = re.compile(r"[/\\:]")


class RepositoryIn(BaseModel):
    """A repository to clone: a local path or git URL, and an optional base branch."""

    model_config = _STRICT
    url: str = Field(min_length=1, max_length=4096)
    branch: str | None = Field(default=None, max_length=255)
    setup: str | None = Field(
        default=None,
        max_length=20_000,
        description="Setup command (DESIGN §11); omit or 'auto' for the default, 'none' for none.",
    )

    @field_validator("setup")
    @classmethod
    def _no_nul(cls, setup: str | None) -> str | None:
        if setup is not None and "\0" in setup:
            raise ValueError("the setup command cannot contain a NUL character")
        return setup

    @field_validator("url")
    @classmethod
    def _components_fit_a_file_name(cls, url: str) -> str:
        for part in _SEPARATORS.split(url.strip()):
            if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
                raise ValueError(
                    f"a path component is longer than {MAX_NAME_BYTES} bytes: {part[:40]}…"
                )
        return url


AgentModels: TypeAlias = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=300)]],
    Field(max_length=32),
]
"""Agent name -> `provider:model`."""


class InitializeRequest(BaseModel):
    """`POST /projects/initialize` and `POST /api/projects`."""

    model_config = _STRICT
    project_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    feature_request: str = Field(min_length=1, max_length=100_000)
    repositories: list[RepositoryIn] = Field(min_length=1, max_length=20)
    phases: list[str] | None = None
    model: str | None = Field(default=None, max_length=300)
    max_cost_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    agent_models: AgentModels | None = None


class ModelsRequest(BaseModel):
    """`PUT /api/projects/{id}/models`: the project's model and its model per agent."""

    model_config = _STRICT
    model: str | None = Field(default=None, max_length=300)
    agent_models: AgentModels = Field(default_factory=dict)


class BudgetRequest(BaseModel):
    """`PUT /api/projects/{id}/budget`: the project's budget in USD (null: none)."""

    model_config = _STRICT
    max_cost_usd: float | None = Field(gt=0, le=1_000_000)


class UsageWithBudget(UsageSummary):
    """`GET /api/projects/{id}/usage`: the usage, and the budget it counts against."""

    max_cost_usd: float | None = None


class StartResearchRequest(BaseModel):
    """`POST /agents/research/start`."""

    model_config = _STRICT
    project_id: str = Field(min_length=1, max_length=64)
    feature_request: str | None = Field(default=None, max_length=100_000)


class StartPhaseRequest(BaseModel):
    """`POST /agents/planning/start` and `/agents/implementation/start`."""

    model_config = _STRICT
    project_id: str = Field(min_length=1, max_length=64)


class AnswerRequest(BaseModel):
    """`POST /api/questions/{id}/answer`: chosen option labels and/or free text."""

    model_config = _STRICT
    selected: list[str] = Field(default_factory=list, max_length=100)
    other: str | None = Field(default=None, max_length=20_000)


class DocumentIn(BaseModel):
    """`PUT /api/projects/{id}/documents/{kind}`."""

    model_config = _STRICT
    content: str = Field(max_length=900_000)
