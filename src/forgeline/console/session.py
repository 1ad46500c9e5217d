"""The opening `forgeline iterate` and `forgeline resume` share: options checked, runtime up.

A command that ends early raises `CommandExit` carrying its exit status, once the reason
is printed; the command returns that status.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

from forgeline.console.answers import (
    AnswerSource,
    AutoAnswers,
    FileAnswers,
    NoAnswers,
    TerminalAnswers,
    load_answers_file,
)
from forgeline.console.sanitize import clean_terminal_logging, safe
from forgeline.domain.errors import ForgelineError
from forgeline.settings import Settings

if TYPE_CHECKING:
    from forgeline.orchestrator.service import Service

T = TypeVar("T")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PAUSED = 0, 1, 2, 130


def make_console(json_output: bool) -> Console:
    """The console; with `--json` it writes to stderr, leaving stdout to the JSON."""
    return Console(stderr=json_output, highlight=False)


def answer_source(answers: Path | None, auto: bool, console: Console) -> AnswerSource:
    """Answers from the file, else automatic ones, else the terminal's (if it is one)."""
    interactive = TerminalAnswers(console) if sys.stdin.isatty() else None
    fallback: AnswerSource | None = AutoAnswers() if auto else interactive
    if answers is not None:
        return FileAnswers(load_answers_file(answers), fallback=fallback)
    return fallback or NoAnswers()


class CommandExit(Exception):
    """Ends a command early with its exit status; the reason is printed already."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class CliSession:
    """What `iterate` and `resume` work with: the console, the answers, a running service."""

    console: Console
    answers: AnswerSource
    service: Service

    async def attempt(self, step: Awaitable[T]) -> T:
        """Await `step`; a `ForgelineError` is printed and ends the command (failed)."""
        try:
            return await step
        except ForgelineError as exc:
            self.console.print(f"[red]error:[/] {safe(exc)}")
            raise CommandExit(EXIT_FAILED) from None


@asynccontextmanager
async def cli_session(
    answers_file: Path | None, auto: bool, json_output: bool, *, role: str, listen: bool
) -> AsyncIterator[CliSession]:
    """Check the answer options, then start the runtime (stopped on leaving).

    Raises:
        CommandExit: The answer options are unusable (a usage error); nothing was started.
    """
    from forgeline.orchestrator.boot import start_runtime
    from forgeline.orchestrator.service import Service

    console = make_console(json_output)
    clean_terminal_logging()
    try:
        answers = answer_source(answers_file, auto, console)
    except ForgelineError as exc:
        console.print(f"[red]error:[/] {safe(exc)}")
        raise CommandExit(EXIT_USAGE) from None
    runtime = await start_runtime(Settings(), role=role, listen=listen)
    try:
        yield CliSession(console, answers, Service(runtime))
    finally:
        await runtime.stop()
