"""Evaluate a checked policy against data: indicator values, scores, totals, ratings,
payouts, actions and goal attainment, for every subject and period at once."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.engine.cascade import goal_attainment, objective_attainment
from kpirules.engine.expressions import Evaluator, Level, Notes, _holds
from kpirules.engine.outcomes import employment_factor, fire_actions, level_tester, payouts
from kpirules.engine.runner import Run, Runner
from kpirules.engine.scoring import apply_limits, entry_score, weighted_total
from kpirules.engine.slices import rows_of
from kpirules.periods import Calendar, calendar_of
from kpirules.plan import IndicatorStep, Plan, build, nodes
from kpirules.plan.nodes import GateEffect
from kpirules.results import Results


class EvaluationError(Exception):
    """The evaluation cannot start (e.g. a period outside the policy's range)."""


def periods_of(
    plan: Plan,
    calendar: Calendar,
    frames: dict,
    period: str | None,
    history: bool = False,
):
    """All periods of the effective range (or of the data, if the policy has none), up to
    and including `period` when one is asked for. Returns (periods, reported periods):
    the asked-for period alone, or every period up to it with `history`."""
    if plan.effective is not None:
        first, last = plan.effective
    else:
        dates = [
            frames[s.name][s.time].dropna()
            for s in plan.sources
            if s.time and s.name in frames and len(frames[s.name])
        ]
        dates = pd.concat(dates) if dates else pd.Series(dtype="datetime64[ns]")
        if dates.empty:
            raise EvaluationError("the policy has no effective range and the data no dates")
        first, last = dates.min().date(), dates.max().date()
    periods = calendar.between(first, last)
    if period is None:
        return periods, periods
    wanted = calendar.parse(period)
    if wanted is None:
        raise EvaluationError(f"{period!r} is not a {calendar.cadence} period")
    if wanted not in periods:
        labels = f"{calendar.label(periods[0])} to {calendar.label(periods[-1])}"
        raise EvaluationError(f"period {period} is outside the policy's range ({labels})")
    evaluated = [p for p in periods if p <= wanted]
    return evaluated, evaluated if history else [wanted]


class _IndicatorRun:
    """One evaluation of an indicator's formula on the whole grid, in its own unit."""

    def __init__(self, evaluator: Evaluator, step: IndicatorStep):
        self.evaluator, self.step = evaluator, step

    def once(self) -> pd.Series:
        evaluator, step = self.evaluator, self.step
        evaluator.where = f"indicator {step.name}"
        value = evaluator.grid(step.formula)
        if not isinstance(value, pd.Series):
            value = pd.Series(value, index=evaluator.level.index, dtype="float64")
        value = value.astype("float64") / step.scale
        return value.replace([np.inf, -np.inf], np.nan)  # full precision: see rules.py


def compute_indicator(evaluator: Evaluator, step: IndicatorStep) -> None:
    """Evaluate one indicator on the evaluator's grid, in the indicator's own unit."""
    index = evaluator.level.index
    once = _IndicatorRun(evaluator, step).once

    if not step.lags_itself:
        evaluator.values[step.name] = once()
        return
    # previous(self): each period needs the one before, so go period by period.
    evaluator.values[step.name] = pd.Series(np.nan, index=index)
    periods = index.get_level_values("period")
    for period in evaluator.level.periods:
        current = once()
        evaluator.values[step.name] = evaluator.values[step.name].where(periods != period, current)


def compute_steps(evaluator: Evaluator, steps, by_period: bool = False) -> None:
    """Compute indicators in plan order; with `by_period` (indicators that read each
    other's earlier periods in a cycle) all of them one period at a time."""
    if not by_period:
        for step in steps:
            compute_indicator(evaluator, step)
        return
    index = evaluator.level.index
    periods = index.get_level_values("period")
    for step in steps:
        evaluator.values[step.name] = pd.Series(np.nan, index=index)
    for period in evaluator.level.periods:
        for step in steps:
            current = _IndicatorRun(evaluator, step).once()
            values = evaluator.values[step.name]
            evaluator.values[step.name] = values.where(periods != period, current)


def evaluate(
    policy: model.Policy,
    data,
    period: str | None = None,
    *,
    as_of: date | None = None,
    progress=None,
    history: bool = False,
    subjects: Collection[str] | None = None,
    goals: bool = True,
    rows: dict[str, pd.DataFrame] | None = None,
    runner: Runner | None = None,
) -> Results:
    """Evaluate `policy` (a checked model) against `data`: a binding file, a folder, a
    mapping of source name → DataFrame, or data already loaded with
    `kpirules.data.load_data`. With `period`, the periods before it are evaluated too
    (for trends) but only it is reported, or all of them with `history`.
    With `subjects`, only those people are evaluated — from their own rows, and the
    goals of the groups they belong to from those groups' rows — with the same results
    for them as a run over everyone (explain uses this for one person). Without
    `goals`, goal and objective attainment are left out (an indicator's explanation).
    `rows`: those subjects' rows already cut with `rows_of` (explain cuts them once).
    `progress(step, total)` is called as work is done. `runner`: what executes the plan
    (default: the one `use_runner` chose — DuckDB unless told otherwise)."""
    from kpirules.data import LoadedData, load_data

    calendar = calendar_of(policy)
    # Already-loaded data (from `kpirules.data.load_data`) is used as it is.
    loaded = data if isinstance(data, LoadedData) else load_data(policy, data, as_of=as_of)
    results = Results.empty(policy, loaded)
    if loaded.blocked:
        return results
    plan = build(policy)
    periods, reported = periods_of(plan, calendar, loaded.frames, period, history)
    results.periods = [calendar.label(p) for p in reported]
    if plan.roster is None:
        raise EvaluationError("the policy declares no roster to evaluate")
    run = (runner or default_runner()).run(
        plan,
        loaded.frames,
        calendar,
        periods,
        subjects=subjects,
        rows=rows,
        goals=goals,
        progress=progress,
    )
    results.fill(calendar=calendar, reported=reported, **vars(run))
    return results


RUNNERS = ("duckdb", "pandas", "spark")
_chosen = {"runner": "pandas"}  # the API's default; the CLI chooses DuckDB


def use_runner(name: str) -> None:
    """Choose the runner every evaluation uses from now on (`kpirules --engine`)."""
    if name not in RUNNERS:
        raise ValueError(f"no runner called {name!r}; runners: {', '.join(RUNNERS)}")
    _chosen["runner"] = name


def default_runner() -> Runner:
    if _chosen["runner"] == "pandas":
        return PandasRunner()
    if _chosen["runner"] == "spark":
        from kpirules.engine.spark import SparkRunner  # Spark starts only when it is used

        return SparkRunner()
    from kpirules.engine.sql import DuckDBRunner  # DuckDB loads only when it is used

    return DuckDBRunner()


class PandasRunner:
    """The reference runner: pandas, vectorised over every subject and period at once."""

    name = "pandas"
    evaluator = Evaluator  # evaluates the plan's expressions on a level's grid

    def run(
        self,
        plan: Plan,
        frames: Mapping[str, pd.DataFrame],
        calendar: Calendar,
        periods: list[int],
        *,
        subjects: Collection[str] | None = None,
        rows: Mapping[str, pd.DataFrame] | None = None,
        goals: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> Run:
        roster = plan.roster
        everyone = dict(frames)
        only = subjects is not None
        if only:
            frames = dict(rows) if rows is not None else rows_of(plan, everyone, set(subjects))
        else:
            frames = everyone
        keys = frames[roster.name][roster.key].to_numpy()
        level = Level("subject", pd.Series(keys, index=keys), periods)
        notes = Notes()
        evaluator = self.evaluator(plan, frames, calendar, level, notes)
        total_steps = len(plan.steps) + len(plan.scorecards) + 1
        if plan.by_period:
            compute_steps(evaluator, plan.steps, by_period=True)
        else:
            for done, step in enumerate(plan.steps, 1):
                compute_indicator(evaluator, step)
                if progress:
                    progress(done, total_steps)
        parts = _score_scorecards(plan, evaluator, calendar, progress, len(plan.steps), total_steps)
        attained = goal_attainment(
            plan if goals else replace(plan, goals=()),
            everyone,
            calendar,
            periods,
            notes,
            compute_steps,
            # subject positions are shared by levels over the same roster rows
            {} if only else evaluator.shared,
            # with `subjects`: the goals of the groups they are in, from those groups' rows
            owners=frames if only else None,
            make=self.evaluator,
        )
        if progress:
            progress(total_steps, total_steps)
        return Run(
            indicators=evaluator.values,
            notes=notes,
            goals=attained,
            objectives=objective_attainment(plan, attained),
            roster=frames[roster.name],
            **parts,
        )


def _score_scorecards(plan: Plan, evaluator, calendar, progress, offset, total_steps) -> dict:
    index = evaluator.level.index
    roster_frame = evaluator.frames[plan.roster.name]
    # Only people employed at some point of a period are evaluated in it: before their
    # start date or after their end date nobody scores, rates or plans for them.
    employed = employment_factor(evaluator, plan.roster, calendar, index).to_numpy() > 0
    scores, totals, pays, actions = [], [], [], []
    for number, card in enumerate(plan.scorecards, 1):
        members = _members(card, evaluator, roster_frame)
        member_rows = (
            members.reindex(index.get_level_values("key"), fill_value=False).to_numpy() & employed
        )
        by_indicator = {}
        for entry in card.entries:
            values = evaluator.values[entry.indicator]
            score, unmatched = entry_score(values, entry)
            evaluator.notes.add(
                f"scorecard {card.name}: {entry.indicator}",
                "value matched no band (score is missing)",
                unmatched,
            )
            by_indicator[entry.indicator] = score
        frame = pd.DataFrame(by_indicator, index=index)
        total, status, weights, frame = weighted_total(frame, card)
        tester = level_tester(card, evaluator)
        env = {"score": total, "level_test": tester}
        evaluator.where = f"scorecard {card.name}: gate"  # a note names the rule it is from
        for gate in card.gates:
            # A gate changes a total; it does not invent one where data was missing.
            failed = ~_holds(evaluator.grid(gate.condition.expr, env)) & total.notna()
            if gate.effect == GateEffect.CAP:
                total = total.where(~failed, np.minimum(total, gate.value))
            else:
                total = total.where(~failed, gate.value)
            status = status.where(~(failed & total.notna()), status + ", gate failed")
        total = apply_limits(total, card)
        evaluator.where = f"scorecard {card.name}: rating"
        rating = _rate(card.rating, total, evaluator)
        # Payouts and actions see only the periods a person is a member and employed:
        # a `for 2 periods` rule must not count a quarter before their start date.
        env = {
            "score": total.where(member_rows),
            "rating": rating.where(member_rows),
            "level_test": tester,
        }
        for entry in card.entries:
            scores.append(
                pd.DataFrame(
                    {
                        "scorecard": card.name,
                        "indicator": entry.indicator,
                        "value": evaluator.values[entry.indicator],
                        "score": frame[entry.indicator],
                        "weight": entry.weight,
                        "effective_weight": weights[entry.indicator],
                        "contribution": frame[entry.indicator] * weights[entry.indicator],
                    },
                    index=index,
                )[member_rows]
            )
        totals.append(
            pd.DataFrame(
                {"scorecard": card.name, "total": total, "rating": rating, "status": status},
                index=index,
            )[member_rows]
        )
        members_on_grid = pd.Series(member_rows, index=index)
        for payout in card.payouts:
            paid = payouts(payout, evaluator, env, members_on_grid, calendar)
            pays.append(paid.assign(incentive=payout.incentive, scorecard=card.name))
            actions += fire_actions(payout.actions, card, evaluator, env, members_on_grid, calendar)
        actions += fire_actions(card.actions, card, evaluator, env, members_on_grid, calendar)
        if progress:
            progress(offset + number, total_steps)
    return {"scores": scores, "totals": totals, "payouts": pays, "actions": actions}


def _members(card: nodes.Scorecard, evaluator: Evaluator, roster_frame: pd.DataFrame) -> pd.Series:
    """Who the scorecard applies to: subject id → bool."""
    keys = roster_frame[evaluator.roster.key].to_numpy()
    if card.members is None:
        return pd.Series(True, index=keys)
    evaluator.where = f"scorecard {card.name}: applies to"
    held = _holds(evaluator.row(card.members.expr, roster_frame, evaluator.roster.name))
    if not isinstance(held, pd.Series):
        return pd.Series(bool(held), index=keys)
    return pd.Series(held.to_numpy(), index=keys)


def _rate(rating: nodes.Rating | None, total: pd.Series, evaluator: Evaluator) -> pd.Series:
    if rating is None:
        return pd.Series(None, index=total.index, dtype=object)
    conditions, labels = [], []
    default = None
    for level in rating.levels:
        if level.condition is None:
            default = level.label
            continue
        held = _holds(evaluator.grid(level.condition.expr, {"score": total}))
        conditions.append(held.to_numpy())
        labels.append(level.label)
    chosen = (
        np.select(conditions, labels, default=default or "")
        if conditions
        else np.full(len(total), default or "", dtype=object)
    )
    result = pd.Series(chosen, index=total.index, dtype=object)
    result[(result == "") | total.isna()] = None
    return result
