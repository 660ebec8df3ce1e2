"""Root cause: the change of a total score between two periods, split into what each
indicator contributed (its score moving, its weight moving), what gates, caps and floors
changed and — for a group — who joined or left. The lines add up to the change exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpirules.analysis.scope import (
    AnalysisError,
    check_scope,
    in_scope,
    pick_base,
    pick_period,
    roster_columns,
)
from kpirules.results import Results

DECOMPOSITION_COLUMNS = [
    "scope",
    "subject",
    "department",
    "scorecard",
    "base",
    "period",
    "line",
    "indicator",
    "people",
    "base_value",
    "value",
    "base_score",
    "score",
    "base_weight",
    "weight",
    "score_effect",
    "weight_effect",
    "change",
    "base_total",
    "total",
    "note",
]
_FEW = 10_000  # matching this many names row by row is quicker than reshaping everyone
_LINE_ORDER = {"indicator": 0, "adjustments": 1, "composition": 2}


def decompose(
    results: Results,
    *,
    subject: str | None = None,
    department: str | None = None,
    period: str | None = None,
    base: str | None = None,
) -> pd.DataFrame:
    """Decompose the change of the total from `base` (default: the period before) to
    `period` (default: the latest) per scorecard, for one subject, the mean total of a
    department, or the mean total of everyone.

    Each indicator line: `score_effect` = w_base × (s − s_base), `weight_effect` =
    s × (w − w_base), `change` = their sum = w·s − w_base·s_base (a missing score takes
    the other period's score, so an indicator that appears or vanishes moves by weight
    only). The `adjustments` line is the change of (total − Σ w·s): gates, caps, floors.
    For a group every line is the mean over the people with a total in both periods, and
    the `composition` line is what joiners and leavers changed in the mean. The `change`
    column adds up to `total − base_total` for each scorecard.

    The results must hold both periods: evaluate with `history=True` (or no period).
    """
    period = pick_period(results, period)
    base = pick_base(results, period, base)
    check_scope(results, subject, department)
    totals = results.totals[results.totals["period"].isin([base, period])]
    totals = in_scope(totals, subject, department).dropna(subset=["total"])
    scope = "subject" if subject else "department" if department else "everyone"
    frames = []
    for card, members in totals.groupby("scorecard", sort=True):
        lines = _scorecard_lines(results, card, members, base, period)
        if lines is None:
            continue
        frames.append(lines)
    if not frames:
        who = subject or (f"department {department}" if department else "anyone")
        raise AnalysisError(f"{who} has no total in both {base} and {period}")
    frame = pd.concat(frames, ignore_index=True)
    if scope == "subject":
        frame = frame[frame["line"] != "composition"]
    frame = frame.assign(
        scope=scope,
        subject=subject,
        department=department if scope != "subject" else _department(results, subject),
        base=base,
        period=period,
    )
    frame["_order"] = frame["line"].map(_LINE_ORDER)
    frame = frame.sort_values(["scorecard", "_order", "indicator"], kind="stable")
    return frame[DECOMPOSITION_COLUMNS].reset_index(drop=True)


def _scorecard_lines(
    results: Results, card: str, members: pd.DataFrame, base: str, period: str
) -> pd.DataFrame | None:
    before = members[members["period"] == base].set_index("subject")["total"]
    after = members[members["period"] == period].set_index("subject")["total"]
    stayers = before.index.intersection(after.index).sort_values()
    if before.empty or after.empty:
        return None
    scores = results.scores
    rows = (scores["scorecard"] == card) & (
        (scores["period"] == base) | (scores["period"] == period)
    )
    if len(stayers) <= _FEW:  # a person or a department: keep their rows before reshaping
        rows &= scores["subject"].isin(stayers)
    scores = scores[rows]
    wide = scores.set_index(["subject", "indicator", "period"])[
        ["value", "score", "effective_weight"]
    ].unstack("period")
    # Only the people with a total in both periods; matched on the unique subjects and
    # taken by code, as string matching over every row is slow at 100,000 people.
    subjects = wide.index.levels[0]
    wide = wide[subjects.isin(stayers)[wide.index.codes[0]]]
    s_base, s_new = _column(wide, "score", base), _column(wide, "score", period)
    w_base = _column(wide, "effective_weight", base).fillna(0.0)
    w_new = _column(wide, "effective_weight", period).fillna(0.0)
    # A missing score takes the other period's: its weight is 0 there, so the product
    # is unchanged, and an indicator that appears or vanishes moves by weight only.
    s_base, s_new = s_base.fillna(s_new).fillna(0.0), s_new.fillna(s_base).fillna(0.0)
    per_person = pd.DataFrame(
        {
            "base_value": _column(wide, "value", base),
            "value": _column(wide, "value", period),
            "base_score": _column(wide, "score", base),
            "score": _column(wide, "score", period),
            "base_weight": w_base,
            "weight": w_new,
            "score_effect": w_base * (s_new - s_base),
            "weight_effect": s_new * (w_new - w_base),
            "base_product": w_base * s_base,
            "product": w_new * s_new,
        }
    )
    per_person["change"] = per_person["score_effect"] + per_person["weight_effect"]
    # What the weighted sum does not explain: gates, the card's cap and floor, rounding.
    weighted = per_person.groupby(level="subject")[["base_product", "product"]].sum()
    weighted = weighted.reindex(stayers, fill_value=0.0)
    adjust_base = before.reindex(stayers) - weighted["base_product"]
    adjust_new = after.reindex(stayers) - weighted["product"]
    count = len(stayers)
    indicator_lines = (
        per_person.drop(columns=["base_product", "product"])
        .groupby(level="indicator", sort=True)
        .mean()
        .reset_index()
        .assign(line="indicator", people=count)
    )
    statuses = _statuses(members, base, period)
    adjustments = {
        "line": "adjustments",
        "indicator": None,
        "people": count,
        "base_value": adjust_base.mean() if count else np.nan,
        "value": adjust_new.mean() if count else np.nan,
        "change": (adjust_new - adjust_base).mean() if count else 0.0,
        "note": statuses,
    }
    base_total, total = before.mean(), after.mean()
    stayed_change = (after.reindex(stayers) - before.reindex(stayers)).mean() if count else 0.0
    joined, left = (
        len(after.index.difference(before.index)),
        len(before.index.difference(after.index)),
    )
    composition = {
        "line": "composition",
        "indicator": None,
        "people": joined + left,
        "change": (total - base_total) - stayed_change,
        "note": f"{joined} joined, {left} left; {count} in both periods",
    }
    lines = pd.concat(
        [indicator_lines, pd.DataFrame([adjustments, composition])], ignore_index=True
    )
    if not count:  # nobody in both periods: the whole change is composition
        lines = lines[lines["line"] == "composition"]
    return lines.assign(scorecard=card, base_total=base_total, total=total)


def _column(wide: pd.DataFrame, measure: str, period: str) -> pd.Series:
    if (measure, period) in wide.columns:
        return wide[(measure, period)].astype("float64")
    return pd.Series(np.nan, index=wide.index)


def _statuses(members: pd.DataFrame, base: str, period: str) -> str:
    """How many of the people in both periods had a gate fail, in base → period."""
    in_both = members.groupby("subject")["period"].transform("nunique") == 2
    mine = members[in_both.to_numpy()]
    failed = mine["status"].astype(str).str.contains("gate failed")
    count = mine.assign(failed=failed).groupby("period")["failed"].sum()
    return f"gates failed: {int(count.get(base, 0))} → {int(count.get(period, 0))}"


def _department(results: Results, subject: str | None):
    roster = roster_columns(results).set_index("subject")["department"]
    return roster.get(subject)
