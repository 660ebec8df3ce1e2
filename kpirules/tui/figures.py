"""The figures each screen shows, derived from `Results` with pandas (no Textual here).

Every function takes the whole evaluation and one period; periods are switched by
filtering these frames, never by evaluating again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.results import Results
from kpirules.tui.format import measure

PEOPLE_KEYS = ["subject", "period", "scorecard"]


# ------------------------------------------------------------------ people


def people(results: Results, period: str, names: pd.Series) -> pd.DataFrame:
    """One row per person and scorecard in `period`: who they are, total, rating,
    payout (summed over incentives), number of actions, and their manager's name."""
    totals = results.totals
    frame = totals[totals["period"] == period].copy()
    payouts = results.payouts
    if len(payouts):
        paid = payouts[payouts["period"] == period]
        paid = paid.groupby(PEOPLE_KEYS, sort=False)["amount"].sum().rename("payout")
        frame = frame.merge(paid, left_on=PEOPLE_KEYS, right_index=True, how="left")
    else:
        frame["payout"] = np.nan
    actions = results.actions
    if len(actions):
        fired = actions[actions["period"] == period]
        counted = fired.groupby(PEOPLE_KEYS, sort=False).size().rename("actions")
        frame = frame.merge(counted, left_on=PEOPLE_KEYS, right_index=True, how="left")
        frame["actions"] = frame["actions"].fillna(0).astype("int64")
    else:
        frame["actions"] = 0
    frame["manager_name"] = manager_names(names, frame["manager"])
    return frame.reset_index(drop=True)


