"""Explain one person's numbers: from data rows through formulas, curves, weights, gates
and ratings to payouts and actions, with the policy line behind each step.

The evaluation itself runs as usual (vectorised, no tracing); the trace is then built
for the one subject asked about, by re-reading that subject's rows and re-doing the
arithmetic of each step in plain Python. Every number it shows is checked against the
engine's results; a step that does not recompute is marked so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from kpirules import model, rules
from kpirules.data import LoadedData, load_data
from kpirules.engine import EvaluationError, evaluate, rows_of
from kpirules.engine.expressions import Evaluator, Level, Notes, _holds
from kpirules.periods import Calendar, calendar_of
from kpirules.plan import build, minutes_per, nodes
from kpirules.plan import expr as x

MAX_ROWS_SHOWN = 50
SHOWN_DETAILS = (
    "supports",
    "filter",
    "window",
    "inputs",
    "because",
    "why_not",
)  # printed under a step


class ExplainError(Exception):
    """The question cannot be answered (unknown subject, period, indicator)."""


@dataclass
class Step:
    """One node of the derivation tree."""

    title: str
    value: Any = None
    at: str | None = None  # file:line of the policy statement behind this step
    detail: dict[str, Any] = field(default_factory=dict)
    children: list[Step] = field(default_factory=list)

    def add(self, child: Step) -> Step:
        self.children.append(child)
        return child

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "value": _plain(self.value),
            "at": self.at,
            "detail": {k: _plain(v) for k, v in self.detail.items()},
            "children": [c.to_dict() for c in self.children],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        value = round(value, 9)
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def _at(node: Any) -> str | None:
    span = getattr(node, "span", None)
    return f"{span.file}:{span.line}" if span is not None and span.line else None


def _num(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    return f"{value:,.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _in_unit(value: float, unit: str, currency: str | None) -> str:
    """A value as people read it in its unit: 0.191509 percent is "19.1509% (0.191509)"
    (formulas and curve arithmetic below keep the fraction); money in the currency."""
    if _missing(value):
        return "missing"
    if unit == "percent":
        return f"{_num(float(value) * 100)}% ({_num(value)})"
    if unit == "money":
        return f"{_num(value)} {currency}" if currency else _num(value)
    if unit in ("count", "number", "score"):
        return _num(value)
    return f"{_num(value)} {unit}"


# ------------------------------------------------------------------ entry point


def explain(
    policy: model.Policy,
    data,
    subject: str,
    period: str | None = None,
    indicator: str | None = None,
    *,
    as_of: date | None = None,
) -> Step:
    """The derivation of one subject's numbers in one period (default: their latest)."""
    return Explainer(policy, data, as_of=as_of).explain(subject, period, indicator)


