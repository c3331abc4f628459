"""The import graph of `mailintake` has no cycle, function-level imports included."""

from __future__ import annotations

import grimp

PACKAGE = "mailintake"


def test_no_module_takes_part_in_an_import_cycle():
    """Every import in `mailintake/` (grimp reads function-level ones too) points one way."""
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    cycles = [_describe(graph, cycle, group) for cycle, group in _cycles(graph)]
    assert not cycles, "import cycles in mailintake/:\n" + "\n".join(cycles)


def _cycles(graph: grimp.ImportGraph) -> list[tuple[list[str], set[str]]]:
    """Each group of modules that reach one another, with one shortest cycle through it."""
    found = []
    for group in _strongly_connected(graph):
        start = min(group)
        if len(group) > 1 or start in graph.find_modules_directly_imported_by(start):
            found.append((_shortest_cycle(graph, start, group), group))
    return found


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm, iterative so a deep graph cannot exhaust the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    groups.append(_pop_group(stack, on_stack, module))
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
            elif target in on_stack:
                low[module] = min(low[module], index[target])
    return groups


def _pop_group(stack: list[str], on_stack: set[str], root: str) -> set[str]:
    group = set()
    while True:
        module = stack.pop()
        on_stack.discard(module)
        group.add(module)
        if module == root:
            return group


def _shortest_cycle(graph: grimp.ImportGraph, start: str, group: set[str]) -> list[str]:
    """Breadth-first inside the group from `start` back to `start`."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(graph.find_modules_directly_imported_by(module) & group):
                if target == start:
                    return [*paths[module], start]
                if target not in paths:
                    paths[target] = [*paths[module], target]
                    following.append(target)
        frontier = following
    return [start]


def _describe(graph: grimp.ImportGraph, cycle: list[str], group: set[str]) -> str:
    """`a -> b (a line 12) -> a (b line 84)`: each step with the lines that import, then the
    other modules caught in the same tangle."""
    steps = [cycle[0]]
    for importer, imported in zip(cycle, cycle[1:], strict=False):
        details = graph.get_import_details(importer=importer, imported=imported)
        lines = ",".join(str(d["line_number"]) for d in details)
        steps.append(f"{imported} ({importer} line {lines})")
    others = sorted(group - set(cycle))
    return (
        "  "
        + " -> ".join(steps)
        + (f"\n    also in this tangle: {', '.join(others)}" if others else "")
    )
