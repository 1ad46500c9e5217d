"""`forgeline demo`: the whole workflow on a bundled sample repository, scripted model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from forgeline.console.commands import RunOptions, run_command
from forgeline.console.launcher import forgeline_command
from forgeline.settings import Settings

REQUEST = "Fix paginate() dropping the last partial page"

INTRO = (
    "[bold]Forgeline demo[/]: this run uses a [bold yellow]scripted model[/] that replays "
    "prepared turns, not an LLM.\nThe tools, sandbox, git commits, overwatchers, durable "
    "tasks and events are all real.\n"
)


def make_sample_repo(parent: Path) -> Path:
    """Copy the bundled sample into a fresh git repository under `parent`."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    repo = parent / f"demo-{stamp}" / "pagekit"
    source = resources.files("forgeline.demo") / "sample"
    with resources.as_file(source) as src:
        shutil.copytree(src, repo, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "gitignore").rename(repo / ".gitignore")
    env_args = ["-c", "user.name=Demo", "-c", "user.email=demo@example.com"]
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*env_args, "commit", "-q", "-m", "pagekit 0.1.0"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


def script_path(home: Path) -> Path:
    """The bundled script, copied next to the demo (scripted models take a file path)."""
    target = home / "demo" / "script.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((resources.files("forgeline.demo") / "script.yaml").read_bytes())
    return target


ASKS = (
    "\nThe planner will stop and [bold]ask you[/] before anything is built: pick an answer "
    "by its number (Enter takes the first).\n"
)


def answers_itself(auto_answer: bool) -> bool:
    """The demo asks on a terminal; `--auto-answer`, or no terminal (CI), picks first options."""
    return auto_answer or not sys.stdin.isatty()


async def demo_command(
    *, json_output: bool = False, auto_answer: bool = False, settings: Settings | None = None
) -> int:
    """Run the demo; returns the exit status (DESIGN §6)."""
    settings = settings or Settings()
    repo = make_sample_repo(settings.home / "demo")
    auto = answers_itself(auto_answer)
    options = RunOptions(
        request=REQUEST,
        repos=[str(repo)],
        model=f"scripted:{script_path(settings.home)}",
        auto_answer=auto,
        json_output=json_output,
        settings=settings,
        intro=INTRO + ("" if auto else ASKS) + f"Sample repository: {repo}",
    )
    code = await run_command(options)
    if not json_output and code == 0:
        from rich.console import Console

        Console().print(
            "\n[bold]Where to look[/]: the workspace and branch above; "
            "`git -C <workspace>/pagekit log --oneline forgeline/...`; "
            "`git -C <workspace>/pagekit diff main`; and "
            f"[bold]{forgeline_command()} serve[/] for the web UI (http://127.0.0.1:8000)."
        )
    return code
