"""Agent-loop cost per step at 100 and 1 000 steps, beside the sandbox's own spawn cost.

Every scripted turn calls `Bash` with `cat` of a 1 KB file (sandboxed, bubblewrap), then
one final text turn ends the run. The loop runs with `run_directly` (no DBOS). The goal
is a 1 000-step per-step time within 1.2x of the 100-step one: the loop must not slow
down as the conversation grows. Over 1.2x (or with --profile) both runs are profiled
with cProfile and the functions whose per-step time grows most are listed.

In the same run, mini-swe-agent (`pip install -e '.[bench]'`) does the same steps with its
`DefaultAgent` and `DeterministicModel`, its `LocalEnvironment` running the same `cat`
in a bare `bwrap` (no limits, no cgroup); its marginal own cost per step is the growth
of (run time - command time) from the small to the large run, divided by the extra
steps. Goal: our loop's own overhead per step at 1 000 steps <= 0.5x that.

Usage: .venv/bin/python bench/loop_overhead.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchkit import forgeline_home, ms, table, write_section

GOAL_RATIO = 1.2
MINI_GOAL = 0.5
FILE_NAME = "data.txt"


@dataclass
class Measure:
    steps: int
    loop_s: float
    sandbox_s: float
    in_run_sandbox_s: float

    @property
    def per_step(self) -> float:
        return self.loop_s / self.steps

    @property
    def sandbox_per_step(self) -> float:
        return self.sandbox_s / self.steps

    @property
    def in_run_sandbox_per_step(self) -> float:
        return self.in_run_sandbox_s / self.steps

    @property
    def overhead(self) -> float:
        return self.per_step - self.in_run_sandbox_per_step


def make_workspace(root: Path) -> Path:
    workspace = root / "ws"
    workspace.mkdir()
    line = "forgeline benchmark line of text, 64 bytes long..............\n"
    (workspace / FILE_NAME).write_text((line * 16)[:1024], encoding="utf-8")
    return workspace


async def run_loop(workspace: Path, steps: int) -> tuple[float, float]:
    """Seconds for one agent run of `steps` Bash turns plus the final turn.

    Returns:
        The run's wall time, and the sandbox's own time in it (the commands' durations).
    """
    from forgeline.agents.loop import Outcome, run_agent
    from forgeline.domain.events import ListSink
    from forgeline.domain.messages import Message
    from forgeline.llm.scripted import Script, ScriptedModel, ScriptedToolCall, ScriptedTurn
    from forgeline.sandbox.spec import SandboxPolicy
    from forgeline.tools.base import ToolContext

    # A trailing shell comment makes each call distinct, so loop detection stays quiet.
    turns = [
        ScriptedTurn(
            tool_calls=[ScriptedToolCall(name="Bash", input={"command": f"cat {FILE_NAME} #{i}"})]
        )
        for i in range(steps)
    ]
    turns.append(ScriptedTurn(text="done"))
    model = ScriptedModel(Script(agents={"bench": turns}), agent="bench", label="bench")
    policy = SandboxPolicy(workspace=workspace, writable=(workspace,))
    ctx = ToolContext(workspace=workspace, agent="bench", sandbox=policy)
    started = time.perf_counter()
    result = await run_agent(
        agent="bench",
        model=model,
        system="You are a benchmark.",
        tools=["Bash"],
        ctx=ctx,
        messages=[Message(role="user", text="Read the file many times.")],
        sink=ListSink(),
    )
    elapsed = time.perf_counter() - started
    if result.outcome != Outcome.COMPLETED or len(ctx.commands) != steps:
        raise SystemExit(f"the benchmark run did not complete: {result.outcome} {result.reason}")
    if any(c.exit_code != 0 for c in ctx.commands):
        raise SystemExit("a sandboxed cat failed; is bubblewrap usable here?")
    return elapsed, sum(c.duration_s for c in ctx.commands)


async def run_sandbox(workspace: Path, count: int) -> float:
    """Seconds for `count` sandboxed `cat` commands through run_command alone."""
    from forgeline.sandbox.runner import run_command
    from forgeline.sandbox.spec import SandboxPolicy

    policy = SandboxPolicy(workspace=workspace, writable=(workspace,))
    started = time.perf_counter()
    for _ in range(count):
        result = await run_command(f"cat {FILE_NAME}", policy, timeout_s=60)
        if result.exit_code != 0:
            raise SystemExit(f"sandboxed cat failed: {result.output}")
    return time.perf_counter() - started


async def measure(workspace: Path, steps: int) -> Measure:
    sandbox_s = await run_sandbox(workspace, steps)
    loop_s, in_run = await run_loop(workspace, steps)
    return Measure(steps=steps, loop_s=loop_s, sandbox_s=sandbox_s, in_run_sandbox_s=in_run)


def run_mini(workspace: Path, steps: int) -> tuple[float, float]:
    """mini-swe-agent: `steps` bare-bwrap `cat` steps, then the submit step.

    Returns:
        The run's wall time, and the commands' own time in it.
    """
    import shlex
    import shutil

    from bench_sandbox_spawn import bare_argv
    from minisweagent.agents.default import DefaultAgent
    from minisweagent.environments.local import LocalEnvironment
    from minisweagent.models.test_models import DeterministicModel, make_output

    class TimedEnvironment(LocalEnvironment):
        spent = 0.0

        def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict:  # type: ignore[type-arg]
            started = time.perf_counter()
            output = super().execute(action, cwd, timeout=timeout)
            TimedEnvironment.spent += time.perf_counter() - started
            if output["returncode"] != 0:
                raise SystemExit(f"mini-swe-agent's bwrap cat failed: {output}")
            return output

    argv = shlex.join(bare_argv(shutil.which("bwrap") or "bwrap"))
    outputs = [make_output("Reading.", [{"command": f"{argv} #{i}"}]) for i in range(steps)]
    outputs.append(
        make_output("Done.", [{"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}])
    )
    model = DeterministicModel(outputs=outputs, cost_per_call=0.0)
    env = TimedEnvironment(cwd=str(workspace))
    agent = DefaultAgent(
        model,
        env,
        system_template="You are a benchmark.",
        instance_template="{{task}}",
        step_limit=0,
        cost_limit=0,
    )
    started = time.perf_counter()
    result = agent.run("Read the file many times.")
    elapsed = time.perf_counter() - started
    if result.get("exit_status") != "Submitted" or agent.n_calls != steps + 1:
        raise SystemExit(f"the mini-swe-agent run did not complete: {result}")
    return elapsed, TimedEnvironment.spent


def mini_marginal(workspace: Path, small: int, large: int) -> list[float]:
    """mini-swe-agent's [small, large] own time per step and its marginal own cost."""
    run_mini(workspace, 5)  # warm up imports and templates
    own = []
    for steps in (small, large):
        elapsed, commands = run_mini(workspace, steps)
        own.append(elapsed - commands)
    return [own[0] / small, own[1] / large, (own[1] - own[0]) / (large - small)]


def profile_growth(workspace: Path, small: int, large: int, top: int = 8) -> list[list[str]]:
    """Profile both sizes; rows for the functions whose own per-step time grows most."""
    stats = {}
    for steps in (small, large):
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run_loop(workspace, steps))
        profiler.disable()
        stats[steps] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for key, value in stats[large].items():
        tt_large, ct_large = value[2] / large, value[3] / large
        before = stats[small].get(key)
        tt_small = before[2] / small if before else 0.0
        ct_small = before[3] / small if before else 0.0
        rows.append((tt_large - tt_small, ct_large - ct_small, key, tt_small, tt_large))
    rows.sort(key=lambda r: r[0], reverse=True)
    out = []
    for grow, cgrow, (file, line, func), tt_small, tt_large in rows[:top]:
        where = f"{_short(file)}:{line} {func}"
        out.append([where, ms(tt_small), ms(tt_large), ms(grow), ms(cgrow)])
    return out