class Explainer:
    """Loads the data once; explains any number of subjects afterwards, each from only
    what their numbers need: their own rows, and their groups' rows for group goals."""

    def __init__(self, policy: model.Policy, data, *, as_of: date | None = None):
        self.policy = policy
        self.loaded = data if isinstance(data, LoadedData) else load_data(policy, data, as_of=as_of)
        if self.loaded.blocked:
            raise ExplainError("data-quality errors stopped the run; see `kpirules eval`")
        self.results = None  # evaluated per subject, on their rows
        self.plan = build(policy)
        roster = policy.roster
        self.subjects = set(self.loaded.frames[roster.name][roster.key])

    @classmethod
    def from_results(cls, policy: model.Policy, loaded, results) -> Explainer:
        """An explainer over data already loaded with `kpirules.data.load_data` and
        results already evaluated from it (every period up to the ones to explain), so a
        caller that shows the results too (the TUI) does not evaluate twice."""
        if loaded.blocked:
            raise ExplainError("data-quality errors stopped the run; see `kpirules eval`")
        explainer = cls.__new__(cls)
        explainer.policy = policy
        explainer.loaded = loaded
        explainer.results = results
        explainer.plan = build(policy)
        roster = policy.roster
        explainer.subjects = set(loaded.frames[roster.name][roster.key])
        return explainer

    def _of(self, subject: str, goals: bool):
        """The results and the data the explanation of `subject` reads (with the goals
        of their groups when `goals`)."""
        if self.results is not None:
            return self.results, self.loaded
        rows = rows_of(self.plan, self.loaded.frames, {subject})  # cut once, for both
        try:
            results = evaluate(self.policy, self.loaded, subjects={subject}, goals=goals, rows=rows)
            return results, replace(self.loaded, frames=rows)
        except EvaluationError as exc:
            raise ExplainError(str(exc)) from exc

    def explain(
        self, subject: str, period: str | None = None, indicator: str | None = None
    ) -> Step:
        policy = self.policy
        roster = self.plan.roster
        if subject not in self.subjects:
            raise ExplainError(f"no one with {roster.key} {subject!r} in the roster")
        if indicator is not None and indicator not in {step.name for step in self.plan.steps}:
            raise ExplainError(f"no indicator called {indicator!r}")
        results, loaded = self._of(subject, goals=indicator is None)
        if period is not None and period not in results.periods:
            calendar = calendar_of(policy)
            if calendar.parse(period) is None:
                raise ExplainError(f"{period!r} is not a {calendar.cadence} period")
            raise ExplainError(
                f"period {period} is outside the policy's range "
                f"({results.periods[0]} to {results.periods[-1]})"
            )
        totals = results.totals[results.totals["subject"] == subject]
        if period is None:
            evaluated = totals.dropna(subset=["total"])["period"]
            period = evaluated.iloc[-1] if len(evaluated) else results.periods[-1]
        own = totals[totals["period"] == period]
        if own.empty:
            raise ExplainError(
                f"{subject!r} is on no scorecard in {period} (not employed "
                "then, or no scorecard applies)"
            )
        tracer = _Tracer(self.plan, calendar_of(policy), loaded, results, subject, period)
        first = own.iloc[0]
        root = Step(
            f"{subject} {first['name'] or ''}".strip() + f" — {period}",
            detail={
                "subject": subject,
                "period": period,
                "department": first["department"],
                "role": first["role"],
            },
        )
        for row in own.itertuples(index=False):
            card = self.plan.scorecard(row.scorecard)
            entries = [e for e in card.entries if indicator in (None, e.indicator)]
            if indicator is not None and not entries:
                continue
            root.add(tracer.scorecard(card, row, entries, only_indicator=indicator is not None))
        if indicator is not None and not root.children:
            cards = ", ".join(own["scorecard"])
            raise ExplainError(
                f"indicator {indicator!r} is not on {subject!r}'s scorecard ({cards})"
            )
        if indicator is None:
            goals = tracer.goals(first["department"])
            if goals.children:
                root.add(goals)
        return root


# ------------------------------------------------------------------ the tracer