def roster_names(policy: model.Policy, frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Roster key → display name, for everyone on the roster (evaluated or not)."""
    roster = policy.roster
    frame = frames[roster.name]
    display = roster.roles.get("display")
    names = frame[display] if display else frame[roster.key]
    return pd.Series(names.to_numpy(), index=frame[roster.key].to_numpy()).groupby(level=0).first()


def manager_names(names: pd.Series, managers: pd.Series) -> pd.Series:
    """Manager ids → "Name (id)", or the id alone when the manager is not on the roster."""
    named = managers.map(names)
    shown = named.astype("string") + " (" + managers.astype("string") + ")"
    return shown.fillna(managers.astype("string")).astype(object).where(managers.notna(), None)


# ------------------------------------------------------------------ overview


@dataclass
class Overview:
    period: str
    people: int  # distinct people evaluated in the period
    scorecards: int  # person-scorecard rows
    incomplete: int  # rows without a total (data missing)
    payout: float
    paid_people: int
    actions: dict[str, int]  # kind → count
    distribution: pd.DataFrame  # results.distribution() rows of the period


def overview(results: Results, period: str, distribution: pd.DataFrame) -> Overview:
    totals = results.totals[results.totals["period"] == period]
    payouts = results.payouts[results.payouts["period"] == period]
    actions = results.actions[results.actions["period"] == period]
    amounts = payouts["amount"].fillna(0)
    return Overview(
        period=period,
        people=int(totals["subject"].nunique()),
        scorecards=len(totals),
        incomplete=int(totals["total"].isna().sum()),
        payout=float(amounts.sum()),
        paid_people=int(payouts.loc[amounts > 0, "subject"].nunique()),
        actions={str(k): int(v) for k, v in actions["kind"].value_counts().sort_index().items()},
        distribution=distribution[distribution["period"] == period].reset_index(drop=True),
    )


# ------------------------------------------------------------------ actions


def action_queue(results: Results, period: str, names: pd.Series) -> pd.DataFrame:
    """The actions fired in `period`, with each person's name, department and manager."""
    actions = results.actions
    frame = actions[actions["period"] == period]
    who = results.totals[results.totals["period"] == period].drop_duplicates("subject")
    who = who.set_index("subject")[["name", "department", "manager"]]
    frame = frame.merge(who, left_on="subject", right_index=True, how="left")
    frame["manager_name"] = manager_names(names, frame["manager"])
    frame["owner"] = frame["owner"].fillna("—")
    frame["due"] = frame["due"].astype("string").fillna("—")
    return frame.reset_index(drop=True)


# ------------------------------------------------------------------ cascade


@dataclass
class CascadeNode:
    kind: str  # objective | goal | indicator | unlinked
    name: str
    label: str
    attainment: float | None = None  # a fraction: 1.0 is fully attained
    summary: str = ""
    children: list[CascadeNode] = field(default_factory=list)


def cascade(policy: model.Policy, results: Results, period: str) -> list[CascadeNode]:
    """Objectives → goals (→ sub-goals) → indicators, with attainment in `period`:
    objectives and goals as the engine rolled them up, indicators as the median score of
    the people measured on them."""
    goals = results.goals
    goals_now = goals[goals["period"] == period] if len(goals) else goals
    objectives = results.objectives
    objectives_now = objectives[objectives["period"] == period] if len(objectives) else objectives
    scores = results.scores[results.scores["period"] == period]
    median_score = scores.groupby("indicator")["score"].median()
    measured = scores.groupby("indicator")["subject"].nunique()

    goals_of: dict[str, list[model.Goal]] = {}
    for goal in policy.goals.values():
        for parent in goal.supports:
            goals_of.setdefault(parent, []).append(goal)
    indicators_of: dict[str, list[model.Indicator]] = {}
    for indicator in policy.indicators.values():
        for parent in indicator.supports:
            indicators_of.setdefault(parent, []).append(indicator)

    def indicator_node(indicator: model.Indicator) -> CascadeNode:
        median = median_score.get(indicator.name)
        count = int(measured.get(indicator.name, 0))
        summary = (
            f"median score {median:.1f} of {count} people"
            if count and not pd.isna(median)
            else "nobody measured in this period"
        )
        attainment = None if median is None or pd.isna(median) else float(median) / 100
        return CascadeNode(
            "indicator", indicator.name, indicator.label or indicator.name, attainment, summary
        )

    def goal_node(goal: model.Goal, seen: frozenset[str]) -> CascadeNode:
        rows = goals_now[goals_now["goal"] == goal.name] if len(goals_now) else goals_now
        attainment, summary = None, "no target"
        if len(rows):
            row = rows.iloc[0]
            attainment = None if pd.isna(row["attainment"]) else float(row["attainment"])
            met = "met" if row["met"] is True or row["met"] == 1 else "not met"
            owner = row["owner"] if isinstance(row["owner"], str) else row["owner_level"]
            unit = policy.indicators[row["indicator"]].unit
            summary = f"{owner}: {row['indicator']} {measure(row['value'], unit)} {row['op']} "
            summary += f"{measure(row['target'], unit)}, {met}"
        node = CascadeNode("goal", goal.name, goal.label or goal.name, attainment, summary)
        for child in goals_of.get(goal.name, []):
            if child.name not in seen:  # the checker forbids cycles; never loop anyway
                node.children.append(goal_node(child, seen | {child.name}))
        listed = {i.name for i in indicators_of.get(goal.name, [])}
        for indicator in indicators_of.get(goal.name, []):
            node.children.append(indicator_node(indicator))
        if goal.target and goal.target.indicator not in listed:
            node.children.append(indicator_node(policy.indicators[goal.target.indicator]))
        return node

    roots = []
    for objective in policy.objectives.values():
        rows = (
            objectives_now[objectives_now["objective"] == objective.name]
            if len(objectives_now)
            else objectives_now
        )
        attainment = float(rows["attainment"].iloc[0]) if len(rows) else None
        if attainment is not None and np.isnan(attainment):
            attainment = None
        summary = f"{int(rows['goals'].iloc[0])} goals" if len(rows) else "no goal measured"
        node = CascadeNode(
            "objective", objective.name, objective.label or objective.name, attainment, summary
        )
        for goal in goals_of.get(objective.name, []):
            node.children.append(goal_node(goal, frozenset({goal.name})))
        for indicator in indicators_of.get(objective.name, []):
            node.children.append(indicator_node(indicator))
        roots.append(node)
    linked = set(policy.goals) | set(policy.objectives)
    loose = [i for i in policy.indicators.values() if not set(i.supports) & linked]
    if loose:
        node = CascadeNode("unlinked", "", "Not linked to a goal")
        node.children = [indicator_node(i) for i in loose]
        roots.append(node)
    return roots


# ------------------------------------------------------------------ one indicator


@dataclass
class Spread:
    """How one indicator's values spread across the people measured on it."""

    indicator: str
    count: int
    missing: int
    quartiles: dict[str, float]  # min, q1, median, q3, max
    edges: np.ndarray  # histogram bin edges
    counts: np.ndarray  # people per bin
    median_score: float | None


def spread(results: Results, indicator: str, period: str, bins: int = 8) -> Spread:
    scores = results.scores
    rows = scores[(scores["period"] == period) & (scores["indicator"] == indicator)]
    rows = rows.drop_duplicates("subject")  # on two scorecards: one person, one value
    values = rows["value"].astype("float64").to_numpy()
    present = values[np.isfinite(values)]
    if len(present):
        points = np.percentile(present, [0, 25, 50, 75, 100])
        quartiles = dict(zip(("min", "q1", "median", "q3", "max"), map(float, points)))
        distinct = len(np.unique(present))
        counts, edges = np.histogram(present, bins=max(1, min(bins, distinct)))
    else:
        quartiles, counts, edges = {}, np.array([], dtype=int), np.array([])
    median_score = rows["score"].median()
    return Spread(
        indicator,
        len(present),
        len(values) - len(present),
        quartiles,
        edges,
        counts,
        None if pd.isna(median_score) else float(median_score),
    )
