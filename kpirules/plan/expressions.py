"""Checked expressions (AST) → lowered expressions (`plan.expr`): every name resolved
the way the checker resolved it, every constant in the runners' units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kpirules import ast, model
from kpirules import dimensions as dims
from kpirules.check.expressions import AGGREGATES
from kpirules.formatter import format_expr
from kpirules.plan import expr as x


def minutes_per(dim: dims.Dim) -> float:
    """The factor from a duration's own unit to minutes (1 for anything else)."""
    if dim.kind == "duration" and dim.unit:
        return float(dims.DURATION_UNITS[dim.unit][1])
    return 1.0


def literal_number(literal: ast.Number | ast.Percent | ast.Quantity) -> float:
    """A numeric literal in the runners' units: percentages as fractions, durations in
    minutes, money as the plain amount."""
    if isinstance(literal, ast.Quantity) and literal.unit in dims.DURATION_UNITS:
        return float(literal.value * dims.DURATION_UNITS[literal.unit][1])
    return float(literal.value)


def is_aggregate(call: ast.Call) -> bool:
    return call.func in AGGREGATES and not (call.func in ("min", "max") and len(call.args) > 1)


def source_of(call: ast.Call, policy: model.Policy) -> str:
    """The source an aggregate reads: the source it counts, else the first non-roster
    source it names (the checker allows at most one), else the roster."""
    arg = call.args[0] if call.args else None
    if call.func == "count" and isinstance(arg, ast.Name) and arg.name in policy.sources:
        return arg.name
    roster = policy.roster.name if policy.roster else ""
    for node in ast.walk(call):
        if isinstance(node, ast.Attribute) and node.source != roster:
            return node.source
    return roster


# What a bare name may be, by where it stands (the checker's `_name`, in its order).
FORMULA: frozenset[str] = frozenset()  # indicator formulas: no rule values
OUTCOME = frozenset({"score", "rating"})  # gates, payouts, actions
RATING = frozenset({"score"})  # rating levels


