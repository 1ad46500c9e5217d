"""Where the CLI gets answers: a file, the first option, or the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml
from rich.console import Console

from forgeline.console.launcher import forgeline_command
from forgeline.console.lineinput import LineReader
from forgeline.console.sanitize import one_line, safe
from forgeline.domain.errors import UserError
from forgeline.store.schemas import QuestionRecord
from forgeline.tools.base import Answer

NO_PREFERENCE = "no preference"


class AnswerSource(Protocol):
    async def answer(self, question: QuestionRecord) -> Answer: ...


def load_answers_file(path: Path) -> dict[str, Any]:
    """Read `--answers FILE`: a map from a question's header (or text) to its answer."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read answers file {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise UserError(f"answers file {path} is not valid YAML/JSON{line}") from exc
    if not isinstance(data, dict):
        raise UserError(f"answers file {path} must be a map from question header to answer")
    return {str(k): v for k, v in data.items()}


def to_answer(question: QuestionRecord, value: Any) -> Answer:
    """A label, a list of labels, or free text ("Other") -> an Answer."""
    labels = [o.label for o in question.options or []]
    values = value if isinstance(value, list) else [value]
    texts = [str(v) for v in values]
    chosen = [t for t in texts if t in labels]
    other = [t for t in texts if t not in labels]
    if not labels:
        return Answer(question=question.question, other=", ".join(texts))
    return Answer(question=question.question, selected=chosen, other=", ".join(other) or None)


def first_option(question: QuestionRecord) -> Answer:
    if question.options:
        return Answer(question=question.question, selected=[question.options[0].label])
    return Answer(question=question.question, other=NO_PREFERENCE)


class FileAnswers:
    def __init__(self, answers: dict[str, Any], *, fallback: AnswerSource | None) -> None:
        self._answers = answers
        self._fallback = fallback

    async def answer(self, question: QuestionRecord) -> Answer:
        for key in (question.header, question.question):
            if key and key in self._answers:
                return to_answer(question, self._answers[key])
        if self._fallback is not None:
            return await self._fallback.answer(question)
        raise UserError(
            f"the answers file has no answer for question '{question.header or question.question}'"
        )


class NoAnswers:
    """No terminal and no answers given: say how to answer instead of guessing."""

    async def answer(self, question: QuestionRecord) -> Answer:
        raise UserError(
            f"the agent asks '{question.header or question.question}' but there is no terminal "
            f"to ask on: answer in the web UI ({forgeline_command()} serve), or resume with "
            "--answers FILE or --auto-answer"
        )


class AutoAnswers:
    async def answer(self, question: QuestionRecord) -> Answer:
        return first_option(question)


class TerminalAnswers:
    """Asks on the terminal: a numbered list, several numbers for multi-select, or text.

    Lines are read on the event loop, so Ctrl-C at a prompt pauses the run at once.
    """

    def __init__(self, console: Console, reader: LineReader | None = None) -> None:
        self._console = console
        self._reader = reader or LineReader()

    async def _prompt(self, text: str, default: str | None = None) -> str:
        shown = f" [{default}]" if default else ""
        self._console.print(f"{text}{shown}: ", end="", markup=False, highlight=False)
        line = (await self._reader.readline()).strip()
        return line or (default or "")

    async def answer(self, question: QuestionRecord) -> Answer:
        c = self._console
        header = one_line(question.header or "Question")
        c.print(f"\n[bold yellow]?[/] [bold]{header}[/]: {safe(question.question)}")
        options = question.options or []
        for i, option in enumerate(options, 1):
            desc = f" [dim]{one_line(option.description)}[/]" if option.description else ""
            c.print(f"  {i}. {one_line(option.label)}{desc}")
        if not options:
            return Answer(question=question.question, other=await self._prompt("  your answer"))
        c.print(f"  {len(options) + 1}. Other (type your own answer)")
        hint = "numbers, comma-separated" if question.multi_select else "a number"
        while True:
            raw = await self._prompt(f"  choose ({hint})", default="1")
            answer = self._parse(question, raw)
            if answer is not None:
                if len(options) + 1 in _numbers(raw):
                    other = await self._prompt("  your answer")
                    answer = answer.model_copy(update={"other": other})
                return answer
            c.print("  [red]not a valid choice, try again[/]")

    def _parse(self, question: QuestionRecord, raw: str) -> Answer | None:
        options = question.options or []
        picks = [p.strip() for p in raw.split(",") if p.strip()]
        if not picks or not all(p.isdigit() for p in picks):
            return None
        numbers = [int(p) for p in picks]
        if any(n < 1 or n > len(options) + 1 for n in numbers):
            return None
        if len(numbers) > 1 and not question.multi_select:
            return None
        selected = [options[n - 1].label for n in numbers if n <= len(options)]
        return Answer(question=question.question, selected=selected)


def _numbers(raw: str) -> list[int]:
    return [int(p) for p in raw.replace(" ", "").split(",") if p.isdigit()]
