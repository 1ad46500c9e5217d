"""Phase logic in-process: gate rounds, the gate's verdict, task outcomes, transitions.

None of these start DBOS or open a database: the phases' decisions are plain functions
over typed results, and the round loop takes its work and its gate as callables.
"""

from __future__ import annotations

import pytest

from forgeline.domain.results import (
    AgentFinding,
    DocumentResult,
    GateResult,
    OverwatchResult,
    TaskOutcome,
)
from forgeline.domain.status import can_move
from forgeline.orchestrator.phases.common import PhaseError
from forgeline.orchestrator.phases.gate import decide
from forgeline.orchestrator.phases.implementation import gate_rounds
from forgeline.tools.base import CommandRecord


def _blocker(message: str) -> AgentFinding:
    return AgentFinding(agent="review", severity="blocker", path="app.py", message=message)


def _gate(round_: int, *blockers: AgentFinding) -> GateResult:
    return GateResult(round=round_, rounds=round_, passed=not blockers, blockers=list(blockers))


class Rounds:
    """The work and the gate of `gate_rounds`, scripted: the gate fails `failing` times."""

    def __init__(self, failing: int) -> None:
        self.failing = failing
        self.worked = 0
        self.feedback: list[str] = []

    async def work(self) -> None:
        self.worked += 1

    async def gate(self, round_: int) -> GateResult:
        if round_ <= self.failing:
            return _gate(round_, _blocker(f"bug {round_}"))
        return _gate(round_)

    def retry(self, gate: GateResult) -> None:
        self.feedback.append(gate.feedback())


async def test_a_failed_gate_sends_its_blockers_back_and_the_next_round_passes() -> None:
    rounds = Rounds(failing=1)
    gate = await gate_rounds(work=rounds.work, gate=rounds.gate, retry=rounds.retry, max_rounds=3)
    assert gate.passed and gate.round == 2
    assert rounds.worked == 2
    assert len(rounds.feedback) == 1 and "bug 1" in rounds.feedback[0]
    assert "[blocker] review app.py: bug 1" in rounds.feedback[0]


async def test_the_gate_is_exhausted_after_max_rounds_and_names_the_blockers() -> None:
    rounds = Rounds(failing=5)
    with pytest.raises(PhaseError, match=r"1 open blocker\(s\) after 2 round\(s\): bug 2"):
        await gate_rounds(work=rounds.work, gate=rounds.gate, retry=rounds.retry, max_rounds=2)
    assert rounds.worked == 2 and len(rounds.feedback) == 1


async def test_zero_gate_rounds_is_a_clear_error() -> None:
    rounds = Rounds(failing=0)
    with pytest.raises(PhaseError, match="FORGELINE_MAX_GATE_ROUNDS"):
        await gate_rounds(work=rounds.work, gate=rounds.gate, retry=rounds.retry, max_rounds=0)
    assert rounds.worked == 0


def _report(agent: str, verdict: str, *findings: AgentFinding) -> TaskOutcome:
    commands = [CommandRecord(command="pytest -q", exit_code=0)] if agent == "test" else []
    result = OverwatchResult(
        agent=agent, verdict=verdict, findings=list(findings), commands=commands
    )
    return TaskOutcome.of(result)


def test_the_gate_collects_blockers_verdicts_and_the_test_commands() -> None:
    minor = AgentFinding(agent="security", severity="minor", message="log less")
    outcomes = [
        _report("review", "request_changes", _blocker("off by one")),
        _report("security", "approve", minor),
        _report("test", "approve"),
    ]
    gate = decide(2, outcomes)
    assert not gate.passed and gate.round == 2
    assert [b.message for b in gate.blockers] == ["off by one"]
    assert gate.verdicts == {"review": "request_changes", "security": "approve", "test": "approve"}
    assert [c.command for c in gate.test_commands] == ["pytest -q"]


def test_an_overwatcher_that_failed_fails_the_gate_with_its_error() -> None:
    outcomes = [
        _report("review", "approve"),
        TaskOutcome.failure("the security overwatcher ended without calling Report"),
        _report("test", "approve"),
    ]
    with pytest.raises(PhaseError, match=r"\(security\): the security overwatcher ended"):
        decide(1, outcomes)


def test_a_task_outcome_keeps_the_stored_shape() -> None:
    output = DocumentResult(document="research.md", summary="done", steps=3)
    stored = TaskOutcome.of(output).to_json()
    assert stored == {
        "status": "completed",
        "document": "research.md",
        "summary": "done",
        "steps": 3,
    }
    back = TaskOutcome.model_validate(stored)
    assert back.completed and back.output(DocumentResult) == output
    failed = TaskOutcome.failure("boom").to_json()
    assert failed == {"status": "failed", "error": "boom"}


def test_cancelled_is_final_and_a_replay_may_set_a_status_again() -> None:
    assert can_move("running", "running")
    assert can_move("paused", "running") and can_move("waiting", "running")
    assert not can_move("cancelled", "running") and not can_move("cancelled", "completed")
    assert not can_move("completed", "running") and not can_move("failed", "running")
    assert can_move("paused", "completed")  # the work finished as it was being paused
