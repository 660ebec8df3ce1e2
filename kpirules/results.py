"""Evaluation results: pandas DataFrames for analysts, deterministic JSON for machines."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import repeat
from json.encoder import encode_basestring  # what json.dumps uses for text
from typing import Any

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.text import escape_json

SCHEMA_VERSION = 2  # 2: goals say `deadline` and `deadline_reached` (was `due`)

INDICATOR_COLUMNS = ["subject", "period", "indicator", "value"]
SCORE_COLUMNS = [
    "subject",
    "period",
    "scorecard",
    "indicator",
    "value",
    "score",
    "weight",
    "effective_weight",
    "contribution",
]
TOTAL_COLUMNS = [
    "subject",
    "name",
    "department",
    "role",
    "manager",
    "period",
    "scorecard",
    "total",
    "rating",
    "status",
]
PAYOUT_COLUMNS = [
    "subject",
    "period",
    "incentive",
    "scorecard",
    "gate_passed",
    "amount_before_limits",
    "capped",
    "prorate_factor",
    "amount",
]
ACTION_COLUMNS = [
    "subject",
    "period",
    "scorecard",
    "origin",
    "kind",
    "title",
    "owner",
    "due",
    "reason",
    "rule",
]
NOTE_COLUMNS = ["where", "note", "count"]
DISTRIBUTION_COLUMNS = [
    "scorecard",
    "period",
    "rating",
    "count",
    "share",
    "guidance",
    "outside_guidance",
]
GUIDANCE_COLUMNS = ["scorecard", "rating", "guidance", "bound", "limit"]


def guidance(policy: model.Policy) -> pd.DataFrame:
    """Each scorecard's distribution guidance: one row per rating level its scale bounds,
    with the bound ("most" or "least") and the limit as a fraction."""
    rows = []
    for card in policy.scorecards.values():
        rating = policy.ratings.get(card.rating)
        for rule in rating.distribution if rating else ():
            share = float(rule.share)
            rows.append(
                {
                    "scorecard": card.name,
                    "rating": rule.label,
                    "guidance": f"at {rule.bound} {share * 100:g}%",
                    "bound": rule.bound,
                    "limit": share,
                }
            )
    return pd.DataFrame(rows, columns=GUIDANCE_COLUMNS)


def outside_guidance(share: pd.Series, bound: pd.Series, limit: pd.Series) -> np.ndarray:
    """Whether each share breaks its guidance: above "at most", below "at least"."""
    share, limit = np.asarray(share, "float64"), np.asarray(limit, "float64")
    bound = np.asarray(bound, object)
    above = (bound == "most") & (share > limit)
    below = (bound == "least") & (share < limit)
    return (above | below).astype(bool)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


@dataclass
class Results:
    """Everything an evaluation produced. Every part is a DataFrame."""

    policy: model.Policy
    periods: list[str] = field(default_factory=list)
    indicators: pd.DataFrame = field(default_factory=lambda: _empty(INDICATOR_COLUMNS))
    scores: pd.DataFrame = field(default_factory=lambda: _empty(SCORE_COLUMNS))
    totals: pd.DataFrame = field(default_factory=lambda: _empty(TOTAL_COLUMNS))
    payouts: pd.DataFrame = field(default_factory=lambda: _empty(PAYOUT_COLUMNS))
    actions: pd.DataFrame = field(default_factory=lambda: _empty(ACTION_COLUMNS))
    goals: pd.DataFrame = field(default_factory=pd.DataFrame)
    objectives: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: pd.DataFrame = field(default_factory=lambda: _empty(NOTE_COLUMNS))
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)
    blocked: bool = False

    @classmethod
    def empty(cls, policy: model.Policy, loaded) -> Results:
        return cls(
            policy, quality=loaded.findings, accounting=loaded.accounting, blocked=loaded.blocked
        )

    # ------------------------------------------------------------ assembly

    def fill(
        self,
        *,
        calendar,
        reported,
        indicators,
        notes,
        goals,
        objectives,
        roster,
        scores,
        totals,
        payouts,
        actions,
    ) -> None:
        keep = set(reported)
        labels = {p: calendar.label(p) for p in reported}

        def tidy(frames: list[pd.DataFrame], columns: list[str], order: list[str]):
            if not frames:
                return _empty(columns)
            frame = pd.concat(frames)
            if "key" in frame.index.names:
                frame = frame.reset_index()
            frame = frame.rename(columns={"key": "subject"})
            frame = frame[frame["period"].isin(keep)]
            frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
            frame["period"] = frame["period"].map(labels)  # few periods, many rows
            return frame[[c for c in columns if c in frame.columns]]

        long = [
            series.rename("value").reset_index().assign(indicator=name)
            for name, series in indicators.items()
        ]
        self.indicators = tidy(long, INDICATOR_COLUMNS, ["subject", "period", "indicator"])
        self.scores = tidy(scores, SCORE_COLUMNS, ["subject", "period", "scorecard", "indicator"])
        totals_frame = tidy(totals, TOTAL_COLUMNS, ["subject", "period", "scorecard"])
        self.totals = self._with_roster(totals_frame, roster)
        self.payouts = tidy(payouts, PAYOUT_COLUMNS, ["subject", "period", "incentive"])
        self.actions = tidy(
            actions, ACTION_COLUMNS, ["subject", "period", "origin", "kind", "title", "rule"]
        )
        self.notes = pd.DataFrame(
            [{"where": w, "note": n, "count": c} for (w, n), c in sorted(notes.counts.items())],
            columns=NOTE_COLUMNS,
        )
        if not goals.empty:
            goals = goals[goals["period"].isin(keep)].sort_values(["goal", "period"])
            goals = goals.assign(period=goals["period"].map(labels))
        self.goals = goals.reset_index(drop=True)
        if not objectives.empty:
            objectives = objectives[objectives["period"].isin(keep)]
            objectives = objectives.assign(period=objectives["period"].map(labels))
        self.objectives = objectives.reset_index(drop=True)

    def _with_roster(self, totals: pd.DataFrame, roster_frame: pd.DataFrame) -> pd.DataFrame:
        roster = self.policy.roster
        by_key = roster_frame.set_index(roster.key)
        for column, role in (
            ("name", "display"),
            ("department", "department"),
            ("role", "role"),
            ("manager", "manager"),
        ):
            source = roster.roles.get(role)
            totals[column] = (
                totals["subject"].map(by_key[source]) if source and len(totals) else None
            )
        return totals[TOTAL_COLUMNS]

    # ------------------------------------------------------------ summaries

    def distribution(self) -> pd.DataFrame:
        """Rating counts and shares per scorecard and period, against the guidance."""
        rows = []
        evaluated = self.totals.dropna(subset=["rating"])
        for (card, period), frame in evaluated.groupby(["scorecard", "period"], sort=True):
            rating = self.policy.ratings.get(self.policy.scorecards[card].rating)
            counts = frame["rating"].value_counts()
            for label in rating.labels if rating else sorted(counts.index):
                count = int(counts.get(label, 0))
                rows.append({"scorecard": card, "period": period, "rating": label, "count": count})
        frame = pd.DataFrame(rows, columns=["scorecard", "period", "rating", "count"])
        size = frame.groupby(["scorecard", "period"])["count"].transform("sum")
        share = (frame["count"] / size).fillna(0.0)
        frame["share"] = share.round(6)
        frame = frame.merge(guidance(self.policy), on=["scorecard", "rating"], how="left")
        frame["outside_guidance"] = outside_guidance(share, frame["bound"], frame["limit"])
        frame["guidance"] = frame["guidance"].astype(object).where(frame["guidance"].notna(), None)
        return frame[DISTRIBUTION_COLUMNS]

    def summary(self) -> dict[str, Any]:
        payout_total = float(self.payouts["amount"].fillna(0).sum()) if len(self.payouts) else 0.0
        return {
            "subjects": int(self.totals["subject"].nunique()) if len(self.totals) else 0,
            "evaluated": int(self.totals["total"].notna().sum()) if len(self.totals) else 0,
            "incomplete": int(self.totals["total"].isna().sum()) if len(self.totals) else 0,
            "payout_total": round(payout_total, 2),
            "actions": len(self.actions),
            "actions_by_kind": {
                k: int(v) for k, v in sorted(self.actions["kind"].value_counts().items())
            }
            if len(self.actions)
            else {},
            "data_quality_findings": len(self.quality),
            "notes": len(self.notes),
        }

    # ------------------------------------------------------------ JSON

    def header(self) -> dict[str, Any]:
        """What the run was: schema version, policy, periods, blocked, summary."""
        header = self.policy.header
        return {
            "version": SCHEMA_VERSION,
            "policy": {
                "name": self.policy.name,
                "version": header.version if header else None,
                "cadence": header.cadence if header else None,
                "currency": header.currency if header else None,
            },
            "periods": list(self.periods),
            "blocked": self.blocked,
            "summary": self.summary(),
        }

    def tables(self) -> dict[str, pd.DataFrame | None]:
        """The result tables in the JSON's order; the last two are its `data_quality`
        section (`findings`, `accounting`). Every writer takes them from here."""
        return {
            "distribution": self.distribution(),
            "indicators": self.indicators,
            "scores": self.scores,
            "totals": self.totals,
            "payouts": self.payouts,
            "actions": self.actions,
            "goals": self.goals,
            "objectives": self.objectives,
            "notes": self.notes,
            "data_quality": self.quality,
            "row_accounting": self.accounting,
        }

    def to_dict(self) -> dict[str, Any]:
        *top, (_, findings), (_, accounting) = self.tables().items()
        return {
            **self.header(),
            **{name: records(frame) for name, frame in top},
            # Row numbers follow the input files, so this section alone may differ when
            # the same rows come in another order.
            "data_quality": {"findings": records(findings), "accounting": records(accounting)},
        }

    def to_json(self) -> str:
        """The results JSON, written column by column: the same text as
        `to_json(self.to_dict(), indent=2)` (tests/test_results_json.py), without a Python
        dict per row — a million rows take seconds, not minutes."""
        header = json.dumps(self.header(), ensure_ascii=False, indent=2, allow_nan=False)
        parts = [header[: -len("\n}")]]
        *top, (_, findings), (_, accounting) = self.tables().items()
        for name, frame in top:
            parts.append(f",\n  {json.dumps(name)}: {records_json(frame, 2)}")
        parts.append(
            f',\n  "data_quality": {{\n    "findings": {records_json(findings, 4)},\n'
            f'    "accounting": {records_json(accounting, 4)}\n  }}\n}}'
        )
        return escape_json("".join(parts)) + "\n"


def records_json(frame: pd.DataFrame | None, level: int) -> str:
    """`records(frame)` as json.dumps(indent=2) prints it when the list's key is indented
    by `level` spaces. Each column is encoded once per distinct value (`_plain`, then
    json.dumps), so the text is the same as the row-by-row dump."""
    if frame is None or frame.empty:
        return "[]"
    item, field = " " * (level + 2), " " * (level + 4)
    pieces: list = []  # a row's text: constant pieces and each column's value, in turn
    for position, column in enumerate(frame.columns):
        codes, distinct = pd.factorize(frame[column], use_na_sentinel=True)
        texts = [_encode(value) for value in distinct]
        words = np.array([*texts, "null"], dtype=object)[codes]  # code -1: missing
        lead = (item + "{\n" if position == 0 else ",\n") + field
        pieces += [repeat(lead + json.dumps(column, ensure_ascii=False) + ": "), words.tolist()]
    pieces.append(repeat("\n" + item + "}"))
    rows = map("".join, zip(*pieces))  # one string per row, built once
    return "[\n" + ",\n".join(rows) + "\n" + " " * level + "]"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame → JSON-ready rows: NaN → null, numpy scalars → Python, floats rounded."""
    if frame is None or frame.empty:
        return []
    out = []
    columns = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        out.append({column: _plain(value) for column, value in zip(columns, row)})
    return out


def reported_floats(values: pd.Series) -> pd.Series:
    """A float column as the JSON reports it (`_plain`): Python's round to 9 places —
    not numpy's, which can differ in the last place — and inf as missing; each distinct
    value rounded once."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    rounded = [round(v, 9) if math.isfinite(v) else math.nan for v in distinct.tolist()]
    return pd.Series(np.array([*rounded, math.nan])[codes], index=values.index)


def _encode(value: Any) -> str:
    """One value as json.dumps writes `_plain(value)` (ensure_ascii=False)."""
    value = _plain(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        value = round(value, 9)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value