@dataclass(frozen=True)
class _Lowering:
    policy: model.Policy
    env: frozenset[str]

    # ---------------------------------------------------------------- grid level

    def grid(self, e: ast.Expr) -> x.Expr:
        policy = self.policy
        if isinstance(e, ast.Name):
            name = e.name
            if name in self.env:
                return x.Env(name, policy.dim_of(e))
            if name in policy.indicators:
                dim = policy.indicators[name].dim
                return x.Indicator(name, minutes_per(dim), dim)
            if name in policy.benchmarks:
                return self.benchmark(name)
            return self.roster_column(name, name)
        if isinstance(e, ast.Attribute):
            return self.roster_column(e.column, f"{e.source}.{e.column}")
        if isinstance(e, ast.Call):
            if is_aggregate(e):
                return self.aggregate(e)
            if e.func == "previous":
                name = e.args[0].name
                dim = policy.indicators[name].dim
                lag = int(e.args[1].value) if len(e.args) > 1 else 1
                return x.Previous(name, lag, minutes_per(dim), dim)
            if e.func in ("worsening", "improving"):
                name = e.args[0].name
                lower = policy.indicators[name].better == "lower"
                return x.Trend(e.func == "worsening", name, int(e.args[1].value), lower)
        if isinstance(e, ast.LevelTest):
            name = e.subject.name
            scale = minutes_per(policy.indicators[name].dim)
            return x.LevelTest(name, e.test == "reaches", e.level, scale)
        return self.common(e, self.grid)

    def roster_column(self, column: str, label: str) -> x.RosterColumn:
        dim = self.policy.roster.columns[column].dim
        return x.RosterColumn(column, label, minutes_per(dim), dim)

    def benchmark(self, name: str) -> x.Const:
        benchmark = self.policy.benchmarks[name]
        return x.Const(self.constant(benchmark.expr), benchmark.dim, label=name)

    def aggregate(self, call: ast.Call) -> x.Aggregate:
        policy = self.policy
        source = source_of(call, policy)
        arg = call.args[0]
        counting_rows = call.func == "count" and isinstance(arg, ast.Name)
        rows = _Lowering(policy, frozenset())
        quantile = None
        if call.func == "percentile":
            quantile = self.constant(call.args[1])
        return x.Aggregate(
            func=x.Reduce(call.func),
            source=source,
            argument=None if counting_rows else rows.row(arg, source),
            where=None if call.where is None else rows.row(call.where, source),
            window=int(call.window.value) if call.window is not None else 1,
            quantile=quantile,
            unit=policy.dim_of(call),
            text=format_expr(call),
            argument_text=format_expr(arg),
            where_text=None if call.where is None else format_expr(call.where),
        )

    # ---------------------------------------------------------------- row level

    def row(self, e: ast.Expr, source: str) -> x.Expr:
        """On the rows of `source`."""
        policy = self.policy
        if isinstance(e, ast.Attribute):
            spec = policy.sources[e.source]
            dim = spec.columns[e.column].dim
            if spec.is_roster and source != spec.name:  # the row's subject's attribute
                return x.SubjectColumn(e.column, minutes_per(dim), dim)
            return x.Column(e.source, e.column, minutes_per(dim), dim)
        if isinstance(e, ast.Name):
            spec = policy.sources[source]
            if spec.is_roster and e.name in spec.columns:  # `applies to … where role == …`
                dim = spec.columns[e.name].dim
                return x.Column(source, e.name, minutes_per(dim), dim)
            return self.benchmark(e.name)
        return self.common(e, lambda sub: self.row(sub, source))

    # ---------------------------------------------------------------- both levels

    def common(self, e: ast.Expr, lower) -> x.Expr:
        dim = self.policy.dim_of(e)
        if isinstance(e, ast.NUMERIC_LITERALS):
            return x.Const(literal_number(e), dim)
        if isinstance(e, ast.String):
            return x.Const(e.value, dim)
        if isinstance(e, ast.Bool):
            return x.Const(e.value, dim)
        if isinstance(e, ast.DateLit):
            return x.Const(date.fromisoformat(e.text), dim)
        if isinstance(e, ast.PeriodLit):
            return x.Const(e.text, dim)
        if isinstance(e, ast.Negate):
            return x.Negate(lower(e.operand), dim)
        if isinstance(e, ast.Not):
            return x.Not(lower(e.operand))
        if isinstance(e, ast.Binary):
            return x.Binary(x.Op(e.op), lower(e.left), lower(e.right), dim)
        if isinstance(e, ast.In):
            return x.In(lower(e.item), tuple(lower(item) for item in e.collection.items))
        if isinstance(e, ast.If):
            return x.If(lower(e.condition), lower(e.then), lower(e.otherwise), dim)
        if isinstance(e, ast.Call) and e.func in x.Func.__members__.values():
            return x.Call(x.Func(e.func), tuple(lower(a) for a in e.args), dim)
        raise ValueError(f"cannot lower {type(e).__name__}: {format_expr(e)}")

    def constant(self, e: ast.Expr) -> float:
        """A constant the checker folded: a literal, a negated one, or a benchmark."""
        if isinstance(e, ast.NUMERIC_LITERALS):
            return literal_number(e)
        if isinstance(e, ast.Negate):
            return -self.constant(e.operand)
        if isinstance(e, ast.Name) and e.name in self.policy.benchmarks:
            return self.constant(self.policy.benchmarks[e.name].expr)
        raise ValueError(f"not a constant: {format_expr(e)}")


def lower_grid(e: ast.Expr, policy: model.Policy, env: frozenset[str] = FORMULA) -> x.Expr:
    """A formula or a rule, per subject and period."""
    return _Lowering(policy, env).grid(e)


def lower_row(e: ast.Expr, policy: model.Policy, source: str) -> x.Expr:
    """A condition on the rows of a source (a roster's `applies to … where`)."""
    return _Lowering(policy, FORMULA).row(e, source)
