"""Sandbox spawn cost: Forgeline's `run_command` against a bare `bwrap ... cat` (issue 10).

Both run `cat` of a 1 KB file in the workspace, one command at a time, from the same
asyncio process, interleaved round by round so machine load affects both alike:

- **bare**: `bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all
  --die-with-parent --new-session --cap-drop ALL --clearenv -- /bin/cat data.txt`, its
  output read through a pipe (`asyncio.create_subprocess_exec` + `communicate`);
- **bare + bash**: the same, running `/bin/bash -o pipefail -c 'cat data.txt'` as every
  `Bash` command does (the part of the gap that is the shell itself);
- **forgeline**: `run_command("cat data.txt", policy)` with the usual policy (hidden
  directories, a writable repository, limits, cgroup, seccomp filter, clean env), in
  the sandbox parked for it after the previous command (`sandbox.warm`);
- **forgeline, back to back**: the same, started the moment the previous one ended,
  so its parked sandbox may still be being set up;
- **forgeline, cold** (before warm sandboxes): `WARM.enabled = False`, so the command
  joins a fresh cgroup and bubblewrap builds its sandbox after the call, as every
  command did before.

Every run but the back-to-back one follows a pause (`--pause-ms`, 50 ms): an agent's
commands are separated by a model call. Pauses are not timed.

Goal: forgeline / bare <= 1.5x (medians).

Usage: .venv/bin/python bench/bench_sandbox_spawn.py [--quick] [--rounds N] [--pause-ms MS]
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
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.sandbox.warm import WARM

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


Timings = dict[str, list[float]]


async def measure(workspace: Path, rounds: int, pause_s: float) -> Timings:
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
    times: Timings = {name: [] for name in ("bare", "shell", "ours", "b2b", "cold")}
    for _ in range(rounds):
        for name, once in (
            ("bare", lambda: bare_once(argv, workspace)),
            ("shell", lambda: bare_once(with_shell, workspace)),
            ("ours", lambda: forgeline_once(policy)),
        ):
            await asyncio.sleep(pause_s)
            times[name].append(await once())
        times["b2b"].append(await forgeline_once(policy))
        await asyncio.sleep(pause_s)
        WARM.enabled = False
        try:
            times["cold"].append(await forgeline_once(policy))
        finally:
            WARM.enabled = True
    WARM.close()
    return times


def row(name: str, times: list[float]) -> list[str]:
    ordered = sorted(times)
    return [name, ms(median(times)), ms(ordered[0]), ms(ordered[len(ordered) * 9 // 10])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds instead of 200")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--pause-ms", type=float, default=50.0)
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 200)
    # Not under /tmp: the bare sandbox has a private /tmp, so it would not see the file.
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-spawn-", dir="/var/tmp") as tmp:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        line = "forgeline benchmark line of text, 64 bytes long................\n"
        (workspace / FILE_NAME).write_text(line * 16, encoding="utf-8")
        times = asyncio.run(measure(workspace, rounds, args.pause_ms / 1000))
    body = report(times, rounds, args.pause_ms)
    print(body)
    write_section("sandbox_spawn", "Sandbox spawn against bare bubblewrap (issue 10)", body)


def report(times: Timings, rounds: int, pause_ms: float) -> str:
    """The section's text: the table and the ratios to bare `bwrap`."""
    bare = median(times["bare"])
    ratio = median(times["ours"]) / bare
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    rows = [
        row("bare `bwrap ... cat`", times["bare"]),
        row("bare `bwrap ... bash -c 'cat'`", times["shell"]),
        row("forgeline `run_command` (warm)", times["ours"]),
        row("forgeline, back to back", times["b2b"]),
        row("forgeline, cold (before)", times["cold"]),
    ]
    return "\n".join(
        [
            f"{rounds} rounds, interleaved, after 3 warm-up rounds; `cat` of a 1 KB file; "
            f"{pause_ms:g} ms untimed pause before each run but the back-to-back one.",
            "",
            table(["spawn", "median ms", "min ms", "p90 ms"], rows),
            "",
            f"forgeline / bare (medians): **{ratio:.2f}x** ({verdict} the {GOAL_RATIO}x goal); "
            f"forgeline / bare + bash: {median(times['ours']) / median(times['shell']):.2f}x; "
            f"back to back / bare: {median(times['b2b']) / bare:.2f}x; "
            f"cold (before) / bare: {median(times['cold']) / bare:.2f}x.",
        ]
    )


if __name__ == "__main__":
    main()