def _short(file: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 200 steps")
    parser.add_argument("--profile", action="store_true", help="always profile the growth")
    args = parser.parse_args()
    small, large = (20, 200) if args.quick else (100, 1000)
    with forgeline_home("forgeline-bench-loop-") as tmp:
        workspace = make_workspace(tmp)
        asyncio.run(run_sandbox(workspace, 5))  # warm up bwrap, page cache, imports
        results = [asyncio.run(measure(workspace, n)) for n in (small, large)]
        ratio = results[1].per_step / results[0].per_step
        growth = None
        if ratio > GOAL_RATIO or args.profile:
            print("profiling both sizes with cProfile...")
            growth = profile_growth(workspace, small, large)
    # Not under /tmp: the bare sandbox has a private /tmp, so it would not see the file.
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-mini-", dir="/var/tmp") as tmp:
        mini = mini_marginal(make_workspace(Path(tmp)), small, large)
    report(results, ratio, growth, mini)


def report(
    results: list[Measure], ratio: float, growth: list[list[str]] | None, mini: list[float]
) -> None:
    headers = [
        "steps",
        "loop total s",
        "per step ms",
        "sandbox alone ms",
        "sandbox in run ms",
        "loop overhead ms",
    ]
    rows = [
        [
            str(m.steps),
            f"{m.loop_s:.2f}",
            ms(m.per_step),
            ms(m.sandbox_per_step),
            ms(m.in_run_sandbox_per_step),
            ms(m.overhead),
        ]
        for m in results
    ]
    verdict = "meets" if ratio <= GOAL_RATIO else "MISSES"
    small, large = results
    lines = [
        table(headers, rows),
        "",
        f"Per-step ratio {large.steps} / {small.steps} steps: **{ratio:.3f}x** "
        f"({verdict} the {GOAL_RATIO}x goal). Loop overhead ratio: "
        f"{large.overhead / small.overhead:.2f}x.",
        "",
        "A step is one scripted model call plus one sandboxed `Bash` `cat` of a 1 KB file "
        '(bubblewrap); `sandbox alone` is `run_command("cat data.txt", policy)` the same '
        "number of times, in a separate pass; `sandbox in run` is the sandbox's own time "
        "inside the loop run (the sum of the commands' `duration_s`, measured by "
        "`run_command`); `loop overhead` is `per step` minus `sandbox in run` (both from "
        "the same run, so load from other processes affects both alike).",
    ]
    ours = large.overhead
    mini_ratio = ours / mini[2]
    lines += [
        "",
        f"mini-swe-agent, same steps (bare `bwrap ... cat` through its `LocalEnvironment`): "
        f"own time per step {ms(mini[0])} ms at {small.steps} steps, {ms(mini[1])} ms at "
        f"{large.steps}; marginal own cost per step {ms(mini[2])} ms. Our loop's own "
        f"overhead per step at {large.steps} steps / mini-swe-agent's marginal: "
        f"**{mini_ratio:.2f}x** ({'meets' if mini_ratio <= MINI_GOAL else 'MISSES'} the "
        f"{MINI_GOAL}x goal).",
    ]
    if growth:
        lines += [
            "",
            "cProfile: functions whose own time per step grows most from the small to the "
            "large run (ms per step; `cum growth` includes callees):",
            "",
            table(["function", "small", "large", "own growth", "cum growth"], growth),
        ]
    body = "\n".join(lines)
    print(body)
    write_section("loop_overhead", "Agent loop overhead (issue 2)", body)


if __name__ == "__main__":
    main()
