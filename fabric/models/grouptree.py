"""The host-group tree loaded in one query, for pages and forms that need the whole of it."""
from collections import defaultdict
from dataclasses import dataclass, field

from fabric.models.hosts import HostGroup


@dataclass
class TreeNode:
    group: HostGroup
    depth: int
    children: list["TreeNode"] = field(default_factory=list)
    host_count: int = 0  # hosts in this group and every group below it
    selected: bool = False
    open: bool = False  # selected, or an ancestor of the selected group


class GroupTree:
    def __init__(self, groups):
        self.by_id = {g.pk: g for g in groups}
        self.children = defaultdict(list)
        for group in self.by_id.values():
            self.children[group.parent_id].append(group)
        for siblings in self.children.values():
            siblings.sort(key=lambda g: g.name.lower())

    @classmethod
    def load(cls) -> "GroupTree":
        return cls(HostGroup.objects.only("id", "name", "parent_id"))

    def roots(self) -> list[HostGroup]:
        return self.children[None]

    def descendant_ids(self, pk: int) -> list[int]:
        """The group itself and everything below it."""
        ids, stack = [], [pk]
        while stack:
            current = stack.pop()
            ids.append(current)
            stack.extend(g.pk for g in self.children[current])
        return ids

    def ancestor_ids(self, pk: int) -> list[int]:
        chain, group = [], self.by_id.get(pk)
        while group is not None and group.parent_id is not None:
            chain.append(group.parent_id)
            group = self.by_id.get(group.parent_id)
        return chain

    def path(self, pk: int) -> str:
        names = [self.by_id[i].name for i in reversed(self.ancestor_ids(pk))] + [self.by_id[pk].name]
        return " › ".join(names)

    def flat(self, exclude_below: int | None = None) -> list[tuple[HostGroup, int]]:
        """Every group in tree order with its depth; `exclude_below` drops that group and its subtree."""
        rows = []

        def walk(group, depth):
            if group.pk == exclude_below:
                return
            rows.append((group, depth))
            for child in self.children[group.pk]:
                walk(child, depth + 1)

        for root in self.roots():
            walk(root, 0)
        return rows

    def choices(self, exclude_below: int | None = None) -> list[tuple[int, str]]:
        return [(g.pk, "\u2003" * depth + g.name) for g, depth in self.flat(exclude_below)]

    def nodes(self, direct_counts: dict[int, int], selected_id: int | None) -> list[TreeNode]:
        """Nested nodes for the sidebar, each with the number of hosts in its subtree."""
        open_ids = set(self.ancestor_ids(selected_id)) if selected_id else set()

        def build(group, depth):
            node = TreeNode(group=group, depth=depth, selected=group.pk == selected_id)
            node.children = [build(child, depth + 1) for child in self.children[group.pk]]
            node.host_count = direct_counts.get(group.pk, 0) + sum(c.host_count for c in node.children)
            node.open = node.selected or group.pk in open_ids or depth == 0
            return node

        return [build(root, 0) for root in self.roots()]
