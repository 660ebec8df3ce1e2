"""The lowered plan: what every runner executes.

The checker's model says what the policy means; the plan says what will run, resolved
and typed: word lists are enums, constants are floats in the unit the runners compute in
(fractions for percentages, the indicator's own unit for curve points and bands), each
formula carries the unit the checker inferred for it, each aggregate names the source it
reads, and every node keeps the policy span it came from so a result can be traced back
to its rule. `kpirules plan POLICY` prints it (`kpirules.plan.text`).

Formulas are lowered expressions (`kpirules.plan.expr`): every name resolved to a column,
an indicator or a constant, so a runner reads the plan and its data, never the model.
Runners evaluate them with one operator table (`kpirules.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from kpirules.diagnostics import Span
from kpirules.dimensions import ANY, Dim
from kpirules.plan import expr as x


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    CLOSER = "closer"


class BandKind(StrEnum):
    BELOW = "below"
    ABOVE = "above"
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    BETWEEN = "between"
    OTHERWISE = "otherwise"


class HitPolicy(StrEnum):
    UNIQUE = "unique"
    FIRST = "first"


class WhenMissing(StrEnum):
    REWEIGHT = "reweight"
    SCORE = "score"
    FAIL = "fail"


class GateEffect(StrEnum):
    CAP = "cap"  # the total is capped at the value
    SCORE = "score"  # the total becomes the value
    NONE = "none"  # an incentive's gate: no payout


class PointKind(StrEnum):
    THRESHOLD = "threshold"
    TARGET = "target"
    STRETCH = "stretch"
    POINT = "point"


class Rounding(StrEnum):
    HALF_EVEN = "half_even"
    HALF_UP = "half_up"
    DOWN = "down"
    UP = "up"


class Prorate(StrEnum):
    DAYS_EMPLOYED = "days_employed"


class Bound(StrEnum):
    LEAST = "least"
    MOST = "most"


class Comparison(StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True)
class Formula:
    """A lowered expression, the unit it yields, and the text it was written as."""

    expr: x.Expr
    unit: Dim
    text: str  # as the formatter prints it


@dataclass(frozen=True)
class IndicatorStep:
    name: str
    formula: x.Expr
    aggregates: tuple[x.Aggregate, ...]  # the reads of the formula, in order
    lags_itself: bool  # previous(self): computed period by period
    unit: Dim = ANY
    # runner units per the indicator's own unit (minutes per unit for durations, else 1)
    scale: float = 1.0
    better: Better = Better.HIGHER
    reads: tuple[str, ...] = ()  # other indicators, this period or earlier ones
    text: str = ""
    label: str | None = None
    unit_name: str = ""  # the unit as declared (`percent`, `money`, `hours`, …)
    supports: tuple[str, ...] = ()  # the goals it supports
    span: Span | None = None


@dataclass(frozen=True)
class CurvePoint:
    kind: PointKind
    value: float  # in the indicator's unit (percentages as fractions)
    score: float
    span: Span


@dataclass(frozen=True)
class Curve:
    points: tuple[CurvePoint, ...]  # worst to best as written
    otherwise: float  # the score before the first point
    better: Better

    @property
    def xs(self) -> list[float]:
        return [p.value for p in self.points]

    @property
    def ys(self) -> list[float]:
        return [p.score for p in self.points]


@dataclass(frozen=True)
class Band:
    kind: BandKind
    low: float | None
    high: float | None
    output: Formula  # a score (scorecards) or an amount (payout tiers)
    constant: float | None  # the output when it is a constant
    span: Span


@dataclass(frozen=True)
class Bands:
    hit_policy: HitPolicy
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class MissingRule:
    action: WhenMissing
    score: float | None = None


@dataclass(frozen=True)
class Entry:
    indicator: str
    weight: float  # a fraction: 40% → 0.4
    scoring: Curve | Bands | None  # None: the indicator is a score already
    cap: float | None
    floor: float | None
    missing: MissingRule  # the entry's own rule, else the scorecard's
    span: Span


@dataclass(frozen=True)
class Gate:
    condition: Formula
    effect: GateEffect
    value: float | None
    span: Span


@dataclass(frozen=True)
class RatingLevel:
    label: str
    condition: Formula | None  # None: otherwise
    span: Span


@dataclass(frozen=True)
class DistributionRule:
    label: str
    bound: Bound
    share: float
    span: Span


@dataclass(frozen=True)
class Rating:
    name: str
    levels: tuple[RatingLevel, ...]
    distribution: tuple[DistributionRule, ...]
    span: Span


@dataclass(frozen=True)
class Action:
    origin: str  # "incentive NAME", "improvement NAME" or "improvement"
    condition: Formula
    periods: int  # the condition must hold this many periods in a row
    kind: str
    title: str
    owner: str | None  # employee | manager | a fixed owner
    within_days: float | None
    span: Span


@dataclass(frozen=True)
class Payout:
    incentive: str
    gates: tuple[Gate, ...]
    pay: Formula | None
    tiers: tuple[Band, ...] | None
    tier_basis: Formula | None
    cap: Formula | None
    floor: Formula | None
    prorate: Prorate | None
    rounding: Rounding
    step: Decimal  # round to a multiple of this, in the currency (exact: see rules.py)
    currency: str | None
    actions: tuple[Action, ...]
    span: Span


@dataclass(frozen=True)
class Scorecard:
    name: str
    members: Formula | None  # roster condition; None: everyone
    entries: tuple[Entry, ...]
    missing: MissingRule
    gates: tuple[Gate, ...]
    cap: float | None
    floor: float | None
    rating: Rating | None
    payouts: tuple[Payout, ...]
    actions: tuple[Action, ...]  # improvement actions (payout actions sit on the payout)
    span: Span


@dataclass(frozen=True)
class Goal:
    name: str
    level: str  # "company" or a roster column
    owner: str  # "company" or the group's value in that column
    indicator: str
    op: Comparison
    target: float  # in the indicator's unit
    needs: tuple[str, ...]  # the indicators computed at the owner's level, in order
    deadline: str | None
    span: Span
    column: str | None = None  # the roster column of the level (None: company)
    supports: tuple[str, ...] = ()  # the goals and objectives it supports


@dataclass(frozen=True)
class Benchmark:
    name: str
    value: float | None  # in the runners' units; None: not a constant
    unit: Dim
    text: str
    span: Span


@dataclass(frozen=True)
class Source:
    """What a runner needs to know of a source: which column says whose a row is, and
    which one when (None: the rows count in every period)."""

    name: str
    subject: str | None  # the roster's key column, or the subject column
    time: str | None
    is_roster: bool


@dataclass(frozen=True)
class Roster:
    name: str
    key: str
    start: str | None  # employment start / end dates (proration, who is evaluated)
    end: str | None
    manager: str | None  # an action owned by `manager` goes to this column's person


@dataclass(frozen=True)
class Plan:
    """Everything a run does, in the order it does it."""

    steps: tuple[IndicatorStep, ...]  # dependencies first
    # Indicators read each other's earlier periods in a cycle (`a = previous(b)`,
    # `b = previous(a)`): every indicator is then computed period by period.
    by_period: bool = False
    scorecards: tuple[Scorecard, ...] = ()
    goals: tuple[Goal, ...] = ()
    benchmarks: tuple[Benchmark, ...] = ()
    name: str = ""
    cadence: str = ""
    currency: str | None = None
    sources: tuple[Source, ...] = ()
    roster: Roster | None = None
    effective: tuple[date, date] | None = None  # the policy's range; None: the data's
    objectives: tuple[str, ...] = ()
    # what every goal supports (goals and objectives), targets or not: the cascade
    goal_supports: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def source(self, name: str) -> Source:
        return next(source for source in self.sources if source.name == name)

    def sources_read(self) -> set[str]:
        return {agg.source for step in self.steps for agg in step.aggregates}

    def scorecard(self, name: str) -> Scorecard:
        return next(card for card in self.scorecards if card.name == name)
