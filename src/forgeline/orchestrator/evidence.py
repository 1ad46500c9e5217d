"""Evidence (DESIGN §12): every command an agent ran, recorded with its exit code and output
tail, and the rule that a test overwatcher cannot approve against it.

Each `Bash` call lands in the `ToolContext` (`commands`); `EvidenceHooks` turns each into a
`command` event after the turn that ran it (in the workflow, outside any step, so a replay
emits the same events and the log keeps each once). Summaries and the API read them back.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable, Collection, Sequence
from pathlib import PurePosixPath

from pydantic import BaseModel

from forgeline.agents.loop import AgentRun, Hooks
from forgeline.domain.events import EventType
from forgeline.domain.findings import CommandRecord, Finding
from forgeline.store import Store

Emit = Callable[[EventType, dict[str, object]], Awaitable[None]]

# Lines by which a test runner says tests failed or could not run, whatever the exit code
# (`pytest | tail -3` exits 0 without pipefail).
_FAILURE_LINES = re.compile(
    r"^(=+ .*\b\d+ (failed|errors?)\b.*=+"  # pytest's summary
    r"|=+ no tests ran\b.*"  # pytest collected nothing
    r"|(FAILED|ERROR) \S+::\S+.*"  # pytest's short summary
    r"|FAILED \((failures|errors)=\d+.*\)"  # unittest
    r"|.*: command not found"  # bash
    r"|.*No module named \S+"  # python -m pytest without pytest
    r"|npm ERR! .*"  # npm test
    r")\s*$",
    re.MULTILINE,
)
_PAGE = 5_000


class Evidence(BaseModel):
    """One recorded command, as summaries and the API show it."""

    repo: str | None
    agent: str
    task_id: str | None = None
    command: str
    exit_code: int
    output_tail: str = ""
    timed_out: bool = False
    failed: bool = False


def failure_line(record: CommandRecord) -> str | None:
    """Why the command counts as failed: its exit code, or a failure its output reports."""
    if record.exit_code != 0:
        return f"exited with {record.exit_code}"
    match = _FAILURE_LINES.search(record.output_tail)
    return f"exited 0 but its output says `{match.group(0).strip()}`" if match else None


def repo_of(command: str, repos: Sequence[str]) -> str | None:
    """The repository a command ran in: its leading `cd`, else the only repository."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if len(words) >= 2 and words[0] == "cd":
        parts = [p for p in PurePosixPath(words[1]).parts if p not in {".", "/"}]
        if parts and parts[0] in repos:
            return parts[0]
    named = [r for r in repos if r in words or any(w.startswith(f"{r}/") for w in words)]
    if len(named) == 1:
        return named[0]
    return repos[0] if len(repos) == 1 else None


def evidence_of(record: CommandRecord, *, agent: str, repos: Sequence[str]) -> Evidence:
    return Evidence(
        repo=repo_of(record.command, repos),
        agent=agent,
        command=record.command,
        exit_code=record.exit_code,
        output_tail=record.output_tail,
        timed_out=record.timed_out,
        failed=failure_line(record) is not None,
    )


class EvidenceHooks:
    """Wraps an agent's hooks: after each turn, its new commands become `command` events."""

    def __init__(
        self, inner: Hooks | None, *, emit: Emit, agent: str, repos: Sequence[str]
    ) -> None:
        self._inner = inner
        self._emit = emit
        self._agent = agent
        self._repos = list(repos)
        self._sent = 0

    async def before_model_call(self, run: AgentRun) -> str:
        return await self._inner.before_model_call(run) if self._inner else ""

    async def after_turn(self, run: AgentRun) -> None:
        await self.flush(run.ctx.commands)
        if self._inner:
            await self._inner.after_turn(run)

    async def flush(self, commands: Sequence[CommandRecord]) -> None:
        """Emit the commands not emitted yet (also called when the run ends)."""
        for record in commands[self._sent :]:
            item = evidence_of(record, agent=self._agent, repos=self._repos)
            await self._emit(EventType.COMMAND, item.model_dump(exclude={"task_id"}))
        self._sent = max(self._sent, len(commands))


async def list_evidence(
    store: Store, project_id: str, *, task_ids: Collection[str] | None = None
) -> list[Evidence]:
    """Every command recorded in a project (or by the tasks `task_ids`), oldest first."""
    items: list[Evidence] = []
    after = 0
    while True:
        page = await store.list_events(
            project_id, after_seq=after, limit=_PAGE, types=[EventType.COMMAND.value]
        )
        for event in page:
            if task_ids is None or event.task_id in task_ids:
                items.append(Evidence.model_validate({**event.data, "task_id": event.task_id}))
        if len(page) < _PAGE:
            return items
        after = page[-1].seq


def approval_findings(
    verdict: str, commands: Sequence[CommandRecord], tested: dict[str, str]
) -> list[Finding]:
    """The blockers a test overwatcher's approval earns against its own commands.

    Args:
        verdict: The overwatcher's verdict.
        commands: Its `Bash` calls (each one is a test command), in order.
        tested: Repositories under review that have tests, with why we think so.
    """
    if verdict != "approve":
        return []
    if not commands:
        if not tested:
            return []
        where = "; ".join(f"{repo} ({why})" for repo, why in tested.items())
        return [
            Finding(
                severity="blocker",
                message=f"approved without running any test command, but {where} has tests: "
                "tests not run",
            )
        ]
    latest = commands[-1]
    why = failure_line(latest)
    if why is None:
        return []
    return [
        Finding(
            severity="blocker",
            message=f"approved although its latest test command `{latest.command}` {why}",
        )
    ]
