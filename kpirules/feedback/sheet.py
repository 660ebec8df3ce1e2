"""The feedback sheet: everything a manager needs for one person's one-on-one in one period.

Plain frozen data, no formatting: `build.py` fills it from the results and the analysis
frames, `render.py` prints it in a language. Numbers stay floats (NaN where missing) in
the unit of their indicator, as in the results.
"""

from __future__ import annotations

from dataclasses import dataclass

STRENGTH, GAP, NO_TARGET, MISSING = "strength", "gap", "no_target", "missing"


@dataclass(frozen=True)
class Person:
    subject: str
    name: str | None
    department: str | None
    role: str | None
    manager: str | None
    manager_name: str | None


@dataclass(frozen=True)
class Trend:
    """A series over the periods up to the sheet's, with the analysis' reading of it."""

    periods: tuple[str, ...]
    values: tuple[float, ...]  # NaN where there is no value
    direction: str  # improving | declining | flat | n/a
    streak: int  # +k improvements in a row up to the latest value, −k declines


@dataclass(frozen=True)
class Peers:
    count: int
    median: float
    percentile: float  # 0–100, 100 = no peer does better
    department_median: float
    benchmark: str | None  # the benchmark's label
    benchmark_value: float


@dataclass(frozen=True)
class IndicatorLine:
    indicator: str
    label: str
    unit: str
    better: str  # higher | lower | closer
    standing: str  # strength | gap | no_target | missing
    tone: str  # good | middle | poor | neutral: for charts
    value: float
    threshold: float
    target: float
    stretch: float
    score: float
    weight: float
    effective_weight: float
    contribution: float
    target_gap: float  # value − target, in the indicator's unit
    points_lost: float  # total points short of what the target would have earned
    previous: float
    delta: float
    improved: bool | None
    trend: Trend
    peers: Peers


@dataclass(frozen=True)
class ActionLine:
    kind: str  # training | coaching | plan | review | recognize | nominate
    title: str
    owner: str | None  # as recorded: a roster key, `hr`, or the policy's own words
    owner_name: str | None  # the owner's name when the owner is a person we know
    owner_is: str | None  # employee | manager | hr | None
    due: str | None
    reason: str
    origin: str


@dataclass(frozen=True)
class PayoutLine:
    incentive: str
    label: str
    scorecard: str
    amount: float
    amount_before_limits: float
    gate_passed: bool
    capped: bool
    prorate_factor: float


@dataclass(frozen=True)
class CadenceLine:
    meeting: str  # check_in | one_on_one | review | calibration
    every: str  # weekly | biweekly | monthly | quarterly | yearly


@dataclass(frozen=True)
class AgendaItem:
    """One point of the suggested agenda; the renderer words it in the sheet's language."""

    # open | keep | recognize | incentive | work_on | more_gaps | causes | watch | support | next
    topic: str
    line: IndicatorLine | None = None
    action: ActionLine | None = None
    payout: PayoutLine | None = None
    cadence: CadenceLine | None = None
    card: CardSheet | None = None
    count: int = 0


@dataclass(frozen=True)
class CardSheet:
    """One scorecard the person is on in the period (almost always exactly one)."""

    scorecard: str
    label: str
    total: float
    rating: str | None
    status: str
    history: Trend  # the total score over the periods
    lines: tuple[IndicatorLine, ...]
    cadence: tuple[CadenceLine, ...]

    def standing(self, which: str) -> tuple[IndicatorLine, ...]:
        return tuple(line for line in self.lines if line.standing == which)

    @property
    def strengths(self) -> tuple[IndicatorLine, ...]:
        return self.standing(STRENGTH)

    @property
    def gaps(self) -> tuple[IndicatorLine, ...]:
        return self.standing(GAP)

    @property
    def without_target(self) -> tuple[IndicatorLine, ...]:
        return self.standing(NO_TARGET)

    @property
    def missing(self) -> tuple[IndicatorLine, ...]:
        return self.standing(MISSING)


@dataclass(frozen=True)
class Sheet:
    person: Person
    period: str
    policy: str
    version: str | None
    currency: str | None
    cards: tuple[CardSheet, ...]
    actions: tuple[ActionLine, ...]  # improvement: the support offered
    recognition: tuple[ActionLine, ...]
    payouts: tuple[PayoutLine, ...]
    agenda: tuple[AgendaItem, ...]

    @property
    def strengths(self) -> tuple[IndicatorLine, ...]:
        return tuple(line for card in self.cards for line in card.strengths)

    @property
    def gaps(self) -> tuple[IndicatorLine, ...]:
        return tuple(line for card in self.cards for line in card.gaps)

    @property
    def payout_total(self) -> float:
        return float(sum(p.amount for p in self.payouts if p.amount == p.amount))
