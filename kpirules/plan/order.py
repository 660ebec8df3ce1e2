"""The order indicators are computed in, and the aggregates each one reads."""

from __future__ import annotations

from kpirules import ast, model
from kpirules.check.graph import find_cycles
from kpirules.formatter import format_expr
from kpirules.plan import expr as x
from kpirules.plan.expressions import lower_grid, minutes_per
from kpirules.plan.nodes import Better, IndicatorStep


def aggregates_of(formula: ast.Expr, policy: model.Policy) -> tuple[x.Aggregate, ...]:
    """The reads of a checked expression (or part of one), lowered, in order."""
    return _reads(lower_grid(formula, policy))


def _reads(lowered: x.Expr) -> tuple[x.Aggregate, ...]:
    return tuple(node for node in x.walk(lowered) if isinstance(node, x.Aggregate))


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
    lowered = lower_grid(formula, policy)
    return IndicatorStep(
        indicator.name,
        lowered,
        _reads(lowered),
        indicator.name in lagged,
        unit=indicator.dim,
        scale=minutes_per(indicator.dim),
        better=Better(indicator.better),
        reads=tuple(dict.fromkeys((*indicator.depends_on, *sorted(lagged - {indicator.name})))),
        text=format_expr(formula),
        label=indicator.label,
        unit_name=indicator.unit,
        supports=tuple(indicator.supports),
        span=indicator.span,
    )
