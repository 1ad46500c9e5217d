"""The tools that talk to the user and the workflow: TodoWrite, AskUser and Report."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from forgeline.domain.errors import ToolError
from forgeline.domain.events import EventType, NewEvent
from forgeline.tools.base import (
    Answer,
    Finding,
    Question,
    QuestionOption,
    Report,
    TodoItem,
    ToolContext,
    ToolInput,
)

_TODO_MARKS = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]"}


class TodoInput(ToolInput):
    """One todo item."""

    content: str = Field(min_length=1, description="What to do, as a short imperative.")
    status: Literal["pending", "in_progress", "completed"] = Field(
        description="pending, in_progress (one item at a time) or completed."
    )


class TodoWriteInput(ToolInput):
    """Arguments of `TodoWrite`."""

    todos: list[TodoInput] = Field(description="The complete, updated todo list.")


def render_todos(todos: list[TodoItem]) -> str:
    """The todo list as a checklist: `[x]` done, `[~]` in progress, `[ ]` pending."""
    if not todos:
        return "(the todo list is empty)"
    return "\n".join(f"{_TODO_MARKS[item.status]} {item.content}" for item in todos)


class TodoWriteTool:
    """Replace the agent's todo list and show it to the user."""

    name: ClassVar[str] = "TodoWrite"
    description: ClassVar[str] = (
        "Creates and updates a structured todo list for the current task; the user sees it "
        "live. It tracks progress through multi-step work and shows that you are thorough.\n\n"
        "When to use it:\n"
        "- Tasks of three or more distinct steps, or when the user gives several things to "
        "do.\n"
        "- Right after receiving new instructions: capture them as todos.\n"
        "- Mark a task in_progress before you begin it (only one at a time) and completed as "
        "soon as it is done; do not batch completions.\n\n"
        "Skip it for a single trivial step. Each call sends the complete list: it replaces "
        "the previous one."
    )
    input_model: ClassVar[type[BaseModel]] = TodoWriteInput
    read_only: ClassVar[bool] = True

    async def run(self, args: TodoWriteInput, ctx: ToolContext) -> str:
        """Store the list in `ctx.todos`, emit a `todos` event, return the checklist."""
        todos = [TodoItem(content=item.content, status=item.status) for item in args.todos]
        ctx.todos = todos
        await ctx.sink.emit(
            NewEvent(
                type=EventType.TODOS,
                task_id=ctx.task_id,
                data={"todos": [item.model_dump() for item in todos]},
            )
        )
        return f"Todo list updated:\n{render_todos(todos)}"


class OptionInput(ToolInput):
    """One choice of a multiple-choice question."""

    label: str = Field(min_length=1, description="The choice, in a few words.")
    description: str | None = Field(
        default=None, description="What choosing it means, its trade-offs."
    )


class QuestionInput(ToolInput):
    """One question for the user."""

    question: str = Field(min_length=1, description="The complete question, ending with '?'.")
    header: str | None = Field(
        default=None, description="A very short label for the question (e.g. 'Auth method')."
    )
    options: list[OptionInput] | None = Field(
        default=None,
        min_length=2,
        max_length=6,
        description="2-6 choices for a multiple-choice question; omit for a free-text question.",
    )
    multiSelect: bool = Field(default=False, description="Let the user pick several options.")

    @field_validator("options")
    @classmethod
    def _unique_labels(cls, options: list[OptionInput] | None) -> list[OptionInput] | None:
        if options is not None:
            repeated = [label for label, n in Counter(o.label for o in options).items() if n > 1]
            if repeated:
                raise ValueError(f"option labels must be unique; repeated: {', '.join(repeated)}")
        return options


class AskUserInput(ToolInput):
    """Arguments of `AskUser`."""

    questions: list[QuestionInput] = Field(
        min_length=1, max_length=4, description="1-4 questions to ask together."
    )


def render_answers(questions: list[Question], answers: list[Answer]) -> str:
    """The answers as `Q: ...` / `A: ...` pairs, in the questions' order."""
    blocks: list[str] = []
    for index, question in enumerate(questions):
        answer = answers[index].render() if index < len(answers) else "(no answer)"
        blocks.append(f"Q: {question.question}\nA: {answer}")
    return "\n\n".join(blocks)


