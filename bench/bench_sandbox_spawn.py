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

CPU per command, in the same interleaved run: the CPU from the start of a run to the end
of the pause after it (so the next command's sandbox, parked in the background, counts for
the run that parked it), averaged. Two measures:

- **own**: this process (every thread) plus its waited-for children (`RUSAGE_CHILDREN`),
  as `step_floor.py` counts it. It misses what bubblewrap does not wait for: its namespace
  init and everything inside the sandbox (the shell, `cat`);
- **tree**: a `cpuacct` cgroup (v1) holding this process, hence every process it starts,
  the sandboxed ones included; "-" when no `cpuacct` hierarchy is writable here.

The back-to-back run has no pause of its own, so it has no CPU figure.

Goal: forgeline / bare <= 1.5x (medians).

Usage: .venv/bin/python bench/bench_sandbox_spawn.py [--quick] [--rounds N] [--pause-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
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

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def own_cpu() -> float:
    """CPU seconds of this process (all threads) plus its waited-for children."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


@contextlib.contextmanager
def cpuacct_group() -> Iterator[Path | None]:
    """A fresh v1 `cpuacct` cgroup holding this process (so all it starts), or None."""
    origin = _own_cpuacct()
    group = CPUACCT / f"forgeline-bench-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")
    except OSError:
        with contextlib.suppress(OSError):
            group.rmdir()
        yield None
        return
    try:
        yield group
    finally:
        (origin / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")
        time.sleep(0.2)  # the last sandbox's processes leave it
        with contextlib.suppress(OSError):
            group.rmdir()


def _own_cpuacct() -> Path:
    for line in Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return CPUACCT / path.lstrip("/")
    return CPUACCT


def tree_cpu(group: Path | None) -> float:
    """CPU seconds of every process in `group` so far (NaN without one)."""
    if group is None:
        return float("nan")
    return int((group / "cpuacct.usage").read_text(encoding="ascii")) / 1e9


class CpuLog:
    """CPU per run of each variant: own and tree (see the module's docstring)."""

    def __init__(self, group: Path | None) -> None:
        self.group = group
        self.own: Timings = {}
        self.tree: Timings = {}

    async def run(self, name: str, once: Callable[[], Awaitable[float]], pause_s: float) -> float:
        """Run `once`, then the pause; log the CPU of both under `name`."""
        own, tree = own_cpu(), tree_cpu(self.group)
        elapsed = await once()
        await asyncio.sleep(pause_s)
        self.own.setdefault(name, []).append(own_cpu() - own)
        self.tree.setdefault(name, []).append(tree_cpu(self.group) - tree)
        return elapsed


async def measure(workspace: Path, rounds: int, pause_s: float, cpu: CpuLog) -> Timings:
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
    await asyncio.sleep(pause_s)
    for _ in range(rounds):
        for name, once in (
            ("bare", lambda: bare_once(argv, workspace)),
            ("shell", lambda: bare_once(with_shell, workspace)),
            ("ours", lambda: forgeline_once(policy)),
        ):
            times[name].append(await cpu.run(name, once, pause_s))
        await forgeline_once(policy)  # untimed: the one the back-to-back run follows
        times["b2b"].append(await forgeline_once(policy))
        await asyncio.sleep(pause_s)
        WARM.enabled = False
        try:
            times["cold"].append(await cpu.run("cold", lambda: forgeline_once(policy), pause_s))
        finally:
            WARM.enabled = True
    WARM.close()
    return times


def row(name: str, times: list[float], cpu: CpuLog, key: str) -> list[str]:
    ordered = sorted(times)
    own, tree = cpu.own.get(key), cpu.tree.get(key)
    return [
        name,
        ms(median(times)),
        ms(ordered[0]),
        ms(ordered[len(ordered) * 9 // 10]),
        ms(sum(own) / len(own)) if own else "-",
        ms(sum(tree) / len(tree)) if tree and cpu.group is not None else "-",
    ]


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
        with cpuacct_group() as group:
            cpu = CpuLog(group)
            times = asyncio.run(measure(workspace, rounds, args.pause_ms / 1000, cpu))
    body = report(times, cpu, rounds, args.pause_ms)
    print(body)
    write_section("sandbox_spawn", "Sandbox spawn against bare bubblewrap (issue 10)", body)


def report(times: Timings, cpu: CpuLog, rounds: int, pause_ms: float) -> str:
    """The section's text: the table and the ratios to bare `bwrap`."""
    bare = median(times["bare"])
    ratio = median(times["ours"]) / bare
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    rows = [
        row("bare `bwrap ... cat`", times["bare"], cpu, "bare"),
        row("bare `bwrap ... bash -c 'cat'`", times["shell"], cpu, "shell"),
        row("forgeline `run_command` (warm)", times["ours"], cpu, "ours"),
        row("forgeline, back to back", times["b2b"], cpu, "b2b"),
        row("forgeline, cold (before)", times["cold"], cpu, "cold"),
    ]
    headers = ["spawn", "median ms", "min ms", "p90 ms", "own CPU ms", "tree CPU ms"]
    return "\n".join(
        [
            f"{rounds} rounds, interleaved, after 3 warm-up rounds; `cat` of a 1 KB file; "
            f"{pause_ms:g} ms untimed pause before each run but the back-to-back one; "
            "CPU: mean per run, the pause after it included.",
            "",
            table(headers, rows),
            "",
            f"forgeline / bare (medians): **{ratio:.2f}x** ({verdict} the {GOAL_RATIO}x goal); "
            f"forgeline / bare + bash: {median(times['ours']) / median(times['shell']):.2f}x; "
            f"back to back / bare: {median(times['b2b']) / bare:.2f}x; "
            f"cold (before) / bare: {median(times['cold']) / bare:.2f}x. "
            f"CPU, warm / bare: own {_cpu_ratio(cpu.own)}, tree {_cpu_ratio(cpu.tree)}.",
        ]
    )


def _cpu_ratio(log: Timings) -> str:
    ours, bare = log.get("ours"), log.get("bare")
    if not ours or not bare or sum(bare) <= 0 or math.isnan(sum(ours)):  # NaN: no cgroup
        return "-"
    return f"**{sum(ours) / sum(bare):.2f}x**"


if __name__ == "__main__":
    main()
