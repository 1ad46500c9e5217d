"""Follow a running task on the terminal: live progress lines and questions answered.

Everything an event carries may come from a model, a tool or a repository: it is printed
through `forgeline.console.sanitize` (no control sequences, no rich markup, one line).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console

from forgeline.console.answers import AnswerSource
from forgeline.console.sanitize import one_line, safe
from forgeline.domain.errors import UserError
from forgeline.domain.events import Event
from forgeline.orchestrator.service import Service

TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
ICONS = {"blocker": "red", "major": "yellow", "minor": "cyan", "nit": "dim"}


def describe_call(name: str, args: dict[str, Any]) -> str:
    """One line for a tool call: the tool and its most telling argument."""
    for key in ("file_path", "pattern", "command", "path"):
        if key in args:
            value = str(args[key]).replace("\n", " ")
            return f"{name} {value[:100]}"
    if name == "AskUser":
        return f"AskUser ({len(args.get('questions', []))} questions)"
    if name == "Report":
        return f"Report {args.get('verdict', '')} ({len(args.get('findings', []))} findings)"
    if name == "TodoWrite":
        return f"TodoWrite ({len(args.get('todos', []))} items)"
    return name


def clean_lines(text: object) -> list[str]:
    """The lines of `text` (`\r` is no line break here: it is removed with the controls)."""
    return str(text).split("\n")


def error_head(text: object) -> str:
    """A failed call's first line, and the next ones when it only introduces them ("...:")."""
    lines = [line.strip() for line in clean_lines(text) if line.strip()]
    if not lines:
        return "error"
    head = lines[0]
    return f"{head} {'; '.join(lines[1:3])}" if head.endswith(":") else head


