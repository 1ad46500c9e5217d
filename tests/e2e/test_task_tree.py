"""`forgeline demo --json`: the run's tasks form the tree, told by data rather than ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import cli_env, forgeline, read_events, summary
from .test_evidence import human_summary


def _by_kind(tasks: list[dict[str, Any]], parent: str, kind: str) -> list[tuple[Any, str]]:
    return [
        (t["round"], t["agent"]) for t in tasks if t["parent_id"] == parent and t["kind"] == kind
    ]


def test_the_demo_run_yields_the_task_tree(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    proc = forgeline("demo", "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = summary(proc)
    tasks: list[dict[str, Any]] = result["tasks"]
    [run] = [t for t in tasks if t["id"] == result["task_id"]]
    assert (run["kind"], run["parent_id"], run["round"]) == ("pipeline", None, None)
    phases = [t for t in tasks if t["parent_id"] == run["id"]]
    assert [(t["phase"], t["kind"]) for t in phases] == [
        ("research", "phase"),
        ("planning", "phase"),
        ("implementation", "phase"),
    ]
    impl = phases[2]["id"]
    checkpoints = _by_kind(tasks, impl, "checkpoint")
    count = len(checkpoints) // 3
    assert count >= 1
    assert sorted(checkpoints) == sorted(
        (n, a) for n in range(1, count + 1) for a in ("review", "security", "test")
    )
    # The demo's first gate round finds a blocker; the second passes.
    assert sorted(_by_kind(tasks, impl, "gate")) == [
        (n, a) for n in (1, 2) for a in ("review", "security", "test")
    ]
    assert _by_kind(tasks, impl, "documentation") == [(None, "documentation")]
    assert len(tasks) == 1 + 3 + 3 * count + 6 + 1
    # Each task_started event says where its task runs (the live log needs no fetch).
    keys = ("agent", "parent_id", "kind", "round")
    started = [e["data"] for e in read_events(env) if e["type"] == "task_started"]
    told = sorted(tuple(str(d.get(k)) for k in keys) for d in started)
    made = sorted(tuple(str(t[k]) for k in keys) for t in tasks if t["kind"] != "pipeline")
    assert told == made
    # The person's summary shows the same tree, a line per checkpoint and gate round.
    text = human_summary(result)
    tree = text[text.index("Tasks") : text.index("Workspace")]
    for line in ("pipeline completed", "  implementation completed"):
        assert f"\n   {line}" in tree
    assert "\n       checkpoint 1: review completed, security completed, test" in tree
    assert "\n       gate round 2: review completed, security completed, test" in tree
    assert "\n       documentation completed" in tree
