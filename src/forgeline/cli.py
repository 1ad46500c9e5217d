"""The `forgeline` command line (DESIGN §6): the composition root for local use.

Imports stay inside the commands so `forgeline --help` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="forgeline",
    help="Agents that research, plan and implement changes on your git repositories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PAUSED = 0, 1, 2, 130


@app.command()
def run(
    request: Annotated[
        str | None,
        typer.Argument(help="The feature request (not with --project).", metavar="[REQUEST]"),
    ] = None,
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", help="Repository URL or path (repeatable).", metavar="URL_OR_PATH"),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="Continue this project with --phases (forgeline list).", metavar="ID"
        ),
    ] = None,
    base_branch: Annotated[
        str | None,
        typer.Option("--base-branch", help="Base branch for every repository.", metavar="B"),
    ] = None,
    phases: Annotated[
        str,
        typer.Option(
            "--phases", help="Comma-separated: research,planning,implementation.", metavar="PHASES"
        ),
    ] = "research,planning,implementation",
    model: Annotated[
        str | None, typer.Option("--model", help="provider:model", metavar="M")
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option("--answers", help="YAML/JSON map: question header -> answer.", metavar="FILE"),
    ] = None,
    auto_answer: Annotated[
        bool, typer.Option("--auto-answer", help="Pick each question's first option.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON summary.")] = False,
    allow_network: Annotated[
        bool, typer.Option("--allow-network", help="Let sandboxed commands use the network.")
    ] = False,
    pr: Annotated[
        str | None,
        typer.Option(
            "--pr", help="Pull requests on GitHub: draft (default), ready or off.", metavar="MODE"
        ),
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", help="The project's budget in USD (DESIGN §15).", metavar="USD"),
    ] = None,
    setup: Annotated[
        list[str] | None,
        typer.Option(
            "--setup",
            help="Setup command per repository, in --repo order ('auto': the default, "
            "'none': no setup).",
            metavar="CMD",
        ),
    ] = None,
) -> None:
    """Run the workflow on REQUEST over the given repositories, or continue --project ID."""
    from forgeline.console.commands import RunOptions, run_command

    options = RunOptions(
        request=request,
        repos=repo or [],
        project=project,
        base_branch=base_branch,
        phases=phases,
        model=model,
        answers=answers,
        auto_answer=auto_answer,
        json_output=json_output,
        allow_network=allow_network,
        pr=pr,
        max_cost=max_cost,
        setups=setup or [],
    )
    raise typer.Exit(_run_async(run_command(options)))


@app.command()
def resume(
    task: Annotated[
        str | None, typer.Argument(help="Task id; omit to resume every interrupted task.")
    ] = None,
    answers: Annotated[Path | None, typer.Option("--answers")] = None,
    auto_answer: Annotated[bool, typer.Option("--auto-answer")] = False,
    json_output: Annotated[bool, typer.Option("--json")] = False,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", help="Raise the project's budget (USD) first.", metavar="USD"),
    ] = None,
) -> None:
    """Continue a paused task, or every task a crash interrupted."""
    from forgeline.console.commands import resume_command

    command = resume_command(task, answers, auto_answer, json_output, max_cost=max_cost)
    raise typer.Exit(_run_async(command))


@app.command(name="list")
def list_(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List projects and tasks, newest first, with ids and states."""
    from forgeline.console.listing import list_command

    raise typer.Exit(_run_async(list_command(json_output=json_output)))


@app.command()
def iterate(
    project: Annotated[str, typer.Argument(help="The project id.", metavar="PROJECT")],
    answers: Annotated[Path | None, typer.Option("--answers")] = None,
    auto_answer: Annotated[bool, typer.Option("--auto-answer")] = False,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Another implementation round from the pull requests' unresolved review comments."""
    from forgeline.console.commands import iterate_command

    raise typer.Exit(_run_async(iterate_command(project, answers, auto_answer, json_output)))


@app.command()
def demo(
    json_output: Annotated[bool, typer.Option("--json")] = False,
    auto_answer: Annotated[
        bool,
        typer.Option(
            "--auto-answer",
            help="Pick each question's first option instead of asking (always so without a "
            "terminal).",
        ),
    ] = False,
) -> None:
    """The whole workflow on a bundled sample repository, with a scripted model (no LLM)."""
    from forgeline.console.demo import demo_command

    command = demo_command(json_output=json_output, auto_answer=auto_answer)
    raise typer.Exit(_run_async(command))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the API and web UI, and run the durable workers."""
    from forgeline.api.server import serve_command

    raise typer.Exit(serve_command(host=host, port=port))


def _run_async(coro: Coroutine[Any, Any, int]) -> int:
    import asyncio

    return asyncio.run(coro)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(EXIT_PAUSED)
    except Exception as exc:
        from forgeline.console.startup import startup_error

        message = startup_error(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
