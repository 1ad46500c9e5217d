"""TodoWrite, AskUser and Report."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from forgeline.domain.errors import ToolError
from forgeline.domain.events import EventType, ListSink
from forgeline.tools.base import Answer, Question, ToolContext
from forgeline.tools.interaction import AskUserTool, ReportTool, TodoWriteTool

from .helpers import run_tool


async def test_todo_write_replaces_the_list_and_emits_an_event(workspace: Path) -> None:
    sink = ListSink()
    ctx = ToolContext(workspace=workspace, sink=sink, task_id="task-1")
    todos = [
        {"content": "Read the code", "status": "completed"},
        {"content": "Write the plan", "status": "in_progress"},
        {"content": "Ask the user", "status": "pending"},
    ]
    out = await run_tool(TodoWriteTool(), ctx, todos=todos)
    assert out == ("Todo list updated:\n[x] Read the code\n[~] Write the plan\n[ ] Ask the user")
    assert [item.content for item in ctx.todos] == [
        "Read the code",
        "Write the plan",
        "Ask the user",
    ]
    events = sink.of_type(EventType.TODOS)
    assert len(events) == 1
    assert events[0].task_id == "task-1"
    assert events[0].data == {"todos": todos}
    await run_tool(TodoWriteTool(), ctx, todos=[])
    assert ctx.todos == []
    assert sink.events[-1].data == {"todos": []}


def test_todo_status_is_validated() -> None:
    with pytest.raises(ValidationError):
        TodoWriteTool.input_model.model_validate({"todos": [{"content": "x", "status": "done"}]})


async def test_ask_user_passes_questions_and_renders_answers(workspace: Path) -> None:
    received: list[Question] = []

    async def ask_user(questions: list[Question]) -> list[Answer]:
        received.extend(questions)
        return [
            Answer(question=questions[0].question, selected=["PostgreSQL"]),
            Answer(question=questions[1].question, other="Keep it under 100 ms"),
        ]

    ctx = ToolContext(workspace=workspace, agent="planning", ask_user=ask_user)
    out = await run_tool(
        AskUserTool(),
        ctx,
        questions=[
            {
                "question": "Which database should we use?",
                "header": "Database",
                "options": [
                    {"label": "PostgreSQL", "description": "Recommended"},
                    {"label": "SQLite"},
                ],
            },
            {"question": "Any latency target?", "multiSelect": False},
        ],
    )
    assert out == (
        "Q: Which database should we use?\nA: PostgreSQL\n\n"
        "Q: Any latency target?\nA: Other: Keep it under 100 ms"
    )
    assert received[0].header == "Database"
    assert received[0].options is not None
    assert [o.label for o in received[0].options] == ["PostgreSQL", "SQLite"]
    assert received[1].options is None


async def test_ask_user_refused_without_a_channel(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="review")
    with pytest.raises(ToolError, match="this agent cannot ask the user"):
        await run_tool(AskUserTool(), ctx, questions=[{"question": "Why?"}])


@pytest.mark.parametrize(
    ("questions", "problem"),
    [
        ([], "at least 1"),
        ([{"question": f"Q{n}?"} for n in range(5)], "at most 4"),
        ([{"question": "Pick", "options": [{"label": "only"}]}], "at least 2"),
        ([{"question": "Pick", "options": [{"label": f"o{n}"} for n in range(7)]}], "at most 6"),
        ([{"question": "Pick", "options": [{"label": "a"}, {"label": "a"}]}], "unique"),
        ([{"question": ""}], "at least 1 character"),
    ],
)
def test_ask_user_validation(questions: list[dict[str, object]], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        AskUserTool.input_model.model_validate({"questions": questions})


def test_ask_user_description_mentions_other() -> None:
    assert '"Other"' in AskUserTool.description


async def test_report_is_recorded(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="review")
    out = await run_tool(
        ReportTool(),
        ctx,
        verdict="request_changes",
        findings=[
            {"severity": "blocker", "path": "app.py", "line": 3, "message": "SQL injection"},
            {"severity": "nit", "message": "Typo in a comment"},
            {"severity": "nit", "message": "Another typo"},
        ],
    )
    assert out == "Report recorded: request_changes with 3 findings (1 blocker, 2 nit)."
    assert len(ctx.reports) == 1
    report = ctx.reports[0]
    assert report.verdict == "request_changes"
    assert report.findings[0].path == "app.py"
    assert report.findings[0].line == 3
    out = await run_tool(ReportTool(), ctx, verdict="approve")
    assert out == "Report recorded: approve with 0 findings."
    assert len(ctx.reports) == 2


async def test_report_validation(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="security")
    with pytest.raises(ToolError, match="cannot contain blocker"):
        await run_tool(
            ReportTool(),
            ctx,
            verdict="approve",
            findings=[{"severity": "blocker", "message": "bad"}],
        )
    with pytest.raises(ToolError, match="at least one finding"):
        await run_tool(ReportTool(), ctx, verdict="request_changes")
    assert ctx.reports == []
    with pytest.raises(ValidationError):
        ReportTool.input_model.model_validate(
            {"verdict": "approve", "findings": [{"severity": "critical", "message": "x"}]}
        )
