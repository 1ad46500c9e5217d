"""The task tree helpers walk parent ids, never task ids."""

from __future__ import annotations

from dataclasses import dataclass

from forgeline.domain.tasks import (
    GroupKey,
    deepest_first,
    depth,
    descendants,
    group_key,
    root_id,
    shallowest_first,
    subtree,
)


@dataclass(frozen=True)
class Node:
    id: str
    parent_id: str | None
    kind: str = "phase"
    round: int | None = None


# Ids that say nothing about the tree: only parent_id links them.
TREE = [
    Node("zz", None, "pipeline"),
    Node("b", "zz"),
    Node("a-very-long-id", "b", "checkpoint", 1),
    Node("c", "b", "checkpoint", 1),
    Node("d", "b", "gate", 1),
    Node("other", None),
]


def test_descendants_and_subtree_follow_parent_ids() -> None:
    assert [t.id for t in descendants(TREE, "zz")] == ["b", "a-very-long-id", "c", "d"]
    assert [t.id for t in descendants(TREE, "b")] == ["a-very-long-id", "c", "d"]
    assert descendants(TREE, "other") == []
    assert [t.id for t in subtree(TREE, "b")] == ["b", "a-very-long-id", "c", "d"]


def test_depth_orders_children_before_parents() -> None:
    by_id = {t.id: t for t in TREE}
    assert [depth(t, by_id) for t in TREE] == [0, 1, 2, 2, 2, 0]
    assert [t.id for t in deepest_first(TREE)] == ["a-very-long-id", "c", "d", "b", "zz", "other"]
    assert [t.id for t in shallowest_first(TREE)][:2] == ["zz", "other"]


def test_depth_survives_a_cycle_and_a_missing_parent() -> None:
    loop = [Node("x", "y"), Node("y", "x")]
    assert depth(loop[0], {t.id: t for t in loop}) == 1
    assert depth(Node("z", "absent"), {}) == 0


def test_group_key_puts_one_checkpoint_s_overwatchers_together() -> None:
    assert group_key(TREE[2]) == group_key(TREE[3]) == GroupKey("b", "checkpoint", 1)
    assert group_key(TREE[4]) != group_key(TREE[3])


def test_root_id_climbs_parent_ids() -> None:
    by_id = {t.id: t for t in TREE}
    assert root_id("a-very-long-id", by_id) == "zz"
    assert root_id("other", by_id) == "other"
    assert root_id("not-listed", by_id) == "not-listed"
