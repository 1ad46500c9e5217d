"""Sandbox spawn cost: Forgeline's `run_command` against a bare `bwrap ... cat` (issue 10).

Both run `cat` of a 1 KB file in the workspace, one command at a time, from the same
asyncio process, interleaved round by round so machine load affects both alike:

- **bare**: `bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all
  --die-with-parent --new-session --cap-drop ALL --clearenv -- /bin/cat data.txt`, its
  output read through a pipe (`asyncio.create_subprocess_exec` + `communicate`);
- **bare + bash**: the same, running `/bin/bash -o pipefail -c 'cat data.txt'` as every
  `Bash` command does (the part of the gap that is the shell itself);
- **forgeline**: `run_command("cat data.txt", policy)` with the usual policy (hidden
  directories, a writable repository, limits, cgroup, seccomp filter, clean env).

Goal: forgeline / bare <= 1.5x (medians).

Usage: .venv/bin/python bench/bench_sandbox_spawn.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from benchkit import median, ms, table, write_section

from forgeline.sandbox import run_command
from forgeline.tools.base import SandboxPolicy

GOAL_RATIO = 1.5
FILE_NAME = "data.txt"


def bare_argv(bwrap: str, *, shell: bool = False) -> list[str]:
    """The bare bubblewrap command line the goal compares against."""
    program = ["/bin/bash", "-o", "pipefail", "-c", f"cat {FILE_NAME}"] if shell else []
    return [
        bwrap,
        *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"),
        *("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"),
        *("--clearenv", "--", *(program or ["/bin/cat", FILE_NAME])),
    ]


async def bare_once(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
    )
    out, _ = await proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or len(out) != 1024:
        raise SystemExit(f"bare bwrap failed: exit {proc.returncode}, {len(out)} bytes")
    return elapsed


async def forgeline_once(policy: SandboxPolicy) -> float:
    started = time.perf_counter()
    result = await run_command(f"cat {FILE_NAME}", policy, timeout_s=30)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0 or len(result.output) != 1024:
        raise SystemExit(f"forgeline failed: exit {result.exit_code}: {result.output[:200]}")
    return elapsed


async def measure(workspace: Path, rounds: int) -> tuple[list[float], list[float], list[float]]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SystemExit("bwrap is not installed")
    repo = workspace / "repo"
    repo.mkdir()
    policy = SandboxPolicy(workspace=workspace, writable=(repo,))
    argv, with_shell = bare_argv(bwrap), bare_argv(bwrap, shell=True)
    for _ in range(3):  # warm-up: page cache, sandbox_status, the filter
        await bare_once(argv, workspace)
        await forgeline_once(policy)
    bare: list[float] = []
    shell: list[float] = []
    ours: list[float] = []
    for _ in range(rounds):
        bare.append(await bare_once(argv, workspace))
        shell.append(await bare_once(with_shell, workspace))
        ours.append(await forgeline_once(policy))
    return bare, shell, ours


def row(name: str, times: list[float]) -> list[str]:
    ordered = sorted(times)
    return [name, ms(median(times)), ms(ordered[0]), ms(ordered[len(ordered) * 9 // 10])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds instead of 200")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 200)
    # Not under /tmp: the bare sandbox has a private /tmp, so it would not see the file.
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-spawn-", dir="/var/tmp") as tmp:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        line = "forgeline benchmark line of text, 64 bytes long................\n"
        (workspace / FILE_NAME).write_text(line * 16, encoding="utf-8")
        bare, shell, ours = asyncio.run(measure(workspace, rounds))
    ratio = median(ours) / median(bare)
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    rows = [
        row("bare `bwrap ... cat`", bare),
        row("bare `bwrap ... bash -c 'cat'`", shell),
        row("forgeline `run_command`", ours),
    ]
    body = "\n".join(
        [
            f"{rounds} rounds, interleaved, after 3 warm-up rounds; `cat` of a 1 KB file.",
            "",
            table(["spawn", "median ms", "min ms", "p90 ms"], rows),
            "",
            f"forgeline / bare (medians): **{ratio:.2f}x** ({verdict} the {GOAL_RATIO}x goal); "
            f"forgeline / bare + bash: {median(ours) / median(shell):.2f}x.",
        ]
    )
    print(body)
    write_section("sandbox_spawn", "Sandbox spawn against bare bubblewrap (issue 10)", body)


if __name__ == "__main__":
    main()
