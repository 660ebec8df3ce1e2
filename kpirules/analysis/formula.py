"""Pieces of an indicator's formula evaluated by the engine's own evaluator, for one
subject, one department or everyone, on the data as loaded (or on a slice of it).

Ratio splits and drill-downs need the numerator and the denominator of a formula, not
just its value; rather than re-implement aggregation, they run the sub-expressions
through `Evaluator.grid` at the level of the scope, the way goals are evaluated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpirules import ast, model
from kpirules import dimensions as dims
from kpirules.analysis.scope import AnalysisError, pick_base, pick_period
from kpirules.engine import compute_steps
from kpirules.engine.expressions import Evaluator, Level, Notes
from kpirules.periods import calendar_of
from kpirules.plan import Plan, build, is_aggregate, lower_grid, minutes_per
from kpirules.results import Results

ADDITIVE = ("sum", "count")


@dataclass(frozen=True)
class Scope:
    """Who a formula is evaluated for: one key on the engine's grid."""

    kind: str  # subject | department | everyone
    key: str

    @property
    def title(self) -> str:
        return self.key if self.kind != "department" else f"department {self.key}"


@dataclass(frozen=True)
class Shape:
    """A formula read as numerator / denominator (denominator None: a single additive
    aggregate). `additive`: both are sums or counts, so they add up over slices."""

    numerator: ast.Expr
    denominator: ast.Expr | None
    additive: bool


@dataclass(frozen=True)
class Periods:
    """The base period and the period, as labels and as the calendar's ordinals."""

    base: str
    period: str
    ordinals: tuple[int, ...]  # every period from the first reported to the later one


def periods_of(results: Results, period: str | None, base: str | None) -> Periods:
    period = pick_period(results, period)
    base = pick_base(results, period, base)
    calendar = calendar_of(results.policy)
    first = calendar.parse(results.periods[0])
    last = max(calendar.parse(period), calendar.parse(base))
    return Periods(base, period, tuple(range(first, last + 1)))


def scope_of(
    policy: model.Policy, frames: dict[str, pd.DataFrame], subject: str | None, department
) -> Scope:
    if subject is not None and department is not None:
        raise AnalysisError("choose a subject or a department, not both")
    roster = policy.roster
    people = frames[roster.name]
    if subject is not None:
        if not (people[roster.key] == subject).any():
            raise AnalysisError(f"no one with {roster.key} {subject!r} in the roster")
        return Scope("subject", subject)
    if department is not None:
        column = roster.roles.get("department")
        if column is None:
            raise AnalysisError("the roster declares no department column")
        if not (people[column] == department).any():
            known = sorted(people[column].dropna().astype(str).unique())
            raise AnalysisError(
                f"no one in department {department!r}; departments: {', '.join(known)}"
            )
        return Scope("department", department)
    return Scope("everyone", "everyone")


@dataclass(frozen=True)
class Scoped:
    """The engine's evaluator over one scope, and the policy its pieces come from."""

    policy: model.Policy
    plan: Plan
    evaluator: Evaluator


def evaluator_for(
    policy: model.Policy, frames: dict[str, pd.DataFrame], scope: Scope, periods: Periods
) -> Scoped:
    """An evaluator whose grid has one key — the scope — over the periods."""
    roster = policy.roster
    people = frames[roster.name]
    subjects = people[roster.key].to_numpy()
    if scope.kind == "subject":
        keys = np.where(subjects == scope.key, scope.key, None)
    elif scope.kind == "department":
        column = people[roster.roles["department"]].to_numpy()
        keys = np.where(column == scope.key, scope.key, None)
    else:
        keys = np.full(len(subjects), scope.key, dtype=object)
    level = Level(scope.kind, pd.Series(keys, index=subjects), list(periods.ordinals))
    plan = build(policy)
    return Scoped(policy, plan, Evaluator(plan, frames, calendar_of(policy), level, Notes()))


def compute_dependencies(scoped: Scoped, expr: ast.Expr) -> None:
    """Compute the indicators `expr` names (and theirs), in the plan's order."""
    policy, evaluator = scoped.policy, scoped.evaluator
    needed: set[str] = set()
    stack = [n.name for n in ast.walk(expr) if isinstance(n, ast.Name)]
    while stack:
        name = stack.pop()
        if name in policy.indicators and name not in needed:
            needed.add(name)
            stack.extend(policy.indicators[name].depends_on)
    plan = scoped.plan
    steps = [s for s in plan.steps if s.name in needed and s.name not in evaluator.values]
    compute_steps(evaluator, steps, plan.by_period)


def at(scoped: Scoped, expr: ast.Expr, periods: Periods) -> tuple[float, float]:
    """`expr` on the evaluator's grid, in the base period and in the period."""
    compute_dependencies(scoped, expr)
    evaluator = scoped.evaluator
    evaluator.where = "analysis"
    value = evaluator.grid(lower_grid(expr, scoped.policy))
    calendar = evaluator.calendar
    if not isinstance(value, pd.Series):
        return float(value), float(value)
    by_period = value.droplevel("key")
    return (
        float(by_period.get(calendar.parse(periods.base), np.nan)),
        float(by_period.get(calendar.parse(periods.period), np.nan)),
    )


def shape_of(indicator: model.Indicator, policy: model.Policy) -> Shape | None:
    """The formula as numerator / denominator, or None when it is neither a ratio nor a
    single aggregate. `mean(x)` reads as `sum(x) / count(x)` (the engine's mean is the
    sum of the known values over their count)."""
    formula = indicator.formula
    if isinstance(formula, ast.Binary) and formula.op == "/":
        additive = all(_additive(side) for side in (formula.left, formula.right))
        return Shape(formula.left, formula.right, additive)
    if isinstance(formula, ast.Call) and is_aggregate(formula):
        if formula.func == "mean":
            total = ast.Call("sum", formula.args, formula.where, formula.window)
            count = ast.Call("count", formula.args, formula.where, formula.window)
            policy.note_dim(total, policy.dim_of(formula))
            policy.note_dim(count, dims.NUMBER)
            return Shape(total, count, True)
        return Shape(formula, None, formula.func in ADDITIVE)
    return None


def _additive(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Call) and is_aggregate(expr) and expr.func in ADDITIVE


def unit_factor(indicator: model.Indicator) -> float:
    """Engine values of a duration are minutes: divide by this for the indicator's unit."""
    return minutes_per(indicator.dim)


def indicator_or_error(policy: model.Policy, name: str) -> model.Indicator:
    if name not in policy.indicators:
        known = ", ".join(sorted(policy.indicators))
        raise AnalysisError(f"no indicator called {name!r}; indicators: {known}")
    return policy.indicators[name]