class _Tracer:
    """The scalar runner: one subject and period, from the plan and that subject's rows."""

    def __init__(self, plan: nodes.Plan, calendar: Calendar, loaded, results, subject, period):
        self.plan = plan
        self.steps = {step.name: step for step in plan.steps}
        self.results = results
        self.subject = subject
        self.period = period
        self.currency = plan.currency
        self.calendar = calendar
        self.ordinal = self.calendar.parse(period)
        roster = plan.roster
        subjects = loaded.frames[roster.name][roster.key]
        level = Level(
            "subject", pd.Series(subjects.to_numpy(), index=subjects.to_numpy()), [self.ordinal]
        )
        self.evaluator = Evaluator(plan, loaded.frames, self.calendar, level, Notes())
        self.frames = loaded.frames
        self.files = loaded.files
        by_key = loaded.frames[roster.name].set_index(roster.key)
        self.person = by_key.loc[subject]

    # ---- lookups in the engine's results
    def value(self, indicator: str, period: str | None = None) -> float:
        frame = self.results.indicators
        mask = (frame["subject"] == self.subject) & (frame["period"] == (period or self.period))
        found = frame.loc[mask & (frame["indicator"] == indicator), "value"]
        return float(found.iloc[0]) if len(found) else math.nan

    def scorecard(self, card: nodes.Scorecard, row, entries, only_indicator: bool) -> Step:
        rating = row.rating if isinstance(row.rating, str) else "—"
        node = Step(
            f"scorecard {card.name}: total {_num(row.total)}, rating {rating}",
            row.total,
            _at(card),
            detail={"status": row.status},
        )
        scores = self.results.scores
        mine = scores[
            (scores["subject"] == self.subject)
            & (scores["period"] == self.period)
            & (scores["scorecard"] == card.name)
        ].set_index("indicator")
        for entry in entries:
            node.add(self.entry(card, entry, mine.loc[entry.indicator]))
        if only_indicator:
            return node
        node.add(self.total(card, mine, row))
        if card.rating is not None:
            node.add(self.rating(card.rating, row.total, row.rating))
        for payout in card.payouts:
            node.add(self.payout(payout, card, row))
        rules = [a for payout in card.payouts for a in payout.actions] + list(card.actions)
        if rules:
            actions = node.add(Step("actions"))
            for rule in rules:
                actions.add(self.action(rule, card, row))
        return node

    # ---- indicators
    def entry(self, card: nodes.Scorecard, entry: nodes.Entry, scored: pd.Series) -> Step:
        indicator = self.steps[entry.indicator]
        value = self.value(entry.indicator)
        node = Step(
            f"indicator {entry.indicator} = {_in_unit(value, indicator.unit_name, self.currency)}",
            value,
            _at(indicator),
            detail={
                "formula": indicator.text,
                "label": indicator.label,
                "supports": ", ".join(indicator.supports) or "no goal",
            },
        )
        node.add(self.formula(indicator, value))
        node.add(self.score(entry, value, float(scored["score"])))
        weight = float(scored["weight"])
        effective = float(scored["effective_weight"])
        contribution = float(scored["contribution"])
        detail = {"weight": weight, "effective_weight": effective}
        text = f"weight {_num(weight * 100)}%"
        if not math.isnan(effective) and not math.isclose(effective, weight):
            text += f", reweighted to {_num(effective * 100)}% (missing indicators)"
        node.add(
            Step(
                f"{text}: contribution {_num(float(scored['score']))} × "
                f"{_num(effective)} = {_num(contribution)}",
                contribution,
                _at(entry),
                detail,
            )
        )
        return node

    def formula(self, indicator: nodes.IndicatorStep, expected: float) -> Step:
        """The formula's inputs for this subject and period, and its recomputation."""
        node = Step(f"formula: {indicator.text}", at=_at(indicator))
        values: dict[int, float] = {}
        for sub in x.walk(indicator.formula):
            if isinstance(sub, x.Aggregate):
                step, values[id(sub)] = self.aggregate(sub)
                node.add(step)
            elif isinstance(sub, x.Indicator | x.Previous):
                name = sub.name if isinstance(sub, x.Indicator) else sub.indicator
                node.add(
                    Step(
                        f"indicator {name} = {_num(self.value(name))}",
                        self.value(name),
                        _at(self.steps[name]),
                    )
                )
            elif isinstance(sub, x.RosterColumn):
                shown = self.person[sub.column]
                node.add(Step(f"{sub.label} = {shown}", shown))
        recomputed = _Scalar(self, values).compute(indicator.formula)
        if isinstance(recomputed, float):
            recomputed = round(recomputed / indicator.scale, 9)
        node.value = recomputed
        node.title += f" = {_num(recomputed)}"
        node.detail["recomputes"] = _same(recomputed, expected)
        return node

    def aggregate(self, agg: x.Aggregate) -> tuple[Step, float]:
        """The rows of this subject an aggregate reads, and their reduction."""
        evaluator = self.evaluator
        source = agg.source
        spec = self.plan.source(source)
        frame = evaluator.rows(source)
        if spec.subject:
            frame = frame[frame[spec.subject] == self.subject]
        if spec.time:
            periods = frame["_period"]
            frame = frame[(periods <= self.ordinal) & (periods > self.ordinal - agg.window)]
        read = len(frame)
        if agg.where is not None:
            mask = _holds(evaluator.row(agg.where, frame, source))
            frame = (
                frame[mask.to_numpy()]
                if isinstance(mask, pd.Series)
                else (frame if mask else frame.iloc[:0])
            )
        values = (
            pd.Series(1.0, index=frame.index)
            if agg.argument is None
            else pd.Series(evaluator.row(agg.argument, frame, source), index=frame.index)
        )
        value = _reduce(agg, values, read)
        # Durations are minutes inside the engine; show them in the column's own unit.
        dim = agg.unit
        per = minutes_per(dim)
        unit = f" {dim.unit}" if dim.kind == "duration" else ""
        shown = value if isinstance(value, pd.Timestamp) else value / per
        rows = frame["_row"].tolist()
        detail = {
            "source": source,
            "file": self.files.get(source),
            "rows_read": read,
            "rows_used": len(frame),
            "rows": rows[:MAX_ROWS_SHOWN],
            "values": [
                _plain(v / per if isinstance(v, float) else v)
                for v in values.tolist()[:MAX_ROWS_SHOWN]
            ],
            "value": shown,
        }
        if agg.where_text is not None:
            detail["filter"] = agg.where_text
        if agg.window > 1:
            first = self.calendar.label(self.ordinal - agg.window + 1)
            detail["window"] = f"{first} to {self.period}"
        title = (
            f"{agg.text} = {_num(shown)}{unit}  ({len(frame)} of {read} rows of "
            f"{source}{', rows ' + _rows(rows) if rows else ''})"
        )
        return Step(title, shown, detail=detail), value

    def score(self, entry: nodes.Entry, value: float, expected: float) -> Step:
        scoring = entry.scoring
        rule = entry.missing
        if math.isnan(value):
            note = "missing: " + (
                f"scored {_num(rule.score)}"
                if rule.action == nodes.WhenMissing.SCORE
                else "handled by the scorecard's missing-data rule"
            )
            return Step(f"score {_num(expected)} ({note})", expected, _at(entry), {"missing": True})
        if isinstance(scoring, nodes.Curve):
            score, text, detail = _curve_arithmetic(value, scoring)
        elif isinstance(scoring, nodes.Bands):
            band = next(
                (b for b in scoring.bands if rules.in_band(b.kind, b.low, b.high, value)), None
            )
            score = band.constant if band else math.nan
            text = f"band {band.kind} → {_num(score)}" if band else "no band matches"
            detail = {
                "band": str(band.kind) if band else None,
                "at_band": _at(band) if band else None,
            }
            if band is None and rule.action == nodes.WhenMissing.SCORE:
                score = rule.score
                text = f"no band matches: missing, scored {_num(rule.score)}"
        else:
            score, text, detail = value, "the value is the score", {}
        if entry.floor is not None and score < entry.floor:
            score, text = entry.floor, text + f", raised to the floor {_num(entry.floor)}"
        if entry.cap is not None and score > entry.cap:
            score, text = entry.cap, text + f", capped at {_num(entry.cap)}"
        detail["recomputes"] = _same(score, expected)
        return Step(f"score {_num(score)}: {text}", score, _at(entry), detail)

    # ---- totals, ratings, payouts, actions
    def total(self, card: nodes.Scorecard, mine: pd.DataFrame, row) -> Step:
        parts = mine["contribution"].dropna()
        weighted = float(parts.sum()) if len(parts) else math.nan
        node = Step(
            f"weighted total {' + '.join(_num(v) for v in parts)} = {_num(weighted)}",
            weighted,
            _at(card),
            {"missing_rule": str(card.missing.action)},
        )
        env = {"score": weighted}
        for gate in card.gates:
            holds = _Scalar(self, {}, env, card).truth(gate.condition.expr)
            effect = (
                "none"
                if holds
                else (
                    f"cap at {_num(gate.value)}"
                    if gate.effect == nodes.GateEffect.CAP
                    else f"score {_num(gate.value)}"
                )
            )
            values = _Scalar(self, {}, env, card).names(gate.condition.expr)
            node.add(
                Step(
                    f"gate {gate.condition.text}: "
                    f"{'holds' if holds else 'fails → ' + effect} ({_shown(values)})",
                    holds,
                    _at(gate),
                    {"values": values},
                )
            )
        for bound, what in ((card.floor, "floor"), (card.cap, "cap")):
            if bound is not None:
                node.add(Step(f"score {what} {_num(bound)}", bound, _at(card)))
        node.detail["final_total"] = row.total
        node.detail["recomputes"] = bool(
            card.gates or card.floor is not None or card.cap is not None
        ) or _same(weighted, row.total)
        return node

    def rating(self, rating: nodes.Rating, total: float, label: str | None) -> Step:
        node = Step(f"rating {label or '—'}", label, _at(rating))
        for level in rating.levels:
            if level.condition is None:
                node.add(Step(f'"{level.label}" otherwise', level.label == label, _at(level)))
                break
            holds = _Scalar(self, {}, {"score": total}).truth(level.condition.expr)
            node.add(
                Step(
                    f'"{level.label}" when {level.condition.text}: '
                    f"{'matches' if holds else 'no'} (score {_num(total)})",
                    holds,
                    _at(level),
                )
            )
            if holds:
                break
        return node

    def payout(self, payout: nodes.Payout, card: nodes.Scorecard, row) -> Step:
        pays = self.results.payouts
        paid = pays[
            (pays["subject"] == self.subject)
            & (pays["period"] == self.period)
            & (pays["incentive"] == payout.incentive)
        ]
        amount = float(paid["amount"].iloc[0]) if len(paid) else math.nan
        node = Step(f"incentive {payout.incentive}: pays {_num(amount)}", amount, _at(payout))
        env = {"score": row.total, "rating": row.rating}
        scalar = _Scalar(self, {}, env, card)
        for gate in payout.gates:
            holds = scalar.truth(gate.condition.expr)
            node.add(
                Step(
                    f"gate {gate.condition.text}: {'holds' if holds else 'fails → no payout'}",
                    holds,
                    _at(gate),
                    {"values": scalar.names(gate.condition.expr)},
                )
            )
        if payout.pay is not None:
            pay = payout.pay.expr
            raw = scalar.compute(pay)
            node.add(
                Step(
                    f"pay {payout.pay.text} = {_full(raw)}",
                    raw,
                    detail={
                        "values": scalar.names(pay),
                        "inputs": _shown(scalar.names(pay), _full),
                    },
                )
            )
        if len(paid):
            first = paid.iloc[0]
            node.add(
                Step(
                    f"before limits {_full(float(first['amount_before_limits']))}"
                    + (", capped" if first["capped"] else ""),
                    float(first["amount_before_limits"]),
                )
            )
            factor = float(first["prorate_factor"])
            if payout.prorate:
                node.add(Step(f"prorated by days employed × {_num(factor)}", factor))
            node.add(Step(f"rounded {payout.rounding} to {payout.step}: {_num(amount)}", amount))
        return node

    def action(self, rule: nodes.Action, card: nodes.Scorecard, row) -> Step:
        acts = self.results.actions
        fired = bool(
            (
                (acts["subject"] == self.subject)
                & (acts["period"] == self.period)
                & (acts["rule"] == f"{rule.span.file}:{rule.span.line}")
            ).any()
        )
        env = {"score": row.total, "rating": row.rating}
        scalar = _Scalar(self, {}, env, card)
        condition = rule.condition.text
        holds = scalar.truth(rule.condition.expr)
        title = f'{rule.kind} "{rule.title}": ' + ("fired" if fired else "not fired")
        detail = {
            "origin": rule.origin,
            "condition": condition,
            "holds_now": holds,
            "values": scalar.names(rule.condition.expr),
        }
        if rule.periods > 1:
            detail["for_periods"] = rule.periods
        if fired:
            detail["because"] = f"{condition}: {_shown(detail['values'])}"
        else:
            detail["why_not"] = (
                f"{condition} held, but not for {rule.periods} periods in a row"
                if holds
                else f"{condition} does not hold: " + _shown(detail["values"])
            )
        return Step(title, fired, _at(rule), detail)

    def goals(self, department: str | None) -> Step:
        node = Step("goals")
        goals = self.results.goals
        if goals is None or goals.empty:
            return node
        now = goals[goals["period"] == self.period]
        for row in now.itertuples(index=False):
            if row.owner_level != "company" and row.owner != department:
                continue
            goal = next(g for g in self.plan.goals if g.name == row.goal)
            met = "met" if row.met else "not met"
            node.add(
                Step(
                    f"goal {row.goal} ({row.owner_level} {row.owner}): {row.indicator} "
                    f"{_num(row.value)} {row.op} {_num(row.target)}, {met}, attainment "
                    f"{_num(row.attainment)}",
                    row.attainment,
                    _at(goal),
                    {"supports": list(goal.supports)},
                )
            )
        return node


