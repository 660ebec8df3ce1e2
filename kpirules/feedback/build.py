"""Results + the analysis frames → one `Sheet` per person.

The comparison and the trends are computed once per sheet period for the whole population
(peers need everyone anyway), then every frame is bucketed by person in one pass, so the
work grows with the number of rows, never with people × rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

import pandas as pd

from kpirules import model
from kpirules.analysis import comparison, score_trends, trends
from kpirules.feedback.agenda import agenda
from kpirules.feedback.select import FeedbackError
from kpirules.feedback.sheet import (
    GAP,
    MISSING,
    NO_TARGET,
    STRENGTH,
    ActionLine,
    CadenceLine,
    CardSheet,
    IndicatorLine,
    PayoutLine,
    Peers,
    Person,
    Sheet,
    Trend,
)
from kpirules.results import Results

NAN = math.nan
RECOGNITION_KINDS = ("recognize", "nominate")
MEETINGS = ("check_in", "one_on_one", "review", "calibration")  # the order a sheet lists them


def build_sheets(
    results: Results, wanted: Mapping[str, str], *, names: Mapping[str, str] | None = None
) -> list[Sheet]:
    """One sheet per `subject → period` of `wanted` (see `select.py`), in its order.
    `names` (roster key → name, see `select.roster_names`) names managers and action
    owners who are on no scorecard themselves."""
    if not wanted:
        return []
    parts = _Parts(results, wanted, names or {})
    return [parts.sheet(subject, period) for subject, period in wanted.items()]


class _Parts:
    """Every frame the sheets read, computed once and bucketed by (subject, period)."""

    def __init__(self, results: Results, wanted: Mapping[str, str], names: Mapping[str, str]):
        self.results = results
        self.policy = results.policy
        by_period: dict[str, list[str]] = defaultdict(list)
        for subject, period in wanted.items():
            by_period[period].append(subject)
        self.lines: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self.trend: dict[tuple[str, str, str], dict] = {}
        self.history: dict[tuple[str, str], dict] = {}
        self.periods: dict[str, tuple[str, ...]] = {}
        for period, people in sorted(by_period.items()):
            self._analyse(period, people)
        keys = pd.DataFrame(
            {"subject": list(wanted), "period": list(wanted.values())}, dtype=object
        )
        self.totals = _bucket(_pick(results.totals, keys), ("subject", "period"))
        self.actions = _bucket(_pick(results.actions, keys), ("subject", "period"))
        self.payouts = _bucket(_pick(results.payouts, keys), ("subject", "period"))
        totals = results.totals.drop_duplicates("subject")
        self.names = {
            **dict(zip(totals["subject"].astype(str).tolist(), totals["name"].tolist())),
            **names,
        }
        self.target_scores = {
            (card.name, entry.indicator): _point_score(entry, "target")
            for card in self.policy.scorecards.values()
            for entry in card.entries
        }

    def _analyse(self, period: str, people: list[str]) -> None:
        results = self.results
        compared = comparison(results, period=period)
        compared = compared[compared["subject"].astype(str).isin(set(people))]
        for row in _rows(compared):
            self.lines[(str(row["subject"]), period)].append(row)
        # Trends over the periods up to the sheet's only, so an earlier period's sheet
        # reads the same whether or not later periods were evaluated.
        upto = results.periods[: results.periods.index(period) + 1]
        self.periods[period] = tuple(upto)
        view = _view(results, upto, people)
        for row in _rows(trends(view)):
            self.trend[(str(row["subject"]), row["scorecard"], row["indicator"])] = row
        for row in _rows(score_trends(view)):
            self.history[(str(row["subject"]), row["scorecard"])] = row

    # ------------------------------------------------------------ one sheet

    def sheet(self, subject: str, period: str) -> Sheet:
        key = (subject, period)
        totals = sorted(self.totals.get(key, []), key=lambda row: row["scorecard"])
        if not totals:
            raise FeedbackError(f"{subject!r} was not evaluated in {period}")
        first = totals[0]
        manager = _text(first["manager"])
        person = Person(
            subject=subject,
            name=_text(first["name"]),
            department=_text(first["department"]),
            role=_text(first["role"]),
            manager=manager,
            manager_name=_text(self.names.get(manager)) if manager else None,
        )
        lines = self.lines.get(key, [])
        cards = tuple(
            self._card(row, [r for r in lines if r["scorecard"] == row["scorecard"]])
            for row in totals
        )
        actions = [self._action(row, person) for row in self.actions.get(key, [])]
        header = self.policy.header
        sheet = Sheet(
            person=person,
            period=period,
            policy=self.policy.name,
            version=header.version if header else None,
            currency=header.currency if header else None,
            cards=cards,
            actions=tuple(a for a in actions if a.kind not in RECOGNITION_KINDS),
            recognition=tuple(a for a in actions if a.kind in RECOGNITION_KINDS),
            payouts=tuple(self._payout(row) for row in self.payouts.get(key, [])),
            agenda=(),
        )
        return replace(sheet, agenda=agenda(sheet))

    def _card(self, total: dict, rows: list[dict]) -> CardSheet:
        card = self.policy.scorecards[total["scorecard"]]
        subject, period = str(total["subject"]), total["period"]
        history = self.history.get((subject, card.name))
        periods = self.periods[period]
        lines = [self._line(card, row, periods) for row in rows]
        return CardSheet(
            scorecard=card.name,
            label=card.label or card.name,
            total=_float(total["total"]),
            rating=_text(total["rating"]),
            status=str(total["status"]),
            history=_trend(history, periods),
            lines=tuple(sorted(lines, key=_line_order)),
            cadence=cadence(self.policy, card.name),
        )

    def _line(self, card: model.Scorecard, row: dict, periods: tuple[str, ...]) -> IndicatorLine:
        value, score = _float(row["value"]), _float(row["score"])
        meets = row["meets_target"]
        if math.isnan(value):
            standing = MISSING
        elif meets is pd.NA or meets is None:
            standing = NO_TARGET
        else:
            standing = STRENGTH if bool(meets) else GAP
        threshold, target = _float(row["threshold"]), _float(row["target"])
        effective = _float(row["effective_weight"])
        target_score = self.target_scores[(card.name, row["indicator"])]
        lost = NAN
        if standing == GAP and not math.isnan(target_score) and not math.isnan(score):
            lost = max(effective * (target_score - score), 0.0)
        trend = self.trend.get((str(row["subject"]), card.name, row["indicator"]))
        improved = row["improved"]
        benchmark = row["benchmark"]
        return IndicatorLine(
            indicator=row["indicator"],
            label=str(row["label"]),
            unit=str(row["unit"]),
            better=str(row["better"]),
            standing=standing,
            tone=_tone(standing, value, threshold, target, row["better"]),
            value=value,
            threshold=threshold,
            target=target,
            stretch=_float(row["stretch"]),
            score=score,
            weight=_float(row["weight"]),
            effective_weight=effective,
            contribution=_float(row["contribution"]),
            target_gap=_float(row["target_gap"]),
            points_lost=lost,
            previous=_float(row["previous"]),
            delta=_float(row["delta"]),
            improved=None if improved is pd.NA or improved is None else bool(improved),
            trend=_trend(trend, periods),
            peers=Peers(
                count=int(row["peer_count"]),
                median=_float(row["peer_median"]),
                percentile=_float(row["percentile"]),
                department_median=_float(row["department_median"]),
                benchmark=self._benchmark_label(benchmark),
                benchmark_value=_float(row["benchmark_value"]),
            ),
        )

    def _benchmark_label(self, name) -> str | None:
        if not isinstance(name, str):
            return None
        benchmark = self.policy.benchmarks.get(name)
        return (benchmark.label or name) if benchmark else name

    def _action(self, row: dict, person: Person) -> ActionLine:
        owner = _text(row["owner"])
        owner_is = None
        if owner is not None:
            if owner == person.subject:
                owner_is = "employee"
            elif owner == person.manager:
                owner_is = "manager"
            elif owner == "hr":
                owner_is = "hr"
        return ActionLine(
            kind=str(row["kind"]),
            title=str(row["title"]),
            owner=owner,
            owner_name=_text(self.names.get(owner)) if owner else None,
            owner_is=owner_is,
            due=_text(row["due"]),
            reason=str(row["reason"]),
            origin=str(row["origin"]),
        )

    def _payout(self, row: dict) -> PayoutLine:
        incentive = self.policy.incentives.get(row["incentive"])
        return PayoutLine(
            incentive=row["incentive"],
            label=(incentive.label if incentive and incentive.label else row["incentive"]),
            scorecard=str(row["scorecard"]),
            amount=_float(row["amount"]),
            amount_before_limits=_float(row["amount_before_limits"]),
            gate_passed=bool(row["gate_passed"]),
            capped=bool(row["capped"]),
            prorate_factor=_float(row["prorate_factor"]),
        )


# ------------------------------------------------------------------ policy lookups


def cadence(policy: model.Policy, scorecard: str) -> tuple[CadenceLine, ...]:
    """The feedback cadence for a scorecard: blocks for everyone first, then blocks naming
    the scorecard, later settings overriding earlier ones."""
    settings: dict[str, str] = {}
    for block in sorted(policy.feedback, key=lambda b: bool(b.scorecards)):
        if not block.scorecards or scorecard in block.scorecards:
            settings.update(block.settings)
    order = {m: i for i, m in enumerate(MEETINGS)}
    keys = sorted(settings, key=lambda m: (order.get(m, len(order)), m))
    return tuple(CadenceLine(meeting=m, every=settings[m]) for m in keys)


def _point_score(entry: model.Entry, kind: str) -> float:
    """The score the entry's curve gives at its `kind` point (NaN without one)."""
    if not isinstance(entry.scoring, model.Curve):
        return NAN
    point = next((p for p in entry.scoring.points if p.kind == kind), None)
    return NAN if point is None else float(point.score)


