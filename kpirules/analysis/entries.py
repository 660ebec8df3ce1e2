"""What the policy says about each scorecard entry: label, unit, direction, the curve's
threshold, target and stretch, and the benchmark the indicator is compared with."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd

from kpirules import ast, model
from kpirules.plan.expressions import minutes_per

ENTRY_COLUMNS = [
    "scorecard",
    "indicator",
    "label",
    "unit",
    "better",
    "threshold",
    "target",
    "stretch",
    "benchmark",
    "benchmark_value",
]
_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


def entry_table(policy: model.Policy) -> pd.DataFrame:
    """One row per (scorecard, indicator) with what the comparison needs from the policy."""
    rows = []
    for card in policy.scorecards.values():
        for entry in card.entries:
            indicator = policy.indicators[entry.indicator]
            benchmark = matched_benchmark(policy, card, indicator.name)
            rows.append(
                {
                    "scorecard": card.name,
                    "indicator": indicator.name,
                    "label": indicator.label or indicator.name,
                    "unit": indicator.unit,
                    "better": indicator.better,
                    "threshold": curve_point(entry, "threshold"),
                    "target": curve_point(entry, "target"),
                    "stretch": curve_point(entry, "stretch"),
                    "benchmark": benchmark,
                    "benchmark_value": math.nan
                    if benchmark is None
                    else benchmark_value(policy.benchmarks[benchmark], indicator),
                }
            )
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS)


def curve_point(entry: model.Entry, kind: str) -> float:
    """The value of the entry's first curve point of this kind (NaN when there is none,
    or when the entry is scored by bands). Curve values are in the indicator's unit."""
    if not isinstance(entry.scoring, model.Curve):
        return math.nan
    point = next((p for p in entry.scoring.points if p.kind == kind), None)
    return math.nan if point is None else float(point.value)


def benchmark_value(benchmark: model.Benchmark, indicator: model.Indicator) -> float:
    """The benchmark in the indicator's unit (a benchmark in hours against an indicator
    in days is converted)."""
    if benchmark.value is None:
        return math.nan
    return float(benchmark.value) * minutes_per(benchmark.dim) / minutes_per(indicator.dim)


def matched_benchmark(policy: model.Policy, card: model.Scorecard, indicator: str) -> str | None:
    """The benchmark an indicator is compared with for this scorecard: one standing on the
    other side of a comparison from the indicator in a condition that applies to the
    scorecard (its gates, its incentives' gates and action rules, its improvement rules),
    or the target of a goal on the indicator, or a point of the indicator's curve on this
    scorecard (`target industry_order_cycle => 100`). The first by name when there are
    several."""
    found = set()
    for entry in card.entries:
        if entry.indicator == indicator and isinstance(entry.scoring, model.Curve):
            found |= {p.benchmark for p in entry.scoring.points if p.benchmark is not None}
    for condition in _conditions(policy, card):
        for node in ast.walk(condition):
            if isinstance(node, ast.Binary) and node.op in _COMPARISONS:
                left, right = _names(node.left), _names(node.right)
                if indicator in left:
                    found |= right & policy.benchmarks.keys()
                if indicator in right:
                    found |= left & policy.benchmarks.keys()
    for goal in policy.goals.values():
        if goal.target is not None and goal.target.indicator == indicator:
            found |= _names(goal.target.expr) & policy.benchmarks.keys()
    return min(found) if found else None


def _conditions(policy: model.Policy, card: model.Scorecard) -> Iterator[ast.Expr]:
    for gate in card.gates:
        yield gate.condition
    for incentive in policy.incentives.values():
        if card.name in incentive.scorecards:
            yield from (gate.condition for gate in incentive.gates)
            yield from (action.condition for action in incentive.actions)
    for improvement in policy.improvements:
        if card.name in improvement.scorecards:
            yield from (action.condition for action in improvement.actions)


def _names(expr: ast.Expr) -> set[str]:
    return {node.name for node in ast.walk(expr) if isinstance(node, ast.Name)}
