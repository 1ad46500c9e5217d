"""The `Bash` tool: run a shell command in the workspace, inside the sandbox (DESIGN §4)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from forgeline.domain.errors import SandboxUnavailable, ToolError, UserError
from forgeline.sandbox.runner import CommandResult, run_command
from forgeline.tools.base import CommandRecord, ToolContext, ToolInput

DESCRIPTION = """\
Runs a bash command and returns its output (stdout and stderr interleaved) and exit code.

- The command runs with `bash -o pipefail -c` in a sandbox (a pipeline fails when any \
part of it fails: `pytest | tail -5` keeps pytest's exit code). The working directory is \
the workspace root; `cd` into a repository first (e.g. `cd myrepo && git status`), and \
note that every call starts a fresh shell: no `cd`, variable or background job carries over.
- Only the directories this agent may change are writable; the rest of the system is \
read-only. /tmp and $HOME are private, empty (but for a .gitconfig) and discarded after \
the command.
- There is no network access unless this project allows it, so installing packages from \
the internet usually fails; use what is already installed. Unix sockets cannot be created \
(pipes and stream `socketpair`s work; for Python's `multiprocessing`, use the `fork` start \
method).
- git has an identity (Forgeline Agent <agent@forgeline.invalid>) unless a repository \
sets its own.
- The environment is clean: no API keys or tokens are available.
- `timeout` is in milliseconds (by default 120000 = 2 minutes and at most 600000 = 10 \
minutes, unless the operator configured other values); the whole command, with everything \
it started, is killed when it passes. Interactive commands (editors, pagers, prompts) \
cannot work: stdin is empty.
- Long output is cut in the middle; prefer commands with concise output (`git diff --stat`, \
`pytest -q`, `| tail -50`).
- Prefer the dedicated tools: Glob to find files, Grep to search contents, Read to read a \
file, Edit/Write to change one. Use Bash for running tests, builds, linters and git.
- Quote paths that contain spaces. Chain dependent commands with `&&`.
"""


# Room left in `ctx.max_output_chars` for the exit code, timeout and note lines.
_TRAILER_RESERVE = 400
_MIN_OUTPUT_CHARS = 200
# How much of a command's output the evidence keeps.
TAIL_LINES = 20
TAIL_CHARS = 2_000


class BashInput(ToolInput):
    """The `Bash` tool's input."""

    command: str = Field(min_length=1, description="The command to run with `bash -o pipefail -c`.")
    timeout: int | None = Field(
        default=None,
        gt=0,
        description="Timeout in milliseconds (default 120000, maximum 600000).",
    )
    description: str | None = Field(
        default=None,
        description="A short description of what the command does, in 5-10 words.",
    )


def _timeout_ms(requested: int | None, ctx: ToolContext) -> tuple[int, str | None]:
    """The timeout to use, and a note when the requested one was clamped."""
    if requested is None:
        return ctx.bash_default_timeout_ms, None
    if requested > ctx.bash_max_timeout_ms:
        note = (
            f"note: the timeout was clamped to {ctx.bash_max_timeout_ms} ms "
            f"(requested {requested} ms, the maximum is {ctx.bash_max_timeout_ms} ms)"
        )
        return ctx.bash_max_timeout_ms, note
    return requested, None


def _format(result: CommandResult, *, timeout_ms: int, note: str | None) -> str:
    lines = [result.output.rstrip("\n") if result.output.strip() else "(no output)"]
    if result.timed_out:
        lines.append(f"timed out after {timeout_ms / 1000:g} s (the command was killed)")
    lines.append(f"exit code: {result.exit_code}")
    if not result.sandboxed:
        lines.append("warning: the sandbox is off (FORGELINE_SANDBOX=off)")
    if note:
        lines.append(note)
    return "\n".join(lines)


def output_tail(output: str, *, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last lines of a command's output, as kept for the evidence."""
    tail = "\n".join(output.rstrip("\n").splitlines()[-lines:])
    return tail[-chars:]


class BashTool:
    """Runs a shell command in the workspace under the agent's sandbox policy."""

    name: ClassVar[str] = "Bash"
    description: ClassVar[str] = DESCRIPTION
    input_model: ClassVar[type[BaseModel]] = BashInput
    read_only: ClassVar[bool] = False

    async def run(self, args: Any, ctx: ToolContext) -> str:
        """Run the command and describe its output and exit code.

        Args:
            args: A `BashInput`.
            ctx: The agent's tool context; `ctx.sandbox` must be set.

        Returns:
            The output, then `exit code: N` (and a timeout line when it timed out).

        Raises:
            ToolError: Bash is not available to the agent, or the sandbox cannot run.
        """
        params: BashInput = args
        if ctx.sandbox is None:
            raise ToolError("Bash is not available to this agent.")
        timeout_ms, note = _timeout_ms(params.timeout, ctx)
        try:
            result = await run_command(
                params.command,
                ctx.sandbox,
                timeout_s=timeout_ms / 1000,
                max_output_chars=max(ctx.max_output_chars - _TRAILER_RESERVE, _MIN_OUTPUT_CHARS),
            )
        except (SandboxUnavailable, UserError) as exc:
            raise ToolError(str(exc)) from exc
        except OSError as exc:
            raise ToolError(f"The command could not be started: {exc}") from exc
        ctx.commands.append(
            CommandRecord(
                command=params.command,
                exit_code=result.exit_code,
                timed_out=result.timed_out,
                duration_s=result.duration_s,
                output_tail=output_tail(result.output),
            )
        )
        return _format(result, timeout_ms=timeout_ms, note=note)
