"""Gates, payouts and actions for one scorecard's members, vectorised over the grid."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from kpirules import rules
from kpirules.engine.expressions import Evaluator, _holds
from kpirules.engine.scoring import band_masks
from kpirules.plan import expr as x
from kpirules.plan import nodes


def level_tester(card: nodes.Scorecard, evaluator: Evaluator):
    """`x misses threshold` / `x reaches target` against this scorecard's curve points,
    in the indicator's direction (`rules.reaches`). A missing value neither misses nor
    reaches."""
    points: dict[str, dict[str, list[float]]] = {}
    better: dict[str, str] = {}
    for entry in card.entries:
        if isinstance(entry.scoring, nodes.Curve):
            by_kind = points.setdefault(entry.indicator, {})
            better[entry.indicator] = entry.scoring.better
            for point in entry.scoring.points:
                by_kind.setdefault(point.kind, []).append(point.value)

    def test(level_test: x.LevelTest) -> pd.Series:
        name = level_test.indicator
        value = evaluator.values[name]
        levels = points[name][level_test.level]
        target = points[name].get("target", levels)[0]
        reached = rules.reaches(value.to_numpy(dtype="float64"), levels, target, better[name])
        result = reached if level_test.reaches else ~reached
        return pd.Series(result, index=value.index).astype("boolean").mask(value.isna(), pd.NA)

    return test


def held_for(condition: pd.Series, periods: int) -> pd.Series:
    """True where the condition held in this period and the periods-1 before it."""
    held = condition.copy()
    by_key = condition.groupby(level="key", sort=False)
    for k in range(1, periods):
        held &= by_key.shift(k, fill_value=False).astype(bool)
    return held


def round_money(amounts: pd.Series, mode: str, step: Decimal) -> pd.Series:
    """Round to the declared step (the rule itself: `rules.round_money`)."""
    return pd.Series(
        rules.round_money(amounts.to_numpy(dtype="float64"), mode, step), index=amounts.index
    )


def employment_factor(
    evaluator: Evaluator, roster: nodes.Roster, calendar, index: pd.MultiIndex
) -> pd.Series:
    """Share of each period's days the person was employed (both ends count)."""
    periods = pd.Series(index.get_level_values("period"), index=index)
    distinct = sorted(set(periods))
    period_start = periods.map({p: pd.Timestamp(calendar.start(int(p))) for p in distinct})
    period_end = periods.map({p: pd.Timestamp(calendar.end(int(p))) for p in distinct})
    first, last = period_start.to_numpy("datetime64[ns]"), period_end.to_numpy("datetime64[ns]")
    if roster.start:  # a missing start date: employed from the period's start
        hired = pd.to_datetime(evaluator.roster_column(roster.start)).to_numpy()
        first = np.where(np.isnat(hired), first, np.maximum(first, hired))
    if roster.end:  # a missing end date: still employed
        left = pd.to_datetime(evaluator.roster_column(roster.end)).to_numpy()
        last = np.where(np.isnat(left), last, np.minimum(last, left))
    one_day = np.timedelta64(1, "D")
    employed = np.clip((last - first) // one_day + 1, 0, None).astype("float64")
    starts = period_start.to_numpy("datetime64[ns]")
    total = ((period_end.to_numpy("datetime64[ns]") - starts) // one_day + 1).astype("float64")
    return pd.Series(employed / total, index=index)


def payouts(
    payout: nodes.Payout,
    evaluator: Evaluator,
    env: dict,
    members: pd.Series,
    calendar,
) -> pd.DataFrame:
    index = evaluator.level.index
    evaluator.where = f"incentive {payout.incentive}"  # a note (division by zero) names it
    gate_ok = pd.Series(True, index=index)
    for gate in payout.gates:
        gate_ok &= _holds(evaluator.grid(gate.condition.expr, env))
    if payout.tiers is not None:
        basis = evaluator.grid(payout.tier_basis.expr, env)
        masks = band_masks(_series(basis, index), payout.tiers)
        outputs = [
            _series(evaluator.grid(b.output.expr, env), index).to_numpy() for b in payout.tiers
        ]
        raw = pd.Series(np.select(masks, outputs, default=np.nan), index=index)
    else:
        raw = _series(evaluator.grid(payout.pay.expr, env), index).astype("float64")
    amount = raw
    capped = pd.Series(False, index=index)
    if payout.floor is not None:
        amount = np.maximum(amount, _series(evaluator.grid(payout.floor.expr, env), index))
    if payout.cap is not None:
        cap = _series(evaluator.grid(payout.cap.expr, env), index)
        over = rules.compare_numbers(">", amount.to_numpy(dtype="float64"), cap.to_numpy())
        capped = pd.Series(over, index=index)  # a comparison: under the exactness rule
        amount = amount.where(~capped, cap)
    amount = amount.where(gate_ok, 0.0)  # a closed gate pays nothing, whatever the floor
    capped &= gate_ok
    factor = pd.Series(1.0, index=index)
    if payout.prorate == nodes.Prorate.DAYS_EMPLOYED:
        factor = employment_factor(evaluator, evaluator.roster, calendar, index)
        amount = amount * factor
    final = round_money(amount, payout.rounding, payout.step)
    frame = pd.DataFrame(
        {
            "gate_passed": gate_ok,
            "amount_before_limits": raw,
            "capped": capped,
            "prorate_factor": factor,
            "amount": final,
        },
        index=index,
    )
    return frame[members.reindex(index, fill_value=False).to_numpy()]


def fire_actions(
    actions: tuple[nodes.Action, ...],
    card: nodes.Scorecard,
    evaluator: Evaluator,
    env: dict,
    members: pd.Series,
    calendar,
) -> list[pd.DataFrame]:
    fired = []
    index = evaluator.level.index
    member_mask = members.reindex(index, fill_value=False).to_numpy()
    manager = None
    roster = evaluator.roster
    if roster is not None and roster.manager:
        manager = evaluator.roster_column(roster.manager)
    for rule in actions:
        evaluator.where = rule.origin  # a note (division by zero) names the rule's origin
        holds = _series(_holds(evaluator.grid(rule.condition.expr, env)), index).astype(bool)
        if rule.periods > 1:
            holds = held_for(holds, rule.periods)
        hit = holds.to_numpy() & member_mask
        if not hit.any():
            continue
        keys = index[hit]
        frame = pd.DataFrame(
            {
                "subject": keys.get_level_values("key"),
                "period": keys.get_level_values("period"),
            }
        )
        frame["scorecard"] = card.name
        frame["origin"] = rule.origin
        frame["kind"] = rule.kind
        frame["title"] = rule.title
        if rule.owner == "manager" and manager is not None:
            frame["owner"] = manager[hit].to_numpy()
        elif rule.owner == "employee":
            frame["owner"] = frame["subject"]
        else:
            frame["owner"] = rule.owner
        if rule.within_days is not None:
            ends = {p: pd.Timestamp(calendar.end(int(p))) for p in frame["period"].unique()}
            due = frame["period"].map(ends) + pd.Timedelta(days=rule.within_days)
            frame["due"] = due.dt.strftime("%Y-%m-%d")
        else:
            frame["due"] = None
        frame["reason"] = rule.condition.text + (
            f" for {rule.periods} periods" if rule.periods > 1 else ""
        )
        frame["rule"] = f"{rule.span.file}:{rule.span.line}"
        fired.append(frame)
    return fired


def _series(value, index: pd.MultiIndex) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    return pd.Series(value, index=index)
