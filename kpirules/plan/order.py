"""The order indicators are computed in, and the aggregates each one reads."""

from __future__ import annotations

from kpirules import ast, model
from kpirules.check.expressions import AGGREGATES
from kpirules.check.graph import find_cycles
from kpirules.formatter import format_expr
from kpirules.plan.nodes import Better, IndicatorStep, Read


def is_aggregate(call: ast.Call) -> bool:
    return call.func in AGGREGATES and not (call.func in ("min", "max") and len(call.args) > 1)


def aggregates_of(expr: ast.Expr, policy: model.Policy) -> tuple[Read, ...]:
    found = []
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and is_aggregate(node):
            found.append(
                Read(
                    node.func,
                    _source_of(node, policy),
                    node,
                    format_expr(node.args[0]) if node.args else "",
                    format_expr(node.where) if node.where is not None else None,
                    _window(node),
                    policy.dim_of(node),
                )
            )
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


def order(policy: model.Policy) -> tuple[tuple[IndicatorStep, ...], bool]:
    """The indicator steps, dependencies (and, where that order exists, the indicators
    whose past they read) first; and whether they must run period by period."""
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
    names: list[str] = []
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
                names.append(name)
    steps = tuple(_step(policy.indicators[name], policy) for name in names)
    return steps, by_period


def _step(indicator: model.Indicator, policy: model.Policy) -> IndicatorStep:
    formula = indicator.formula
    lagged = lagged_names(formula)
    return IndicatorStep(
        indicator.name,
        formula,
        aggregates_of(formula, policy),
        indicator.name in lagged,
        unit=indicator.dim,
        better=Better(indicator.better),
        reads=tuple(dict.fromkeys((*indicator.depends_on, *sorted(lagged - {indicator.name})))),
        text=format_expr(formula),
        span=indicator.span,
    )