class AskUserTool:
    """Ask the user clarifying questions and wait for the answers."""

    name: ClassVar[str] = "AskUser"
    description: ClassVar[str] = (
        "Asks the user one to four questions and waits for the answers (possibly for a long "
        "time: the task pauses until the user replies).\n\n"
        "Use it to clarify ambiguous requirements, get a decision between real alternatives, "
        "or confirm assumptions that change the work. Do not ask what you can find out "
        "yourself by reading the code.\n\n"
        "- A question with options is multiple choice: give 2-6 distinct options, each with "
        "a short label and a description of what it implies; set multiSelect to let the user "
        "pick several. Put a recommended option first and say so in its label.\n"
        '- The user can always answer "Other" with free text instead of picking an option, '
        'so do not add an "Other" option yourself.\n'
        "- A question without options is answered in free text.\n"
        "- header is a very short tag for the question, used when answers are given by name."
    )
    input_model: ClassVar[type[BaseModel]] = AskUserInput
    read_only: ClassVar[bool] = True

    async def run(self, args: AskUserInput, ctx: ToolContext) -> str:
        """Ask through `ctx.ask_user` and return the answers as text."""
        if ctx.ask_user is None:
            raise ToolError(f"this agent cannot ask the user (the {ctx.agent} agent runs alone)")
        questions = [_to_question(item) for item in args.questions]
        answers = await ctx.ask_user(questions)
        return render_answers(questions, answers)


def _to_question(item: QuestionInput) -> Question:
    options = None
    if item.options is not None:
        options = [QuestionOption(label=o.label, description=o.description) for o in item.options]
    return Question(
        question=item.question, header=item.header, options=options, multiSelect=item.multiSelect
    )


class FindingInput(ToolInput):
    """One finding of a report."""

    severity: Literal["blocker", "major", "minor", "nit"] = Field(
        description="blocker: must be fixed before merging; major: should be fixed; "
        "minor: worth fixing; nit: cosmetic."
    )
    path: str | None = Field(default=None, description="The file concerned, if any.")
    line: int | None = Field(default=None, ge=1, description="The line concerned, if any.")
    message: str = Field(min_length=1, description="What is wrong and how to fix it.")


class ReportInput(ToolInput):
    """Arguments of `Report`."""

    verdict: Literal["approve", "request_changes"] = Field(
        description="approve when nothing blocks the change; otherwise request_changes."
    )
    findings: list[FindingInput] = Field(
        default_factory=list, description="Everything you found, most severe first."
    )


class ReportTool:
    """Record an overwatcher's verdict and findings."""

    name: ClassVar[str] = "Report"
    description: ClassVar[str] = (
        "Records your verdict on the change you were asked to check, with your findings.\n\n"
        "- verdict approve: nothing blocks the change (minor findings and nits may remain).\n"
        "- verdict request_changes: at least one finding must be fixed; give it at least one "
        "finding.\n"
        "- Each finding has a severity (blocker, major, minor, nit), the file path and line "
        "when it concerns code, and a message saying what is wrong and how to fix it.\n"
        "- An approve report cannot contain a blocker.\n"
        "Call it once, at the end of your review; your findings are sent to the "
        "implementation agent."
    )
    input_model: ClassVar[type[BaseModel]] = ReportInput
    read_only: ClassVar[bool] = True

    async def run(self, args: ReportInput, ctx: ToolContext) -> str:
        """Validate and append the report to `ctx.reports`."""
        severities: Counter[str] = Counter(finding.severity for finding in args.findings)
        if args.verdict == "approve" and severities["blocker"]:
            raise ToolError(
                "a report that approves cannot contain blocker findings; use "
                "verdict request_changes, or lower the severity if it does not block"
            )
        if args.verdict == "request_changes" and not args.findings:
            raise ToolError("request_changes needs at least one finding saying what to change")
        findings = [Finding(**finding.model_dump()) for finding in args.findings]
        ctx.reports.append(Report(verdict=args.verdict, findings=findings))
        order = ("blocker", "major", "minor", "nit")
        summary = ", ".join(f"{severities[s]} {s}" for s in order if severities[s])
        count = len(findings)
        noun = "finding" if count == 1 else "findings"
        detail = f" ({summary})" if summary else ""
        return f"Report recorded: {args.verdict} with {count} {noun}{detail}."