class Progress:
    """Renders events as lines; keeps a running token and cost total."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tokens = 0
        self.cost = 0.0
        self.budget_reason = ""
        self.agent_totals: dict[str, dict[str, Any]] = {}

    def show(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event.data)

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def _on_phase_started(self, d: dict[str, Any]) -> None:
        self.console.rule(f"[bold]{one_line(d.get('phase', ''))}")

    def _on_task_started(self, d: dict[str, Any]) -> None:
        where = {"checkpoint": "checkpoint", "gate": "gate round"}.get(str(d.get("kind")))
        on = f" on {where} {one_line(d.get('round'))}" if where else ""
        self._line(f"[bold blue]▶[/] {one_line(d.get('agent'))} agent started{on}")

    def _on_model_text(self, d: dict[str, Any]) -> None:
        first = next((ln for ln in clean_lines(d.get("text", "")) if ln.strip()), "")
        if first:
            self._line(f"  [dim]{one_line(d.get('agent', ''))}: {one_line(first, 140)}[/]")

    def _on_tool_call(self, d: dict[str, Any]) -> None:
        call = describe_call(str(d.get("name", "")), d.get("input") or {})
        self._line(f"  [cyan]{one_line(d.get('agent', ''))} ›[/] {one_line(call)}")

    def _on_tool_result(self, d: dict[str, Any]) -> None:
        if d.get("is_error"):
            self._line(f"    [red]✗ {one_line(error_head(d.get('content', '')), 160)}[/]")

    def _on_finding(self, d: dict[str, Any]) -> None:
        colour = ICONS.get(d.get("severity", ""), "white")
        where = f"{d['path']}" + (f":{d['line']}" if d.get("line") else "") if d.get("path") else ""
        self._line(
            f"  [{colour}]⚑ {one_line(d.get('agent'))} \\[{one_line(d.get('severity'))}]"
            f"{' ' + one_line(where) if where else ''}: {one_line(d.get('message', ''))}[/]"
        )

    def _on_commit(self, d: dict[str, Any]) -> None:
        subject = clean_lines(d.get("message", ""))[:1]
        self._line(
            f"  [green]● commit {one_line(str(d.get('sha', ''))[:10])}[/] "
            f"{one_line(d.get('repo', ''))}: {one_line(subject[0] if subject else '')}"
        )

    def _on_gate(self, d: dict[str, Any]) -> None:
        verdict = (
            "[green]passed[/]"
            if d.get("passed")
            else f"[red]{len(d.get('blockers', []))} blocker(s)[/]"
        )
        verdicts = ", ".join(f"{k}: {v}" for k, v in d.get("verdicts", {}).items())
        self._line(
            f"  [bold]gate round {one_line(d.get('round'))}[/]: {verdict} ({one_line(verdicts)})"
        )

    def _on_question_answered(self, d: dict[str, Any]) -> None:
        for a in d.get("answers", []):
            question, answer = one_line(a.get("question")), one_line(a.get("answer"))
            self._line(f"  [yellow]?[/] {question} [bold]→ {answer}[/]")

    def _on_push(self, d: dict[str, Any]) -> None:
        colour = "magenta" if d.get("ok") else "red"
        where, detail = one_line(d.get("repo", "")), one_line(d.get("detail", ""))
        self._line(f"  [{colour}]↑ {where}: {detail}[/]")

    def _on_agent_override(self, d: dict[str, Any]) -> None:
        where = f"{one_line(d.get('repo'))}/{one_line(d.get('path'))}"
        if d.get("accepted"):
            self._line(f"  [yellow]⚙ repository agent file {where}: {one_line(d.get('reason'))}[/]")
        else:
            self._line(f"  [red]⚙ repository agent file {where} {one_line(d.get('reason'))}[/]")

    def _on_usage(self, d: dict[str, Any]) -> None:
        self.tokens += sum(int(d.get(k, 0)) for k in TOKEN_KINDS)
        self.cost += float(d.get("cost_usd", 0.0))
        if isinstance(d.get("agent_total"), dict):
            self.agent_totals[str(d.get("agent"))] = d["agent_total"]
        budget = d.get("budget") or {}
        if budget.get("max_cost_usd") is not None:
            self._line(
                f"  [dim]$ spent ${float(budget.get('spent_usd', 0.0)):.4f} of "
                f"${float(budget['max_cost_usd']):.2f}[/]"
            )

    def _on_context_compacted(self, d: dict[str, Any]) -> None:
        how = (
            "compacted" if d.get("compacted") else f"cleared {d.get('cleared_results', 0)} results"
        )
        self._line(
            f"  [dim]⇣ {one_line(d.get('agent', ''))}: context {how}, "
            f"{int(d.get('before_tokens', 0)):,} → {int(d.get('after_tokens', 0)):,} tokens[/]"
        )

    def _on_budget_exceeded(self, d: dict[str, Any]) -> None:
        self.budget_reason = str(d.get("message", "the project's budget is reached"))
        self._line(f"[bold yellow]⏸ {safe(self.budget_reason)}[/]")

    def _on_task_completed(self, d: dict[str, Any]) -> None:
        """The agent's own tokens and cost, then the project's so far."""
        total = self.agent_totals.get(str(d.get("agent")), {})
        own = sum(int(total.get(k, 0)) for k in TOKEN_KINDS)
        self._line(
            f"[bold green]✓[/] {one_line(d.get('agent'))} done  "
            f"[dim]{own:,} tokens, ${float(total.get('cost_usd', 0.0)):.4f} · "
            f"project {self.tokens:,} tokens, ${self.cost:.4f}[/]"
        )

    def _on_task_failed(self, d: dict[str, Any]) -> None:
        self._line(f"[bold red]✗ {one_line(d.get('agent'))} failed:[/] {safe(d.get('error', ''))}")

    def _on_task_paused(self, d: dict[str, Any]) -> None:
        self._line(f"[yellow]⏸ {one_line(d.get('agent'))} paused[/]")

    def _on_task_resumed(self, d: dict[str, Any]) -> None:
        self._line(f"[yellow]▶ {one_line(d.get('agent'))} resumed[/]")

    def _on_setup_started(self, d: dict[str, Any]) -> None:
        self._line(
            f"[bold blue]⚙[/] setup {one_line(d.get('repo', ''))} "
            f"[dim]({one_line(d.get('source', ''))})[/]: {one_line(d.get('command', ''), 140)}"
        )

    def _on_setup_output(self, d: dict[str, Any]) -> None:
        lines = [ln for ln in clean_lines(d.get("text", "")) if ln.strip()]
        if lines:
            more = f" [dim](+{len(lines) - 1} lines)[/]" if len(lines) > 1 else ""
            self._line(f"    [dim]│ {one_line(lines[-1], 160)}[/]{more}")

    def _on_setup_completed(self, d: dict[str, Any]) -> None:
        how = "reused an identical environment" if d.get("reused") else "done"
        self._line(
            f"  [green]✓ setup {one_line(d.get('repo', ''))} {how}[/] "
            f"[dim]in {float(d.get('seconds', 0)):.1f} s[/]"
        )

    def _on_setup_failed(self, d: dict[str, Any]) -> None:
        self._line(
            f"  [bold red]✗ setup {one_line(d.get('repo', ''))} failed[/] "
            f"(exit {one_line(d.get('exit_code'))}): {one_line(d.get('command', ''), 160)}"
        )
        for line in clean_lines(d.get("tail", ""))[-10:]:
            self._line(f"    [red]│ {one_line(line, 160)}[/]")

    def _on_warning(self, d: dict[str, Any]) -> None:
        self._line(f"  [yellow]! {safe(d.get('message', ''))}[/]")


async def follow(
    service: Service,
    project_id: str,
    done: asyncio.Future[Any],
    *,
    progress: Progress,
    answers: AnswerSource,
    after_seq: int = 0,
) -> None:
    """Show events and answer questions until `done` resolves."""
    bus = service.runtime.events
    seen: set[str] = set()

    async def consume() -> None:
        async for event in bus.subscribe(project_id, after_seq=after_seq):
            progress.show(event)
            if event.type == "question_asked":
                await _answer_batch(service, project_id, event, answers, seen)

    consumer = asyncio.create_task(consume())
    try:
        await asyncio.wait([consumer, done], return_when=asyncio.FIRST_COMPLETED)
        if consumer.done() and consumer.exception():
            raise consumer.exception()  # type: ignore[misc]
        await asyncio.sleep(0.3)  # let the last events of the run arrive
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)


async def _answer_batch(
    service: Service, project_id: str, event: Event, answers: AnswerSource, seen: set[str]
) -> None:
    questions = await service.store.list_questions(project_id)
    batch = [q for q in questions if q.batch == event.data.get("batch") and q.answer is None]
    for question in sorted(batch, key=lambda q: q.position):
        if question.id in seen:
            continue
        seen.add(question.id)
        while True:
            answer = await answers.answer(question)
            try:
                await service.answer(question.id, answer)
                break
            except UserError as exc:
                progress_console = getattr(answers, "_console", None)
                if progress_console is None:
                    raise
                progress_console.print(f"  [red]{safe(exc)}[/]")
