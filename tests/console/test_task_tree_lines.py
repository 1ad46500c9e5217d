"""The CLI's task tree: phases under the run, overwatchers on one line per round."""

from __future__ import annotations

from forgeline.console.tasktree import TreeRow, tree_lines


def row(tid: str, agent: str, parent: str | None, kind: str, round_: int | None = None) -> TreeRow:
    return TreeRow.model_validate(
        {"id": tid, "agent": agent, "status": "completed", "parent_id": parent, "kind": kind,
         "round": round_}
    )  # fmt: skip


def test_the_tree_groups_by_parent_kind_and_round_not_by_id() -> None:
    tasks = [
        row("top", "pipeline", None, "pipeline"),
        row("p", "implementation", "top", "phase"),
        row("x", "review", "p", "checkpoint", 1),
        row("y", "security", "p", "checkpoint", 1),
        row("top-p-cp9-review", "review", "p", "checkpoint", 2),
        row("g", "test", "p", "gate", 1),
        row("d", "documentation", "p", "documentation"),
        row("elsewhere", "research", None, "phase"),
    ]
    lines = [line.replace("[green]", "").replace("[/]", "") for line in tree_lines(tasks, "top")]
    assert [line.split("[dim]")[0].rstrip() for line in lines] == [
        "pipeline completed",
        "  implementation completed",
        "    checkpoint 1: review completed, security completed",
        "    checkpoint 2: review completed",
        "    gate round 1: test completed",
        "    documentation completed",
    ]
    assert tree_lines(tasks, "missing") == []