# ------------------------------------------------------------------ helpers


def _line_order(line: IndicatorLine) -> tuple:
    """Strengths by score, best first; gaps by points lost, largest first; then by name."""
    if line.standing == GAP:
        return (1, -_or(line.points_lost, 0.0), -_or(line.score, 0.0), line.indicator)
    rank = {STRENGTH: 0, NO_TARGET: 2, MISSING: 3}[line.standing]
    return (rank, -_or(line.score, 0.0), 0.0, line.indicator)


def _tone(standing: str, value: float, threshold: float, target: float, better: str) -> str:
    if standing == STRENGTH:
        return "good"
    if standing != GAP:
        return "neutral"
    if math.isnan(threshold):
        return "poor"
    if better == "higher":
        reached = value >= threshold
    elif better == "lower":
        reached = value <= threshold
    else:
        reached = not math.isnan(target) and abs(value - target) <= abs(threshold - target)
    return "middle" if reached else "poor"


def _trend(row: dict | None, periods: tuple[str, ...]) -> Trend:
    if row is None:
        return Trend(periods, tuple(NAN for _ in periods), "n/a", 0)
    values = tuple(float(v) for v in row["values"])[: len(periods)]
    return Trend(periods, values, str(row["direction"]), int(row["streak"]))


def _view(results: Results, periods: list[str], people: list[str]) -> Results:
    """The results of `people` over `periods` only: what the trends of their sheets read."""
    keep_periods, keep_people = set(periods), set(people)

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        mask = frame["period"].isin(keep_periods) & frame["subject"].astype(str).isin(keep_people)
        return frame[mask]

    return replace(
        results,
        periods=list(periods),
        indicators=cut(results.indicators),
        scores=cut(results.scores),
        totals=cut(results.totals),
    )


def _pick(frame: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` whose (subject, period) is one of `keys`."""
    if frame.empty:
        return frame
    frame = frame.assign(subject=frame["subject"].astype(str))
    return frame.merge(keys, on=["subject", "period"], how="inner", sort=False)


def _rows(frame: pd.DataFrame) -> Iterator[dict]:
    """The rows as dicts, column by column (much faster than iterrows)."""
    columns = list(frame.columns)
    for values in zip(*(frame[c].tolist() for c in columns)):
        yield dict(zip(columns, values))


def _bucket(frame: pd.DataFrame, keys: Iterable[str]) -> dict[tuple, list[dict]]:
    keys = tuple(keys)
    out: dict[tuple, list[dict]] = defaultdict(list)
    for row in _rows(frame):
        out[tuple(str(row[k]) for k in keys)].append(row)
    return out


def _float(value) -> float:
    if value is None or value is pd.NA:
        return NAN
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


def _or(value: float, default: float) -> float:
    return default if math.isnan(value) else value


def _text(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
