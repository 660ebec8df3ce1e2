"""Goal attainment: each goal's indicator evaluated at its owner's level (a department,
the company) with the same formulas, compared with the goal's target; objectives average
the attainment of the goals under them."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpirules.engine.expressions import Evaluator, Level, Notes, _compare
from kpirules.engine.slices import rows_of
from kpirules.periods import Calendar
from kpirules.plan import Plan


def goal_attainment(
    plan: Plan,
    frames: dict[str, pd.DataFrame],
    calendar: Calendar,
    periods: list[int],
    notes: Notes,
    compute,
    shared: dict | None = None,
    owners: dict[str, pd.DataFrame] | None = None,
    make=Evaluator,
) -> pd.DataFrame:
    """The plan's goals, each indicator computed at its owner's level. With `owners` (the
    frames of some subjects), only the goals of the groups those subjects belong to, each
    from all of its group's rows. `make` builds the runner's evaluator for a level."""
    roster = plan.roster
    rows = []
    levels: dict[str, Evaluator] = {}
    for goal in plan.goals:
        if roster is None:
            continue
        level_name = goal.level
        column = goal.column
        asked = owners is None or level_name == "company"
        if not asked and goal.owner not in set(owners[roster.name][column]):
            continue  # a group none of the subjects asked about is in
        if level_name not in levels:
            subjects = frames[roster.name][roster.key]
            if level_name == "company":
                keys = pd.Series("company", index=subjects.to_numpy())
            else:
                keys = pd.Series(frames[roster.name][column].to_numpy(), index=subjects.to_numpy())
            level_frames, level_shared = frames, shared
            if owners is not None and level_name != "company":
                # only the groups asked about, from their members' rows
                keys = keys[keys.isin(owners[roster.name][column].dropna().unique())]
                if not make.keeps_members_only:  # pandas: cut the members' rows first
                    level_frames, level_shared = rows_of(plan, frames, set(keys.index)), {}
            level = Level(level_name, keys, periods)
            evaluator = make(plan, level_frames, calendar, level, notes, level_shared)
            needed = {name for g in plan.goals if g.level == level_name for name in g.needs}
            # the goals' indicators at this level, dependencies first
            compute(evaluator, [s for s in plan.steps if s.name in needed], plan.by_period)
            levels[level_name] = evaluator
        evaluator = levels[level_name]
        values = evaluator.values[goal.indicator]
        owner = goal.owner
        if owner not in values.index.get_level_values("key"):
            notes.add(f"goal {goal.name}", f"no one in {level_name} {owner!r}", 1)
            continue
        series = values.xs(owner, level="key")
        goal_value = goal.target
        met = _compare(goal.op, series, goal_value)
        # Attainment follows the target's own direction: value / target for "at least",
        # target / value for "at most", closeness for "exactly".
        if goal.op in ("<", "<="):
            attainment = goal_value / series.where(series != 0)
        elif goal.op in ("==", "!="):
            attainment = 1 - (series - goal_value).abs() / abs(goal_value or 1)
        else:
            attainment = series / goal_value if goal_value else series.where(series < 0, 1.0)
        deadline = _deadline(goal.deadline, calendar)
        for period, value in series.items():
            rows.append(
                {
                    "goal": goal.name,
                    "period": int(period),
                    "owner_level": level_name,
                    "owner": owner,
                    "indicator": goal.indicator,
                    "value": value,
                    "op": str(goal.op),
                    "target": goal_value,
                    "met": None if pd.isna(met[period]) else bool(met[period]),
                    "attainment": attainment[period],
                    "deadline": goal.deadline,
                    # the deadline has come: a flag, unlike an action's `due` date
                    "deadline_reached": deadline is not None and int(period) >= deadline,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "goal",
            "period",
            "owner_level",
            "owner",
            "indicator",
            "value",
            "op",
            "target",
            "met",
            "attainment",
            "deadline",
            "deadline_reached",
        ],
    )


def _deadline(text: str | None, calendar: Calendar) -> int | None:
    """The period a goal is due in: a period label of the cadence, or a date."""
    if text is None:
        return None
    if len(text) == 10:  # YYYY-MM-DD
        return calendar.ordinal_of_date(date.fromisoformat(text))
    return calendar.parse(text)


def objective_attainment(plan: Plan, goals: pd.DataFrame) -> pd.DataFrame:
    """Mean attainment (each goal capped at 100%) of the goals that support an objective,
    directly or through other goals."""
    parents = dict(plan.goal_supports)

    def objectives_of(goal: str, seen: frozenset = frozenset()) -> set[str]:
        found = set()
        for parent in parents.get(goal, ()):
            if parent in plan.objectives:
                found.add(parent)
            elif parent in parents and parent not in seen:
                found |= objectives_of(parent, seen | {goal})
        return found

    rows = []
    if not goals.empty:
        for goal, frame in goals.groupby("goal", sort=True):
            for objective in sorted(objectives_of(goal)):
                rows.append(frame.assign(objective=objective))
    columns = ["objective", "period", "attainment", "goals"]
    if not rows:
        return pd.DataFrame(columns=columns)
    linked = pd.concat(rows)
    linked["capped"] = linked["attainment"].clip(upper=1.0)
    grouped = linked.groupby(["objective", "period"], sort=True)
    result = grouped.agg(attainment=("capped", "mean"), goals=("goal", "nunique")).reset_index()
    return result[columns]
