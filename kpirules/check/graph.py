"""Cycles in a dependency graph (indicators, the strategy cascade)."""

from __future__ import annotations


def find_cycles(edges: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Each strongly connected group of two or more nodes (or a node that points at
    itself), as a list starting from its first node in declaration order.

    Tarjan's algorithm, iterative so a long chain of declarations cannot exhaust the stack.
    """
    order = {name: i for i, name in enumerate(edges)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in edges:
                    continue
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges.get(target, ()))))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges.get(node, ()):
                    cycles.append(sorted(group, key=order.__getitem__))
    cycles.sort(key=lambda group: order[group[0]])
    return cycles
