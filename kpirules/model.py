"""The checked policy: what the checker hands to the planner, the linter and the API.

Everything here has been resolved and validated: names point at declarations that exist,
units agree, constants are Decimals in the unit of the thing they belong to. Formulas and
conditions stay AST expressions (the planner compiles them); `dims` gives the dimension
the checker inferred for each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from kpirules import ast
from kpirules.diagnostics import Span
from kpirules.dimensions import Dim


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    dim: Dim
    required: bool
    allowed: tuple | None
    span: Span


@dataclass(frozen=True)
class Source:
    name: str
    label: str | None
    is_roster: bool
    columns: dict[str, Column]
    roles: dict[str, str]  # key / subject / time / department / role / manager / … → column
    span: Span

    @property
    def key(self) -> str | None:
        return self.roles.get("key")

    @property
    def subject(self) -> str | None:
        return self.roles.get("subject")

    @property
    def time(self) -> str | None:
        return self.roles.get("time")


@dataclass(frozen=True)
class Objective:
    name: str
    label: str | None
    horizon: str | None
    supports: tuple[str, ...]
    description: str | None
    span: Span


@dataclass(frozen=True)
class GoalTarget:
    indicator: str
    op: str
    value: Decimal  # in the indicator's unit
    expr: ast.Expr


@dataclass(frozen=True)
class Goal:
    name: str
    label: str | None
    supports: tuple[str, ...]
    owner_level: str  # "company" or a roster column
    owner_value: str | None
    target: GoalTarget | None
    deadline: str | None
    horizon: str | None
    description: str | None
    span: Span


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str | None
    unit: str
    dim: Dim
    better: str  # higher | lower | closer
    horizon: str | None
    period: str | None
    supports: tuple[str, ...]
    formula: ast.Expr
    depends_on: tuple[str, ...]  # other indicators used by the formula
    sources: tuple[str, ...]  # sources the formula aggregates
    description: str | None
    span: Span


@dataclass(frozen=True)
class Benchmark:
    name: str
    label: str | None
    expr: ast.Expr
    value: Decimal | None
    dim: Dim
    span: Span


@dataclass(frozen=True)
class CurvePoint:
    kind: str  # threshold | target | stretch | point
    value: Decimal
    score: Decimal
    span: Span
    benchmark: str | None = None  # the benchmark the value was written as, if any


@dataclass(frozen=True)
class Curve:
    """Piecewise linear through the points, flat beyond the last, `otherwise` before the first."""

    points: tuple[CurvePoint, ...]  # ordered from worst to best value (as written)
    otherwise: Decimal


@dataclass(frozen=True)
class Band:
    kind: str  # below | above | at_least | at_most | between | otherwise
    low: Decimal | None
    high: Decimal | None
    output: ast.Expr
    score: Decimal | None  # the output as a constant, when it is one
    span: Span

    def contains(self, value: Decimal | float) -> bool:
        from kpirules.rules import in_band  # the one band rule

        return bool(in_band(self.kind, self.low, self.high, float(value)))


@dataclass(frozen=True)
class Bands:
    hit_policy: str  # unique | first
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class MissingRule:
    action: str  # reweight | score | fail
    score: Decimal | None = None


@dataclass(frozen=True)
class Entry:
    indicator: str
    weight: Decimal  # a fraction: 40% → 0.4
    scoring: Curve | Bands | None
    cap: Decimal | None
    floor: Decimal | None
    missing: MissingRule | None
    span: Span


@dataclass(frozen=True)
class Gate:
    condition: ast.Expr
    effect: str  # cap | score (scorecards); none (incentives: no payout)
    value: Decimal | None
    span: Span


@dataclass(frozen=True)
class Scorecard:
    name: str
    label: str | None
    roster: str
    where: ast.Expr | None
    entries: tuple[Entry, ...]
    missing: MissingRule
    rating: str | None
    gates: tuple[Gate, ...]
    cap: Decimal | None
    floor: Decimal | None
    description: str | None
    span: Span


@dataclass(frozen=True)
class RatingLevel:
    label: str
    condition: ast.Expr | None  # None: otherwise
    span: Span


@dataclass(frozen=True)
class DistributionRule:
    label: str
    bound: str  # least | most
    share: Decimal
    span: Span


@dataclass(frozen=True)
class Rating:
    name: str
    label: str | None
    levels: tuple[RatingLevel, ...]
    distribution: tuple[DistributionRule, ...]
    span: Span

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(level.label for level in self.levels)


@dataclass(frozen=True)
class Action:
    condition: ast.Expr
    periods: int  # the condition must hold this many periods in a row
    kind: str
    title: str
    owner: str | None
    within_days: Decimal | None
    span: Span


@dataclass(frozen=True)
class Incentive:
    name: str
    label: str | None
    scorecards: tuple[str, ...]
    gates: tuple[Gate, ...]
    pay: ast.Expr | None
    tiers: tuple[Band, ...] | None
    tier_basis: ast.Expr | None
    cap: ast.Expr | None
    floor: ast.Expr | None
    prorate: str | None
    actions: tuple[Action, ...]
    description: str | None
    span: Span


@dataclass(frozen=True)
class Improvement:
    name: str | None
    scorecards: tuple[str, ...]
    actions: tuple[Action, ...]
    span: Span


@dataclass(frozen=True)
class Feedback:
    scorecards: tuple[str, ...]  # empty: everyone
    settings: dict[str, str]
    span: Span


@dataclass(frozen=True)
class Test:
    name: str
    decl: ast.TestDecl
    span: Span


@dataclass(frozen=True)
class Header:
    name: str
    version: str | None
    cadence: str
    effective_start: str | None
    effective_end: str | None
    currency: str | None
    locale: str
    rounding_mode: str
    rounding_step: Decimal
    fiscal_year_start: int
    data_quality: dict[str, str]
    description: str | None
    span: Span


@dataclass(frozen=True)
class Policy:
    header: Header | None  # None: a library (e.g. a shared indicator catalogue)
    sources: dict[str, Source]
    objectives: dict[str, Objective]
    goals: dict[str, Goal]
    indicators: dict[str, Indicator]
    benchmarks: dict[str, Benchmark]
    scorecards: dict[str, Scorecard]
    ratings: dict[str, Rating]
    incentives: dict[str, Incentive]
    improvements: tuple[Improvement, ...]
    feedback: tuple[Feedback, ...]
    tests: tuple[Test, ...]
    files: tuple[str, ...]
    root: str
    dims: dict[int, Dim] = field(default_factory=dict, repr=False)  # id(expr) → dimension

    def dim_of(self, expr: ast.Expr) -> Dim:
        """The unit the checker inferred for a node of this policy. Every node the checker
        passed has one; asking for any other node is a bug, not a unit to guess."""
        try:
            return self.dims[id(expr)]
        except KeyError:
            raise LookupError(f"no unit was inferred for {type(expr).__name__} {expr}") from None

    def note_dim(self, expr: ast.Expr, dim: Dim) -> ast.Expr:
        """Record the unit of a node built after checking from checked ones (analysis
        reads `mean(x)` as `sum(x) / count(x)`); returns the node."""
        self.dims[id(expr)] = dim
        return expr

    @property
    def roster(self) -> Source | None:
        return next((s for s in self.sources.values() if s.is_roster), None)

    @property
    def name(self) -> str:
        return self.header.name if self.header else "(library)"
