"""The file tree beside a diff: the changed paths as nested folders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from forgeline.web.review import FileDiff


@dataclass
class TreeNode:
    """A folder (with `children`) or a changed file (with `file`)."""

    name: str
    children: list[TreeNode] = field(default_factory=list)
    file: FileDiff | None = None

    def child(self, name: str) -> TreeNode:
        """The sub-folder `name`, made when missing."""
        for node in self.children:
            if node.file is None and node.name == name:
                return node
        node = TreeNode(name)
        self.children.append(node)
        return node


def _squash(node: TreeNode) -> TreeNode:
    """`a/` holding only `b/` becomes `a/b/`, as GitHub's tree shows it."""
    node.children = [_squash(c) for c in node.children]
    only = node.children[0] if len(node.children) == 1 else None
    if node.name and only is not None and only.file is None:
        return TreeNode(f"{node.name}/{only.name}", only.children)
    return node


def file_tree(files: Iterable[FileDiff]) -> TreeNode:
    """The root of a tree of `files` by their paths; folders first, then names, sorted."""
    root = TreeNode("")
    for diff in files:
        *folders, name = diff.path.split("/")
        node = root
        for folder in folders:
            node = node.child(folder)
        node.children.append(TreeNode(name, file=diff))
    root = _squash(root)
    _sort(root)
    return root


def _sort(node: TreeNode) -> None:
    node.children.sort(key=lambda n: (n.file is not None, n.name))
    for child in node.children:
        _sort(child)
