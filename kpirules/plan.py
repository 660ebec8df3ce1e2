"""Checked policy → evaluation plan: the order indicators are computed in, and the
aggregates each one reads.

The plan is deliberately small and declarative — a list of steps over named sources — so
that another backend (DuckDB, a distributed dataframe engine) can run the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from kpirules import ast, model
from kpirules.check.expressions import AGGREGATES
from kpirules.check.graph import find_cycles


@dataclass(frozen=True)
class Aggregate:
    """One aggregate call: filter a source's rows, group them, reduce a column."""

    call: ast.Call
    func: str
    source: str
    window: int  # 1: this period only; N: this and the N-1 before


@dataclass(frozen=True)
class IndicatorStep:
    name: str
    formula: ast.Expr
    aggregates: tuple[Aggregate, ...]
    lags_itself: bool  # previous(self): computed period by period


@dataclass(frozen=True)
class Plan:
    steps: tuple[IndicatorStep, ...]  # dependencies first
    # Indicators read each other's earlier periods in a cycle (`a = previous(b)`,
    # `b = previous(a)`): every indicator is then computed period by period.
    by_period: bool = False

    def sources(self) -> set[str]:
        return {agg.source for step in self.steps for agg in step.aggregates}


def is_aggregate(call: ast.Call) -> bool:
    return call.func in AGGREGATES and not (call.func in ("min", "max") and len(call.args) > 1)


def aggregates_of(expr: ast.Expr, policy: model.Policy) -> tuple[Aggregate, ...]:
    found = []
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and is_aggregate(node):
            found.append(Aggregate(node, node.func, _source_of(node, policy), _window(node)))
    return tuple(found)


def _window(call: ast.Call) -> int:
    return int(call.window.value) if call.window is not None else 1


def _source_of(call: ast.Call, policy: model.Policy) -> str:
    """The source an aggregate reads: the first non-roster source it names (the checker
    guarantees there is at most one), else the roster."""
    roster = policy.roster.name if policy.roster else ""
    for node in ast.walk(call):
        if isinstance(node, ast.Attribute) and node.source != roster:
            return node.source
        if isinstance(node, ast.Name) and node.name in policy.sources and node is call.args[0]:
            return node.name
    return roster


def lagged_names(expr: ast.Expr) -> set[str]:
    return {
        node.args[0].name
        for node in ast.walk(expr)
        if isinstance(node, ast.Call)
        and node.func in ("previous", "worsening", "improving")
        and node.args
        and isinstance(node.args[0], ast.Name)
    }


def build(policy: model.Policy) -> Plan:
    edges = {name: ind.depends_on for name, ind in policy.indicators.items()}
    assert not find_cycles(edges), "the checker refuses cyclic indicators"
    # `previous(x)` reads x's earlier periods, so x is computed first where that order
    # exists (two indicators may read each other's past: then declaration order stands).
    lagged = {
        name: tuple(
            dict.fromkeys((*deps, *sorted(lagged_names(policy.indicators[name].formula) - {name})))
        )
        for name, deps in edges.items()
    }
    by_period = bool(find_cycles(lagged))
    if not by_period:
        edges = lagged
    order: list[str] = []
    done: set[str] = set()
    for start in policy.indicators:  # depth-first, iterative, in declaration order
        stack = [(start, iter(edges[start]))]
        while stack:
            name, deps = stack[-1]
            pending = next((d for d in deps if d not in done), None)
            if pending is not None:
                stack.append((pending, iter(edges[pending])))
                continue
            stack.pop()
            if name not in done:
                done.add(name)
                order.append(name)
    steps = tuple(
        IndicatorStep(
            name,
            policy.indicators[name].formula,
            aggregates_of(policy.indicators[name].formula, policy),
            name in lagged_names(policy.indicators[name].formula),
        )
        for name in order
    )
    return Plan(steps, by_period)
