"""`forgeline demo`: the whole workflow on a bundled sample repository, scripted model."""

from __future__ import annotations

import shutil
import subprocess
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


async def demo_command(*, json_output: bool = False, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    repo = make_sample_repo(settings.home / "demo")
    options = RunOptions(
        request=REQUEST,
        repos=[str(repo)],
        model=f"scripted:{script_path(settings.home)}",
        auto_answer=True,
        json_output=json_output,
        settings=settings,
        intro=INTRO + f"Sample repository: {repo}",
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
