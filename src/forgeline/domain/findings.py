"""What overwatchers report, and the commands agents ran (the evidence, DESIGN §12)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Finding(BaseModel):
    severity: Literal["blocker", "major", "minor", "nit"]
    path: str | None = None
    line: int | None = None
    message: str


class Report(BaseModel):
    verdict: Literal["approve", "request_changes"]
    findings: list[Finding] = Field(default_factory=list)


class CommandRecord(BaseModel):
    """One `Bash` call as it really ran: the evidence the gate checks (DESIGN §12)."""

    command: str
    exit_code: int
    timed_out: bool = False
    duration_s: float = 0.0
    output_tail: str = ""
