"""Collect the declarations of a policy unit into one namespace; report duplicates."""

from __future__ import annotations

from kpirules import ast, model
from kpirules import dimensions as dims
from kpirules.diagnostics import Diagnostic, error
from kpirules.dimensions import Dim

# Declarations that share the one namespace of names.
NAMED_KINDS = {
    ast.SourceDecl: "source",
    ast.ObjectiveDecl: "objective",
    ast.GoalDecl: "goal",
    ast.IndicatorDecl: "indicator",
    ast.BenchmarkDecl: "benchmark",
    ast.ScorecardDecl: "scorecard",
    ast.RatingDecl: "rating",
    ast.IncentiveDecl: "incentive",
}


# Names gates, payouts and action rules use for the scorecard's own results.
RESERVED = ("score", "rating")


class Symbols:
    def __init__(self, modules: list[ast.Module], diagnostics: list[Diagnostic]):
        self.policies: list[ast.PolicyDecl] = []
        self.source_decls: dict[str, ast.SourceDecl] = {}
        self.objectives: dict[str, ast.ObjectiveDecl] = {}
        self.goals: dict[str, ast.GoalDecl] = {}
        self.indicators: dict[str, ast.IndicatorDecl] = {}
        self.benchmarks: dict[str, ast.BenchmarkDecl] = {}
        self.scorecards: dict[str, ast.ScorecardDecl] = {}
        self.ratings: dict[str, ast.RatingDecl] = {}
        self.incentives: dict[str, ast.IncentiveDecl] = {}
        self.improvements: list[ast.ImprovementDecl] = []
        self.feedback: list[ast.FeedbackDecl] = []
        self.tests: list[ast.TestDecl] = []
        self.sources: dict[str, model.Source] = {}  # filled by the checker, before expressions
        self.currency: str | None = None
        self.kind_of: dict[str, str] = {}
        first_seen: dict[str, ast.Node] = {}
        tables = {
            "source": self.source_decls,
            "objective": self.objectives,
            "goal": self.goals,
            "indicator": self.indicators,
            "benchmark": self.benchmarks,
            "scorecard": self.scorecards,
            "rating": self.ratings,
            "incentive": self.incentives,
        }
        for module in modules:
            for item in module.items:
                kind = NAMED_KINDS.get(type(item))
                if kind is not None:
                    name = item.name.text
                    if name in RESERVED:
                        diagnostics.append(
                            error(
                                "E213",
                                f"'{name}' is a reserved name (the scorecard's {name})",
                                item.name.span,
                                hint=f"call it something else, e.g. {name}_{kind}",
                            )
                        )
                        continue
                    if name in first_seen:
                        earlier = first_seen[name]
                        previous = dims.article(self.kind_of[name])
                        diagnostics.append(
                            error(
                                "E201",
                                f"'{name}' is already declared as {previous} at {earlier.span}",
                                item.name.span,
                                hint="every source, objective, goal, indicator, benchmark, "
                                "scorecard, rating and incentive needs its own name",
                            )
                        )
                        continue
                    first_seen[name] = item.name
                    self.kind_of[name] = kind
                    tables[kind][name] = item
                elif isinstance(item, ast.PolicyDecl):
                    self.policies.append(item)
                elif isinstance(item, ast.ImprovementDecl):
                    self.improvements.append(item)
                elif isinstance(item, ast.FeedbackDecl):
                    self.feedback.append(item)
                elif isinstance(item, ast.TestDecl):
                    self.tests.append(item)

    @property
    def roster(self) -> model.Source | None:
        return next((s for s in self.sources.values() if s.is_roster), None)

    def column_dim(self, source: str, column: str) -> Dim:
        return self.sources[source].columns[column].dim

    def indicator_dim(self, name: str) -> Dim:
        decl = self.indicators[name]
        unit = next((s.name.text for s in decl.body if isinstance(s, ast.UnitStmt)), None)
        return dims.of_indicator_unit(unit, self.currency) if unit else dims.ANY

    def indicator_better(self, name: str) -> str:
        decl = self.indicators[name]
        return next((s.name.text for s in decl.body if isinstance(s, ast.Better)), "higher")

    def benchmark_dim(self, name: str) -> Dim:
        expr = self.benchmarks[name].expr
        while isinstance(expr, ast.Negate):
            expr = expr.operand
        if isinstance(expr, ast.Percent):
            return dims.PERCENT
        if isinstance(expr, ast.Quantity):
            if expr.unit in dims.DURATION_UNITS:
                return dims.duration(expr.unit)
            return dims.money(self.currency or expr.unit)  # a wrong currency is E309
        return dims.LITERAL_NUMBER
