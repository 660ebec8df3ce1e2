"""What-if: evaluate two versions of a policy on the same data and compare the outcomes.

`compare(old, new)` takes two `Results` and says who changes rating or payout and by how
much, how the rating distribution and the payout totals shift, and which actions appear
or disappear. `evaluate_both` loads the data once when both versions read it the same way.
Everything is vectorised over people; rows are sorted explicitly, so the output does not
depend on the order of the input rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.results import Results, records

KEYS = ["subject", "period", "scorecard"]
ACTION_KEYS = ["subject", "period", "scorecard", "origin", "kind", "title"]
TOLERANCE = 1e-9  # totals are rounded to 9 places; anything smaller is float noise
SCHEMA_VERSION = 1

PEOPLE_COLUMNS = [
    "subject",
    "name",
    "period",
    "scorecard",
    "presence",  # both | added (only in new) | removed (only in old)
    "old_total",
    "new_total",
    "total_delta",
    "old_rating",
    "new_rating",
    "rating_change",  # up | down | changed (not comparable) | same | "" (not in both)
    "old_payout",
    "new_payout",
    "payout_delta",
    "changed",
]


class WhatIfError(Exception):
    """One side cannot be evaluated; `side` is "old" or "new"."""

    def __init__(self, side: str, problems: list[str]):
        super().__init__(f"{side}: " + "; ".join(problems))
        self.side = side
        self.problems = problems


@dataclass(frozen=True)
class Summary:
    people: int  # distinct people on either side
    compared: int  # person × period × scorecard rows present on both sides
    added: int  # rows only the new version evaluates
    removed: int  # rows only the old version evaluates
    total_changed: int
    rating_changed: int
    upgraded: int
    downgraded: int
    payout_changed: int
    payout_total_old: float
    payout_total_new: float
    payout_total_delta: float
    actions_old: int
    actions_new: int
    actions_added: int
    actions_removed: int


@dataclass(frozen=True)
class PolicyDiff:
    """The comparison. `people` holds every row of either side (see PEOPLE_COLUMNS);
    `changes` only those that changed, appeared or disappeared."""

    old: dict[str, Any]  # name, version, periods
    new: dict[str, Any]
    currency: str | None
    people: pd.DataFrame
    distribution: pd.DataFrame
    payouts: pd.DataFrame
    actions: pd.DataFrame  # change (added | removed) + the action's fields
    summary: Summary

    @property
    def changes(self) -> pd.DataFrame:
        return self.people[self.people["changed"]].reset_index(drop=True)

    @property
    def identical(self) -> bool:
        """The outcomes are the same: totals, ratings, payouts and actions of everyone."""
        payouts_same = bool((self.payouts["delta"].abs() <= TOLERANCE).all())
        return (
            not bool(self.people["changed"].any())
            and self.actions.empty
            and payouts_same
            and self.old["periods"] == self.new["periods"]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "old": self.old,
            "new": self.new,
            "currency": self.currency,
            "identical": self.identical,
            "summary": {k: _number(v) for k, v in self.summary.__dict__.items()},
            "payouts": records(self.payouts),
            "distribution": records(self.distribution),
            "people": records(self.changes.drop(columns="changed")),
            "actions": records(self.actions),
        }


# ------------------------------------------------------------------ evaluation


def data_signature(policy: model.Policy) -> tuple:
    """What decides how data is read and checked: the sources' columns, types and roles,
    the data-quality settings, currency and calendar. Equal signatures: load once."""
    header = policy.header
    sources = tuple(
        (
            source.name,
            source.is_roster,
            tuple(sorted(source.roles.items())),
            tuple(
                (c.name, c.type, c.required, c.allowed)
                for c in sorted(source.columns.values(), key=lambda c: c.name)
            ),
        )
        for source in sorted(policy.sources.values(), key=lambda s: s.name)
    )
    settings = (
        tuple(sorted(header.data_quality.items())) if header else (),
        header.currency if header else None,
        header.cadence if header else None,
        header.fiscal_year_start if header else None,
    )
    return sources, settings


def evaluate_both(
    old: model.Policy,
    new: model.Policy,
    data,
    period: str | None = None,
    *,
    as_of: date | None = None,
) -> tuple[Results, Results]:
    """Evaluate both versions on `data`. Raises WhatIfError naming the side that fails."""
    from kpirules.data import DataError, load_data
    from kpirules.engine import EvaluationError, evaluate

    loaded: dict[str, Any] = {}
    try:
        loaded["new"] = load_data(new, data, as_of=as_of)
    except DataError as exc:
        raise WhatIfError("new", exc.problems) from None
    if data_signature(old) == data_signature(new):
        loaded["old"] = loaded["new"]  # the engine does not modify the frames it reads
    else:
        try:
            loaded["old"] = load_data(old, data, as_of=as_of)
        except DataError as exc:
            raise WhatIfError("old", exc.problems) from None
    results = {}
    for side, policy in (("old", old), ("new", new)):
        if policy.roster is None:
            raise WhatIfError(side, ["the policy declares no roster to evaluate"])
        try:
            results[side] = evaluate(policy, loaded[side], period, as_of=as_of)
        except EvaluationError as exc:
            raise WhatIfError(side, [str(exc)]) from None
        if results[side].blocked:
            raise WhatIfError(
                side,
                [
                    "data-quality errors stop the evaluation; "
                    "`kpirules eval` lists them in its data-quality section"
                ],
            )
    return results["old"], results["new"]


# ------------------------------------------------------------------ comparison


def compare(old: Results, new: Results) -> PolicyDiff:
    """Compare the outcomes of two evaluations of the same people."""
    people = _people(old, new)
    payouts = _payouts(old, new)
    actions = _actions(old, new)
    compared = people["presence"] == "both"
    header = new.policy.header or old.policy.header
    summary = Summary(
        people=int(people["subject"].nunique()),
        compared=int(compared.sum()),
        added=int((people["presence"] == "added").sum()),
        removed=int((people["presence"] == "removed").sum()),
        total_changed=int((compared & _differs(people["old_total"], people["new_total"])).sum()),
        rating_changed=int(
            (compared & people["rating_change"].isin(["up", "down", "changed"])).sum()
        ),
        upgraded=int((people["rating_change"] == "up").sum()),
        downgraded=int((people["rating_change"] == "down").sum()),
        payout_changed=int((compared & _differs(people["old_payout"], people["new_payout"])).sum()),
        payout_total_old=_money(old.payouts["amount"].sum() if len(old.payouts) else 0.0),
        payout_total_new=_money(new.payouts["amount"].sum() if len(new.payouts) else 0.0),
        payout_total_delta=_money(
            (new.payouts["amount"].sum() if len(new.payouts) else 0.0)
            - (old.payouts["amount"].sum() if len(old.payouts) else 0.0)
        ),
        actions_old=len(old.actions),
        actions_new=len(new.actions),
        actions_added=int((actions["change"] == "added").sum()),
        actions_removed=int((actions["change"] == "removed").sum()),
    )
    return PolicyDiff(
        old=_meta(old),
        new=_meta(new),
        currency=header.currency if header else None,
        people=people,
        distribution=_distribution(old, new),
        payouts=payouts,
        actions=actions,
        summary=summary,
    )


def _meta(results: Results) -> dict[str, Any]:
    header = results.policy.header
    return {
        "name": results.policy.name,
        "version": header.version if header else None,
        "periods": list(results.periods),
    }


def _money(value: float) -> float:
    return round(float(value), 6)


def _number(value):
    return round(value, 6) if isinstance(value, float) else value


def _differs(old: pd.Series, new: pd.Series) -> pd.Series:
    """Element-wise: the values differ beyond float noise (missing on one side differs)."""
    both_missing = old.isna() & new.isna()
    one_missing = old.isna() ^ new.isna()
    far = (new - old).abs() > TOLERANCE
    return (one_missing | far.fillna(False)) & ~both_missing


def _per_row_payout(results: Results) -> pd.Series:
    if results.payouts.empty:
        return pd.Series(dtype="float64", name="payout")
    grouped = results.payouts.groupby(KEYS, sort=False)["amount"]
    return grouped.sum(min_count=1).rename("payout")


def _people(old: Results, new: Results) -> pd.DataFrame:
    columns = [*KEYS, "name", "total", "rating"]
    sides = []
    for results, prefix in ((old, "old_"), (new, "new_")):
        frame = results.totals[columns].copy()
        pay = _per_row_payout(results)
        frame = frame.merge(pay, left_on=KEYS, right_index=True, how="left")
        sides.append(
            frame.rename(columns={c: prefix + c for c in ("name", "total", "rating", "payout")})
        )
    merged = sides[0].merge(sides[1], on=KEYS, how="outer", indicator=True)
    presence = merged["_merge"].map({"both": "both", "left_only": "removed", "right_only": "added"})
    merged["presence"] = presence.astype(object)
    merged["name"] = merged["new_name"].combine_first(merged["old_name"])
    merged["total_delta"] = (merged["new_total"] - merged["old_total"]).round(9)
    merged["payout_delta"] = (
        merged["new_payout"].fillna(0.0) - merged["old_payout"].fillna(0.0)
    ).round(6)
    merged["rating_change"] = _rating_change(merged, old.policy, new.policy)
    both = merged["presence"] == "both"
    merged["changed"] = ~both | (
        _differs(merged["old_total"], merged["new_total"])
        | _differs(merged["old_payout"], merged["new_payout"])
        | (merged["rating_change"] != "same")
    )
    merged = merged.sort_values(KEYS, kind="stable").reset_index(drop=True)
    for column in ("old_rating", "new_rating", "name"):
        merged[column] = merged[column].astype(object).where(merged[column].notna(), None)
    return merged[PEOPLE_COLUMNS]


def _rating_change(merged: pd.DataFrame, old: model.Policy, new: model.Policy) -> pd.Series:
    """up / down by the place of each label in its scale (levels are listed best first,
    as the first matching level wins), `changed` when the labels are not on one scale."""
    rank: dict[tuple[str, str], int] = {}
    for policy in (old, new):  # the new scale wins where both define a label
        for card in policy.scorecards.values():
            rating = policy.ratings.get(card.rating) if card.rating else None
            for place, label in enumerate(rating.labels if rating else ()):
                rank[(card.name, label)] = place
    places = pd.Series(rank, dtype="float64")
    if len(places):
        places.index = places.index.set_names(["scorecard", "rating"])
    else:
        places.index = pd.MultiIndex.from_tuples([], names=["scorecard", "rating"])

    def place_of(column: str) -> pd.Series:
        looked_up = pd.MultiIndex.from_arrays(
            [merged["scorecard"].astype(object), merged[column].astype(object)]
        )
        return pd.Series(places.reindex(looked_up).to_numpy(), index=merged.index)

    old_rank, new_rank = place_of("old_rating"), place_of("new_rating")
    old_label = merged["old_rating"].astype(object).where(merged["old_rating"].notna(), None)
    new_label = merged["new_rating"].astype(object).where(merged["new_rating"].notna(), None)
    same = (old_label == new_label) | (merged["old_rating"].isna() & merged["new_rating"].isna())
    change = np.select(
        [
            merged["_merge"].to_numpy() != "both",
            same.to_numpy(),
            (new_rank < old_rank).to_numpy(),
            (new_rank > old_rank).to_numpy(),
        ],
        ["", "same", "up", "down"],
        default="changed",
    )
    return pd.Series(change, index=merged.index, dtype=object)


def _payouts(old: Results, new: Results) -> pd.DataFrame:
    def by_incentive(results: Results) -> pd.Series:
        if results.payouts.empty:
            return pd.Series(dtype="float64")
        return results.payouts.groupby("incentive", sort=True)["amount"].sum()

    frame = pd.concat(
        [by_incentive(old).rename("old"), by_incentive(new).rename("new")], axis=1
    ).fillna(0.0)
    frame.index.name = "incentive"
    frame = frame.reset_index().sort_values("incentive", kind="stable")
    labels = {}
    for policy in (old.policy, new.policy):
        labels.update({n: i.label or n for n, i in policy.incentives.items()})
    frame["label"] = frame["incentive"].map(labels).astype(object)
    frame["delta"] = (frame["new"] - frame["old"]).round(6)
    frame["old"], frame["new"] = frame["old"].round(6), frame["new"].round(6)
    return frame[["incentive", "label", "old", "new", "delta"]].reset_index(drop=True)


def _distribution(old: Results, new: Results) -> pd.DataFrame:
    keys = ["scorecard", "period", "rating"]
    sides = [
        results.distribution()[[*keys, "count", "share"]].rename(
            columns={"count": f"{prefix}_count", "share": f"{prefix}_share"}
        )
        for results, prefix in ((old, "old"), (new, "new"))
    ]
    # Keep the order of the scale (best first) within each scorecard and period.
    order = pd.concat([sides[1][keys], sides[0][keys]]).drop_duplicates().reset_index(drop=True)
    order["place"] = order.groupby(["scorecard", "period"]).cumcount()
    merged = order.merge(sides[0], on=keys, how="left").merge(sides[1], on=keys, how="left")
    for prefix in ("old", "new"):
        merged[f"{prefix}_count"] = merged[f"{prefix}_count"].fillna(0).astype("int64")
        merged[f"{prefix}_share"] = merged[f"{prefix}_share"].fillna(0.0)
    merged["count_delta"] = merged["new_count"] - merged["old_count"]
    merged["share_delta"] = (merged["new_share"] - merged["old_share"]).round(6)
    merged = merged.sort_values(["scorecard", "period", "place"], kind="stable")
    return merged[
        [*keys, "old_count", "new_count", "count_delta", "old_share", "new_share", "share_delta"]
    ].reset_index(drop=True)


def _actions(old: Results, new: Results) -> pd.DataFrame:
    """Actions present on one side only, as a multiset: two identical actions on one side
    and one on the other leave one `added` or `removed`."""
    fields = [*ACTION_KEYS, "owner", "due", "reason"]
    sides = []
    for results in (old, new):
        frame = (
            results.actions[fields].copy() if len(results.actions) else pd.DataFrame(columns=fields)
        )
        frame = frame.sort_values(
            [*ACTION_KEYS, "owner", "due"], kind="stable", na_position="first"
        )
        frame["occurrence"] = frame.groupby(ACTION_KEYS, sort=False).cumcount()
        sides.append(frame)
    keys = [*ACTION_KEYS, "occurrence"]
    merged = sides[0].merge(
        sides[1], on=keys, how="outer", indicator=True, suffixes=("_old", "_new")
    )
    merged = merged[merged["_merge"] != "both"]
    out = merged[keys].copy()
    out.insert(0, "change", np.where(merged["_merge"] == "right_only", "added", "removed"))
    for column in ("owner", "due", "reason"):
        out[column] = merged[f"{column}_new"].combine_first(merged[f"{column}_old"])
    names = (
        pd.concat([r.totals[["subject", "name"]] for r in (new, old)])
        .dropna()
        .drop_duplicates("subject")
        .set_index("subject")["name"]
    )
    out["name"] = out["subject"].map(names)
    out = out.sort_values([*ACTION_KEYS, "occurrence", "change"], kind="stable")
    columns = [
        "change",
        "subject",
        "name",
        "period",
        "scorecard",
        "origin",
        "kind",
        "title",
        "owner",
        "due",
        "reason",
    ]
    out = out[columns].astype(object)
    return out.where(out.notna(), None).reset_index(drop=True)