# ------------------------------------------------------------------ arithmetic


def _shown(values: dict[str, Any], show=None) -> str:
    show = show or _num
    return ", ".join(f"{k} = {show(v) if isinstance(v, float) else v}" for k, v in values.items())


def _full(value: float) -> str:
    """A number at the precision the engine computes with (15 significant digits), so
    that a payout's arithmetic recomputes by hand under the exactness rule."""
    if _missing(value):
        return "missing"
    return f"{value:,.15g}" if isinstance(value, float) else str(value)


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:12])
    return shown + (", …" if len(rows) > 12 else "")


def _same(a: float, b: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _reduce(agg: x.Aggregate, values: pd.Series, read: int) -> float:
    """The aggregate of the rows shown — the same rules as the engine (see aggregate())."""
    func = agg.func
    present = values.dropna()
    if read == 0 or present.empty:  # `values` holds the rows that passed the filter
        return rules.aggregate_of_nothing(func, read > 0, len(values) > 0)
    if func == x.Reduce.COUNT:
        return float(len(present))
    if func == x.Reduce.COUNT_DISTINCT:
        return float(present.nunique())
    if func == x.Reduce.SUM:
        return float(present.sum())
    if func == x.Reduce.PERCENTILE:
        return float(present.quantile(agg.quantile))
    reduced = getattr(
        present, {"mean": "mean", "min": "min", "max": "max", "median": "median"}[func]
    )()
    return reduced if isinstance(reduced, pd.Timestamp) else float(reduced)


def _curve_arithmetic(value: float, curve: nodes.Curve):
    xs, ys, better = curve.xs, curve.ys, curve.better
    sign = -1 if better == "lower" else 1
    v = value * sign
    xs_signed = [x * sign for x in xs]
    detail = {
        "points": [{"kind": str(p.kind), "value": p.value, "score": p.score} for p in curve.points]
    }
    if rules.before_first_point(value, xs, better):
        detail["segment"] = "before the first point"
        return (
            curve.otherwise,
            f"worse than the first point ({_num(xs[0])}): otherwise {_num(curve.otherwise)}",
            detail,
        )
    for i in range(len(xs) - 1):
        a, b = xs_signed[i], xs_signed[i + 1]
        if rules.exact(a) <= rules.exact(v) <= rules.exact(b):
            score = rules.curve_score(value, xs, ys, curve.otherwise, better)
            detail["segment"] = f"{curve.points[i].kind} to {curve.points[i + 1].kind}"
            text = (
                f"between {curve.points[i].kind} {_num(xs[i])} → {_num(ys[i])} and "
                f"{curve.points[i + 1].kind} {_num(xs[i + 1])} → {_num(ys[i + 1])}: "
                f"{_num(ys[i])} + ({_num(value)} − {_num(xs[i])}) / ({_num(xs[i + 1])} − "
                f"{_num(xs[i])}) × ({_num(ys[i + 1])} − {_num(ys[i])}) = {_num(score)}"
            )
            return score, text, detail
    detail["segment"] = "beyond the last point"
    return (
        ys[-1],
        f"beyond the last point ({curve.points[-1].kind} {_num(xs[-1])}): {_num(ys[-1])}",
        detail,
    )


class _Scalar:
    """Plain-Python evaluation of a lowered expression for the one subject and period."""

    def __init__(
        self,
        tracer: _Tracer,
        aggregates: dict[int, float],
        env: dict | None = None,
        card: nodes.Scorecard | None = None,
    ):
        self.t = tracer
        self.aggregates = aggregates
        self.env = env or {}
        self.card = card
        self.seen: dict[str, Any] = {}

    def truth(self, e: x.Expr) -> bool:
        value = self.compute(e)
        return value is True

    def names(self, e: x.Expr) -> dict[str, Any]:
        self.seen = {}
        self.compute(e)
        return dict(self.seen)

    def compute(self, e: x.Expr) -> Any:
        t = self.t
        if isinstance(e, x.Const):
            if e.label is not None:  # a benchmark, shown in its own unit
                self.seen[e.label] = e.value / minutes_per(e.unit)
            if isinstance(e.value, date):
                return pd.Timestamp(e.value)
            return math.nan if e.value is None else e.value
        if isinstance(e, x.Env):
            value = self.env[e.name]
            self.seen[e.name] = value
            return value
        if isinstance(e, x.Indicator):
            value = t.value(e.name) * e.scale
            self.seen[e.name] = value / e.scale
            return value
        if isinstance(e, x.RosterColumn):
            value = t.person[e.column]
            self.seen[e.label] = value
            if pd.isna(value):
                return math.nan if e.unit.numeric else None
            return float(value) * e.scale if e.unit.numeric else value
        if isinstance(e, x.Aggregate):
            return self.aggregates[id(e)]
        if isinstance(e, x.Previous):
            value = t.value(e.indicator, t.calendar.label(t.ordinal - e.lag))
            self.seen[f"previous({e.indicator})"] = value
            return value * e.scale
        if isinstance(e, x.Trend):
            return self._trend(e)
        if isinstance(e, x.LevelTest):
            return self._level(e)
        if isinstance(e, x.Negate):
            return -self.compute(e.operand)
        if isinstance(e, x.Not):
            return rules.not3(self.compute(e.operand))
        if isinstance(e, x.In):
            item = self.compute(e.item)
            return None if item is None else item in [self.compute(i) for i in e.options]
        if isinstance(e, x.If):
            return (
                self.compute(e.then)
                if self.compute(e.condition) is True
                else self.compute(e.otherwise)
            )
        if isinstance(e, x.Call):
            return self._call(e)
        if isinstance(e, x.Binary):
            return self._binary(e)
        raise ValueError(f"cannot trace {type(e).__name__}")

    def _binary(self, e: x.Binary) -> Any:
        if e.op in (x.Op.AND, x.Op.OR):
            left, right = self.compute(e.left), self.compute(e.right)
            return rules.and3(left, right) if e.op == x.Op.AND else rules.or3(left, right)
        left, right = self.compute(e.left), self.compute(e.right)
        if e.op in x.COMPARISON_OPS:
            return rules.compare_scalar(e.op, left, right)
        if _missing(left) or _missing(right):
            return math.nan
        if e.op == x.Op.DIV:
            return left / right if right else math.nan
        if e.op == x.Op.SUB and isinstance(left, pd.Timestamp) and isinstance(right, pd.Timestamp):
            return (left - right) / pd.Timedelta(minutes=1)  # as the engine: minutes
        return x.ARITHMETIC[e.op](left, right)

    def _trend(self, e: x.Trend) -> bool:
        t, n = self.t, e.periods
        series = [t.value(e.indicator, t.calendar.label(t.ordinal - k)) for k in range(n, -1, -1)]
        self.seen[f"{e.indicator} over the last {n + 1} periods"] = ", ".join(map(_num, series))
        sign = -1 if e.lower_is_better else 1
        changes = [sign * (b - a) for a, b in itertools.pairwise(series)]
        if any(math.isnan(c) for c in changes):
            return False
        return all(c < 0 for c in changes) if e.worsening else all(c > 0 for c in changes)

    def _call(self, e: x.Call) -> Any:
        args = [self.compute(a) for a in e.args]
        if e.func == x.Func.ABS:
            return abs(args[0])
        if e.func == x.Func.ROUND:
            return round(args[0], int(args[1]) if len(args) > 1 else 0)
        if e.func == x.Func.COALESCE:
            return next((a for a in args if not _missing(a)), math.nan)
        if any(_missing(a) for a in args):
            return math.nan
        return min(args) if e.func == x.Func.MIN else max(args)

    def _level(self, e: x.LevelTest) -> Any:
        name = e.indicator
        value = self.t.value(name)
        self.seen[name] = value
        entry = (
            next((y for y in self.card.entries if y.indicator == name), None) if self.card else None
        )
        curve = entry.scoring if entry and isinstance(entry.scoring, nodes.Curve) else None
        points = [p.value for p in curve.points if p.kind == e.level] if curve else []
        if _missing(value) or not points:
            return None
        better = curve.better
        self.seen[f"{name} {e.level}"] = points[0] if len(points) == 1 else points
        target = next((p.value for p in curve.points if p.kind == "target"), points[0])
        reaches = rules.reaches(value, points, target, better)
        return reaches if e.reaches else not reaches


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# ------------------------------------------------------------------ rendering


def render_text(step: Step) -> str:
    lines: list[str] = []

    def walk(node: Step, prefix: str, last: bool, top: bool) -> None:
        mark = "" if top else ("└─ " if last else "├─ ")
        at = f"  [{node.at}]" if node.at else ""
        lines.append(prefix + mark + node.title + at)
        extra = prefix + ("" if top else ("   " if last else "│  "))
        for key in SHOWN_DETAILS:
            if key in node.detail:
                lines.append(extra + f"   {key.replace('_', ' ')}: {node.detail[key]}")
        if node.detail.get("recomputes") is False:
            lines.append(extra + "   ! does not recompute to the engine's result")
        for i, child in enumerate(node.children):
            walk(child, extra, i == len(node.children) - 1, False)

    walk(step, "", True, True)
    return "\n".join(lines) + "\n"


def render_markdown(step: Step) -> str:
    lines = [f"# {step.title}", ""]

    def walk(node: Step, depth: int) -> None:
        at = f" — `{node.at}`" if node.at else ""
        lines.append("  " * depth + f"- {node.title}{at}")
        for key in SHOWN_DETAILS:
            if key in node.detail:
                lines.append(
                    "  " * (depth + 1) + f"- *{key.replace('_', ' ')}*: {node.detail[key]}"
                )
        for child in node.children:
            walk(child, depth + 1)

    for child in step.children:
        walk(child, 0)
    return "\n".join(lines) + "\n"
