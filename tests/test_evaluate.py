"""The evaluation engine. Expected values are worked out by hand (see the comments) or with
plain pandas in the test — never taken from the engine's own output."""

from __future__ import annotations

import json
import random

import jsonschema
import numpy as np
import pandas as pd
import pytest

from kpirules.check import check
from kpirules.engine import EvaluationError, evaluate
from kpirules.engine.outcomes import round_money
from kpirules.engine.scoring import curve_score
from kpirules.parser import parse
from kpirules.plan.nodes import Better, Curve, CurvePoint, PointKind
from kpirules.resources import schema

POLICY = """\
policy "Hand" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  currency CNY
}
roster employees {
  key employee_id
  department department
  role role
  manager manager_id
  start hired_on
  columns { employee_id: text  department: text  role: text  manager_id: text
            base_salary: money  hired_on: date }
}
source orders {
  subject employee_id
  time closed_on
  key order_id
  columns { order_id: text  employee_id: text  closed_on: date  amount: money  market: text
            new_customer: bool  processing_days: days }
}
objective grow "Grow" { horizon long }
goal g "New markets" { supports grow  owner department "Sales"  target share >= 30% by 2026-Q4 }
indicator revenue { supports g  unit money  better higher  = sum(orders.amount) }
indicator share {
  supports g  unit percent  better higher
  = sum(orders.amount where orders.market == "new") / sum(orders.amount)
}
indicator cycle { supports g  unit days  better lower  horizon long
  = mean(orders.processing_days) }
scorecard rep {
  applies to employees where role == "rep"
  indicator revenue weight 40% {
    threshold 10000 CNY => 50  target 20000 CNY => 100  stretch 30000 CNY => 150 }
  indicator share weight 30% { threshold 10% => 50  target 20% => 100 }
  indicator cycle weight 30% { threshold 5 days => 50  target 3 days => 100  stretch 2 days => 120 }
  when missing => reweight
  rating five
}
rating five { "Top" when score >= 110  "Good" when score >= 90  "Low" otherwise }
incentive bonus for rep {
  gate share reaches threshold
  pay employees.base_salary * 10% * score / 100
  cap 2500 CNY
  prorate by days_employed
}
improvement for rep {
  when revenue misses threshold => training "Prospecting" owner manager within 30 days
  when rating == "Low" for 2 periods => plan "PIP" owner hr
}
"""

EMPLOYEES = pd.DataFrame(
    {
        "employee_id": ["e1", "e2", "e3", "e4"],
        "department": ["Sales", "Sales", "Mgmt", "Sales"],
        "role": ["rep", "rep", "mgr", "rep"],
        "manager_id": ["m1", "m1", "", "m1"],
        "base_salary": ["20000", "10000", "30000", "50000"],
        "hired_on": ["2025-01-01", "2026-02-15", "2020-01-01", "2025-01-01"],
    }
)
ORDERS = pd.DataFrame(
    {
        "order_id": [f"o{i}" for i in range(1, 8)],
        "employee_id": ["e1", "e1", "e2", "e1", "e2", "e4", "e3"],
        "closed_on": [
            "2026-01-10",
            "2026-02-10",
            "2026-03-01",
            "2026-04-01",
            "2026-05-01",
            "2026-03-15",
            "2026-03-15",
        ],
        "amount": ["12000", "3000", "8000", "25000", "9000", "30000", "1000"],
        "market": ["new", "old", "old", "new", "old", "new", "new"],
        "new_customer": ["true", "false", "false", "true", "false", "true", "true"],
        "processing_days": ["4", "2", "6", "2.5", "5", "2", "1"],
    }
)


def load(text: str):
    module, diagnostics = parse(text, "t.kpi")
    assert module is not None, diagnostics
    policy, diagnostics = check([module])
    assert policy is not None, diagnostics
    return policy


@pytest.fixture(scope="module")
def results():
    return evaluate(load(POLICY), {"employees": EMPLOYEES, "orders": ORDERS})


def row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    (index,) = np.flatnonzero(mask)
    return frame.iloc[index]


def test_indicator_values_by_hand(results):
    values = results.indicators
    # e1, Q1: orders of 12000 (new, 4 days) and 3000 (old, 2 days).
    assert row(values, subject="e1", period="2026-Q1", indicator="revenue")["value"] == 15000
    assert row(values, subject="e1", period="2026-Q1", indicator="share")["value"] == 0.8
    assert row(values, subject="e1", period="2026-Q1", indicator="cycle")["value"] == 3
    # e2, Q1: one old-market order: rows exist, none is new, so the share is 0, not missing.
    assert row(values, subject="e2", period="2026-Q1", indicator="share")["value"] == 0
    # e1, Q3: no rows at all: missing, never 0.
    assert np.isnan(row(values, subject="e1", period="2026-Q3", indicator="revenue")["value"])


def test_scores_totals_and_ratings_by_hand(results):
    scores, totals = results.scores, results.totals
    # e1 Q1: revenue 15000 halfway from threshold (50) to target (100) → 75;
    # share 80% beyond the last point → 100; cycle 3 days = target → 100.
    assert row(scores, subject="e1", period="2026-Q1", indicator="revenue")["score"] == 75
    assert row(scores, subject="e1", period="2026-Q1", indicator="share")["score"] == 100
    e1q1 = row(totals, subject="e1", period="2026-Q1")
    assert e1q1["total"] == pytest.approx(0.4 * 75 + 0.3 * 100 + 0.3 * 100)  # 90
    assert e1q1["rating"] == "Good" and e1q1["status"] == "complete"
    # e1 Q2: revenue 25000 → 125; share 100% → 100; cycle 2.5 days, halfway from the
    # target (3 → 100) to the stretch (2 → 120) in the lower-is-better direction → 110.
    assert row(scores, subject="e1", period="2026-Q2", indicator="cycle")["score"] == 110
    e1q2 = row(totals, subject="e1", period="2026-Q2")
    assert e1q2["total"] == pytest.approx(0.4 * 125 + 0.3 * 100 + 0.3 * 110)  # 113
    assert e1q2["rating"] == "Top"
    # e2 Q2: revenue 9000 and share 0 are below threshold (0); cycle 5 days = threshold → 50.
    assert row(totals, subject="e2", period="2026-Q2")["total"] == pytest.approx(0.3 * 50)
    # e3 is a manager: not on the rep scorecard at all.
    assert "e3" not in set(totals["subject"])
    # No data in Q3: reweighting has nothing to weigh.
    e1q3 = row(totals, subject="e1", period="2026-Q3")
    assert np.isnan(e1q3["total"]) and e1q3["status"] == "incomplete" and e1q3["rating"] is None
    assert row(totals, subject="e1", period="2026-Q1")["manager"] == "m1"


def test_payouts_gate_cap_and_proration_by_hand(results):
    pay = results.payouts
    # e1 Q1: 20000 × 10% × 90 / 100 = 1800, employed all quarter.
    assert row(pay, subject="e1", period="2026-Q1")["amount"] == 1800
    # e1 Q2: 20000 × 10% × 113 / 100 = 2260 (under the 2500 cap).
    assert row(pay, subject="e1", period="2026-Q2")["amount"] == pytest.approx(2260)
    # e4 Q1: revenue 30000 → 150, share → 100, cycle 2 days → 120: total 126;
    # 50000 × 10% × 126 / 100 = 6300, capped at 2500.
    e4 = row(pay, subject="e4", period="2026-Q1")
    assert e4["amount_before_limits"] == pytest.approx(6300)
    assert bool(e4["capped"]) and e4["amount"] == 2500
    # e2 Q1: share 0% misses the 10% threshold: the gate stops the payout.
    e2 = row(pay, subject="e2", period="2026-Q1")
    assert not bool(e2["gate_passed"]) and e2["amount"] == 0
    # e2 joined on 2026-02-15: 45 of Q1's 90 days.
    assert e2["prorate_factor"] == 0.5


def test_actions_by_hand(results):
    actions = results.actions
    training = actions[actions["kind"] == "training"]
    assert sorted(zip(training["subject"], training["period"])) == [
        ("e2", "2026-Q1"),
        ("e2", "2026-Q2"),
    ]
    first = row(training, subject="e2", period="2026-Q1")
    assert first["owner"] == "m1" and first["due"] == "2026-04-30"  # Q1 ends 2026-03-31
    assert first["reason"] == "revenue misses threshold"
    # Rated Low in Q1 and in Q2: the plan fires in Q2 only.
    plans = actions[actions["kind"] == "plan"]
    assert list(zip(plans["subject"], plans["period"], plans["owner"])) == [("e2", "2026-Q2", "hr")]


def test_goal_attainment_at_department_level(results):
    goals = results.goals
    q1 = row(goals, goal="g", period="2026-Q1")
    # Sales in Q1: new-market revenue 12000 + 30000 over all revenue 15000 + 8000 + 30000.
    assert q1["value"] == pytest.approx(42000 / 53000)
    assert bool(q1["met"])
    assert q1["attainment"] == pytest.approx((42000 / 53000) / 0.30)
    objective = row(results.objectives, objective="grow", period="2026-Q1")
    assert objective["attainment"] == 1.0  # capped at 100%


def test_rating_distribution_against_guidance():
    text = POLICY.replace(
        '"Low" otherwise }', '"Low" otherwise  distribution { "Top" at most 20% } }'
    )
    results = evaluate(load(text), {"employees": EMPLOYEES, "orders": ORDERS})
    dist = results.distribution()
    top = row(dist, period="2026-Q1", rating="Top")
    # Q1 ratings: e1 Good, e2 Low, e4 Top → Top is 1 of 3 = 33% > 20%.
    assert top["count"] == 1 and top["share"] == pytest.approx(1 / 3, abs=1e-6)
    assert bool(top["outside_guidance"])


def test_json_is_valid_and_deterministic_under_row_shuffles(results):
    payload = results.to_dict()
    jsonschema.validate(payload, schema("results.schema.json"))
    payload.pop("data_quality")
    rng = random.Random(7)
    for _ in range(3):
        shuffled_orders = ORDERS.sample(frac=1, random_state=rng.randrange(10**6))
        shuffled_people = EMPLOYEES.sample(frac=1, random_state=rng.randrange(10**6))
        again = evaluate(load(POLICY), {"employees": shuffled_people, "orders": shuffled_orders})
        other = again.to_dict()
        other.pop("data_quality")
        assert json.dumps(other, sort_keys=True) == json.dumps(payload, sort_keys=True)
    assert (
        results.to_json()
        == evaluate(load(POLICY), {"employees": EMPLOYEES, "orders": ORDERS}).to_json()
    )


def test_one_period_and_bad_periods():
    policy = load(POLICY)
    only_q2 = evaluate(policy, {"employees": EMPLOYEES, "orders": ORDERS}, period="2026-Q2")
    assert only_q2.periods == ["2026-Q2"]
    assert set(only_q2.totals["period"]) == {"2026-Q2"}
    # Rated Low in Q1 too: evaluating only Q2 still looks back for `for 2 periods`.
    assert "plan" in set(only_q2.actions["kind"])
    with pytest.raises(EvaluationError, match="outside"):
        evaluate(policy, {"employees": EMPLOYEES, "orders": ORDERS}, period="2027-Q1")
    with pytest.raises(EvaluationError, match="not a quarterly period"):
        evaluate(policy, {"employees": EMPLOYEES, "orders": ORDERS}, period="2026-03")


# ---------------------------------------------------------------- formula functions

FUNCTIONS = """\
policy "F" {
  cadence monthly
  effective 2026-01-01 to 2026-06-30
  currency CNY
}
roster staff {
  key id
  columns { id: text  quota: money }
}
source sales {
  subject id
  time day
  columns { id: text  day: date  shipped: date  amount: money  units: number  region: text
            rush: bool }
}
indicator total { unit money  better higher  = sum(sales.amount) }
indicator rows { unit count  better higher  = count(sales) }
indicator rush_rows { unit count  better higher  = count(sales where sales.rush) }
indicator regions { unit count  better higher  = count_distinct(sales.region) }
indicator avg { unit money  better higher  = mean(sales.amount) }
indicator low { unit money  better higher  = min(sales.amount) }
indicator high { unit money  better higher  = max(sales.amount) }
indicator mid { unit money  better higher  = median(sales.amount) }
indicator p90 { unit money  better higher  = percentile(sales.amount, 90%) }
indicator north { unit money  better higher
  = sum(sales.amount where sales.region in ["north", "east"] and not sales.rush) }
indicator rolling { unit money  better higher  = sum(sales.amount over last 3 periods) }
indicator last { unit money  better higher  = previous(total) }
indicator growth { unit number  better higher  = total / previous(total) - 1 }
indicator quota_share { unit percent  better higher  = total / staff.quota }
indicator lead_time { unit days  better lower  = mean(sales.shipped - sales.day) }
indicator capped { unit money  better higher  = min(total, 500 CNY) }
indicator big { unit count  better higher  = if total > 1000 CNY then 1 else 0 }
indicator per_unit { unit money  better higher  = round(sum(sales.amount) / sum(sales.units), 2) }
indicator spread { unit money  better higher  = abs(low - high) }
indicator safe { unit money  better higher  = coalesce(avg, 0 CNY) }
"""


@pytest.fixture(scope="module")
def function_data():
    rng = np.random.default_rng(42)
    n = 400
    days = pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 181, n), unit="D")
    sales = pd.DataFrame(
        {
            "id": rng.choice([f"p{i}" for i in range(12)], n),
            "day": days.strftime("%Y-%m-%d"),
            "shipped": (days + pd.to_timedelta(rng.integers(0, 10, n), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "amount": rng.integers(1, 500, n).astype(str),
            "units": rng.integers(1, 9, n).astype(str),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "rush": rng.choice(["true", "false"], n),
        }
    )
    staff = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(13)],  # p12 sells nothing
            "quota": [str(1000 + 100 * i) for i in range(13)],
        }
    )
    results = evaluate(load(FUNCTIONS), {"staff": staff, "sales": sales})
    # The same numbers in plain pandas.
    typed = sales.assign(
        day=pd.to_datetime(sales["day"]),
        shipped=pd.to_datetime(sales["shipped"]),
        amount=sales["amount"].astype(float),
        units=sales["units"].astype(float),
        rush=sales["rush"] == "true",
    )
    typed["period"] = typed["day"].dt.strftime("%Y-%m")
    return results, typed, staff


def engine_values(results, indicator: str) -> pd.Series:
    frame = results.indicators[results.indicators["indicator"] == indicator]
    return frame.set_index(["subject", "period"])["value"]


def full(series: pd.Series, results) -> pd.Series:
    index = engine_values(results, "total").index
    return series.reindex(index)


def test_aggregates_match_plain_pandas(function_data):
    results, typed, _ = function_data
    grouped = typed.groupby(["id", "period"])
    expected = {
        "total": grouped["amount"].sum(),
        "rows": grouped.size().astype(float),
        "regions": grouped["region"].nunique().astype(float),
        "avg": grouped["amount"].mean(),
        "low": grouped["amount"].min(),
        "high": grouped["amount"].max(),
        "mid": grouped["amount"].median(),
        "p90": grouped["amount"].quantile(0.9),
        "lead_time": (typed["shipped"] - typed["day"])
        .dt.days.groupby([typed["id"], typed["period"]])
        .mean(),
    }
    for name, series in expected.items():
        got = engine_values(results, name)
        want = full(series.rename_axis(["subject", "period"]), results)
        pd.testing.assert_series_equal(
            got, want, check_names=False, check_dtype=False, rtol=1e-9, obj=name
        )


def test_filters_give_zero_when_rows_exist_and_missing_when_none(function_data):
    results, typed, _ = function_data
    keys = ["id", "period"]
    has_rows = typed.groupby(keys).size().rename_axis(["subject", "period"])
    rush = typed[typed["rush"]].groupby(keys).size().rename_axis(["subject", "period"])
    want = full(rush, results).where(full(has_rows, results).isna(), full(rush, results).fillna(0))
    pd.testing.assert_series_equal(
        engine_values(results, "rush_rows"), want.astype(float), check_names=False
    )
    north = typed[typed["region"].isin(["north", "east"]) & ~typed["rush"]]
    north_sum = north.groupby(keys)["amount"].sum().rename_axis(["subject", "period"])
    want = full(north_sum, results).where(
        full(has_rows, results).isna(), full(north_sum, results).fillna(0)
    )
    pd.testing.assert_series_equal(engine_values(results, "north"), want, check_names=False)
    # p12 has no rows at all: every aggregate is missing for it.
    assert engine_values(results, "rows").loc["p12"].isna().all()


def test_window_previous_and_ratios_match_plain_pandas(function_data):
    results, typed, staff = function_data
    monthly = typed.groupby(["id", "period"])["amount"].sum().unstack("period")
    months = [f"2026-{m:02d}" for m in range(1, 7)]
    monthly = monthly.reindex(columns=months)
    # A row counts in its own month and the two after it; months with no rows in the
    # window are missing.
    rolling = (
        monthly.T.rolling(3, min_periods=1)
        .sum()
        .T.where(monthly.notna().T.rolling(3, min_periods=1).sum().T > 0)
    )
    previous = monthly.shift(1, axis=1)
    index = pd.MultiIndex.from_product([sorted(monthly.index), months])

    def flat(frame):
        return frame.stack(future_stack=True).reindex(index).rename_axis(["subject", "period"])

    pd.testing.assert_series_equal(
        engine_values(results, "rolling"),
        full(flat(rolling), results),
        check_names=False,
        rtol=1e-9,
    )
    pd.testing.assert_series_equal(
        engine_values(results, "last"), full(flat(previous), results), check_names=False
    )
    growth = flat(monthly / previous - 1)
    pd.testing.assert_series_equal(
        engine_values(results, "growth"), full(growth, results), check_names=False, rtol=1e-9
    )
    quota = staff.set_index("id")["quota"].astype(float)
    total = engine_values(results, "total")
    want = total / quota.reindex(total.index.get_level_values("subject")).to_numpy()
    pd.testing.assert_series_equal(
        engine_values(results, "quota_share"), want.round(9), check_names=False
    )


def test_scalar_functions(function_data):
    results, _, _ = function_data
    total = engine_values(results, "total")
    pd.testing.assert_series_equal(
        engine_values(results, "capped"), total.clip(upper=500), check_names=False
    )
    big = np.where(total > 1000, 1.0, 0.0)
    # if/then/else on a missing total takes the else branch (the condition does not hold).
    pd.testing.assert_series_equal(
        engine_values(results, "big"), pd.Series(big, index=total.index), check_names=False
    )
    spread = (engine_values(results, "high") - engine_values(results, "low")).abs()
    pd.testing.assert_series_equal(engine_values(results, "spread"), spread, check_names=False)
    safe = engine_values(results, "avg").fillna(0.0)
    pd.testing.assert_series_equal(engine_values(results, "safe"), safe, check_names=False)


# ---------------------------------------------------------------- scoring and money


def curve(*points, otherwise=0, better="higher"):
    kinds = ["threshold", "target", "stretch"]
    return Curve(
        tuple(
            CurvePoint(PointKind(kinds[i] if i < 3 else "point"), v, s, None)
            for i, (v, s) in enumerate(points)
        ),
        otherwise,
        Better(better),
    )


def test_curve_shapes_by_hand():
    higher = curve((10, 50), (20, 100), (30, 150))
    values = pd.Series([5, 10, 15, 20, 25, 30, 40, np.nan])
    assert curve_score(values, higher).tolist()[:7] == [0, 50, 75, 100, 125, 150, 150]
    assert np.isnan(curve_score(values, higher).iloc[7])
    lower = curve((5, 50), (3, 100), (2, 120), otherwise=10, better="lower")
    got = curve_score(pd.Series([6, 5, 4, 3, 2.5, 2, 1]), lower).tolist()
    assert got == [10, 50, 75, 100, 110, 120, 120]
    closer = Curve(
        (
            CurvePoint(PointKind.POINT, 90, 50, None),
            CurvePoint(PointKind.TARGET, 100, 100, None),
            CurvePoint(PointKind.POINT, 110, 50, None),
        ),
        0,
        Better.CLOSER,
    )
    got = curve_score(pd.Series([80, 90, 95, 100, 105, 110, 120]), closer).tolist()
    assert got == [0, 50, 75, 100, 75, 50, 0]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("half_even", [0.12, 0.14, 2.68, -0.12, 1000.0, 0.0]),
        ("half_up", [0.13, 0.14, 2.68, -0.13, 1000.01, 0.01]),
        ("down", [0.12, 0.13, 2.67, -0.12, 1000.0, 0.0]),
        ("up", [0.13, 0.14, 2.68, -0.13, 1000.01, 0.01]),
    ],
)
def test_money_rounding_modes(mode, expected):
    from decimal import Decimal

    # 0.125 and 1000.005 are exact halves once float noise is removed; 2.675 too.
    amounts = pd.Series([0.125, 0.135, 2.675, -0.125, 1000.005, 0.005])
    assert round_money(amounts, mode, Decimal("0.01")).tolist() == expected


MISSING = """\
policy "M" {
  cadence monthly
  effective 2026-01-01 to 2026-01-31
}
roster people {
  key id
  columns { id: text }
}
source a { subject id  time day  columns { id: text  day: date  x: number } }
source b { subject id  time day  columns { id: text  day: date  y: number } }
indicator ia { unit number  better higher  = sum(a.x) }
indicator ib { unit number  better higher  = sum(b.y) }
indicator ratio { unit number  better higher  = sum(a.x) / sum(b.y) }
scorecard card {
  applies to people
  indicator ia weight 60% { threshold 0 => 0  target 10 => 100 }
  indicator ib weight 40% { threshold 0 => 0  target 10 => 100 }
  when missing => MODE
}
"""


@pytest.mark.parametrize(
    ("mode", "total", "status"),
    [
        ("reweight", 50.0, "reweighted"),  # only ia present: 50 with its weight scaled to 100%
        ("score 20", 0.6 * 50 + 0.4 * 20, "filled"),
        ("fail", None, "incomplete"),
    ],
)
def test_missing_data_modes(mode, total, status):
    people = pd.DataFrame({"id": ["p1"]})
    a = pd.DataFrame({"id": ["p1"], "day": ["2026-01-05"], "x": ["5"]})
    b = pd.DataFrame(
        {
            "id": pd.Series([], dtype=str),
            "day": pd.Series([], dtype=str),
            "y": pd.Series([], dtype=str),
        }
    )
    results = evaluate(load(MISSING.replace("MODE", mode)), {"people": people, "a": a, "b": b})
    (got,) = results.totals.itertuples()
    assert (got.total if got.total == got.total else None) == total
    assert got.status == status


def test_division_by_zero_is_missing_with_a_note():
    people = pd.DataFrame({"id": ["p1", "p2"]})
    a = pd.DataFrame({"id": ["p1", "p2"], "day": ["2026-01-05"] * 2, "x": ["5", "6"]})
    b = pd.DataFrame({"id": ["p1", "p2"], "day": ["2026-01-05"] * 2, "y": ["0", "3"]})
    results = evaluate(
        load(MISSING.replace("MODE", "reweight")), {"people": people, "a": a, "b": b}
    )
    ratio = engine_values(results, "ratio")
    assert np.isnan(ratio.loc[("p1", "2026-01")]) and ratio.loc[("p2", "2026-01")] == 2
    (note,) = results.notes.itertuples()
    assert note.where == "indicator ratio" and note.count == 1
    assert "division by zero" in note.note


GATES = """\
policy "G" {
  cadence monthly
  effective 2026-01-01 to 2026-01-31
  currency CNY
}
roster people {
  key id
  columns { id: text }
}
source a { subject id  time day  columns { id: text  day: date  x: number  y: number } }
indicator ix { unit number  better higher  = sum(a.x) }
indicator iy { unit number  better closer  = sum(a.y) }
scorecard card {
  applies to people
  indicator ix weight 50% { threshold 0 => 0  target 10 => 100 }
  indicator iy weight 50% {
    threshold 80 => 50  target 100 => 100  threshold 120 => 50 }
  when missing => fail
  gate ix >= 5 else score 10
}
incentive bonus for card {
  gate iy reaches threshold
  pay 100 CNY
  floor 50 CNY
}
"""


def test_gates_floors_and_closer_levels_by_hand():
    people = pd.DataFrame({"id": ["p1", "p2", "p3", "p4"]})
    a = pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p4"],
            "day": ["2026-01-05"] * 4,
            # p1: ix 10, iy 100 (on target). p2: ix 2 (gate fails), iy 130 (outside both
            # points). p3: ix 8, iy 85 (between the points). p4: ix 9, iy missing.
            "x": ["10", "2", "8", "9"],
            "y": ["100", "130", "85", ""],
        }
    )
    results = evaluate(load(GATES), {"people": people, "a": a})
    totals = results.totals.set_index("subject")
    assert totals.loc["p1", "total"] == 100
    assert totals.loc["p2", "total"] == 10  # gate failed: `else score 10`
    assert "gate failed" in totals.loc["p2", "status"]
    # p4: iy is missing and the rule is `fail`: the gate must not invent a total.
    assert np.isnan(totals.loc["p4", "total"]) and totals.loc["p4", "status"] == "incomplete"
    pay = results.payouts.set_index("subject")
    # `iy reaches threshold`: within the two thresholds (80..120) around the target.
    assert pay.loc["p1", "amount"] == 100 and pay.loc["p3", "amount"] == 100
    # p2 is outside: the gate closes, and the floor does not reopen it.
    assert not pay.loc["p2", "gate_passed"] and pay.loc["p2", "amount"] == 0


def test_people_are_only_evaluated_while_employed():
    people = pd.concat(
        [
            EMPLOYEES,
            pd.DataFrame(
                {
                    "employee_id": ["e5"],
                    "department": ["Sales"],
                    "role": ["rep"],
                    "manager_id": ["m1"],
                    "base_salary": ["10000"],
                    "hired_on": ["2026-05-01"],
                }
            ),
        ]
    )
    results = evaluate(
        load(POLICY.replace("when missing => reweight", "when missing => score 0")),
        {"employees": people, "orders": ORDERS},
    )
    e5 = results.totals[results.totals["subject"] == "e5"]
    # Hired on 1 May: nothing in Q1; from Q2 on, scored 0 for having no data.
    assert e5["period"].tolist() == ["2026-Q2", "2026-Q3", "2026-Q4"]
    assert set(results.actions.loc[results.actions["subject"] == "e5", "period"]) <= {
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
    }
    assert "2026-Q1" not in set(results.payouts.loc[results.payouts["subject"] == "e5", "period"])


def test_rolling_windows_read_history_and_timeless_sources():
    text = """
policy "W" { cadence quarterly  effective 2026-01-01 to 2026-12-31 }
roster people { key id  columns { id: text } }
source sales { subject id  time day  columns { id: text  day: date  amount: number } }
source skills { subject id  columns { id: text  level: number } }
indicator rolling { unit number  better higher  = sum(sales.amount over last 3 periods) }
indicator skill { unit number  better higher  = max(skills.level) }
"""
    sales = pd.DataFrame(
        {
            "id": ["p1"] * 4,
            # 2025-Q3 and 2025-Q4 are history for the 3-quarter window of 2026-Q1.
            "day": ["2025-08-01", "2025-11-01", "2026-02-01", "2026-05-01"],
            "amount": ["1", "2", "4", "8"],
        }
    )
    skills = pd.DataFrame({"id": ["p1", "p1"], "level": ["3", "5"]})
    results = evaluate(
        load(text), {"people": pd.DataFrame({"id": ["p1"]}), "sales": sales, "skills": skills}
    )
    rolling = engine_values(results, "rolling").loc["p1"].tolist()
    # Q1: 1 + 2 + 4; Q2: 2 + 4 + 8; Q3: 4 + 8; Q4: 8 (Q2 is the last row in its window).
    assert rolling == [7.0, 14.0, 12.0, 8.0]
    # A source without a time column counts in every period.
    assert engine_values(results, "skill").loc["p1"].tolist() == [5.0] * 4


def test_reweight_with_no_data_at_all_gives_no_total():
    text = MISSING.replace("MODE", "reweight").replace(
        "indicator ib weight 40% { threshold 0 => 0  target 10 => 100 }",
        "indicator ib weight 40% { threshold 0 => 0  target 10 => 100  when missing => score 30 }",
    )
    people = pd.DataFrame({"id": ["p1", "p2"]})
    a = pd.DataFrame({"id": ["p1"], "day": ["2026-01-05"], "x": ["5"]})
    empty = pd.DataFrame(
        {
            "id": pd.Series([], dtype=str),
            "day": pd.Series([], dtype=str),
            "y": pd.Series([], dtype=str),
        }
    )
    totals = evaluate(load(text), {"people": people, "a": a, "b": empty}).totals.set_index(
        "subject"
    )
    # p1: ia 5 → 50 and ib filled with 30: 0.6 × 50 + 0.4 × 30.
    assert totals.loc["p1", "total"] == pytest.approx(42)
    # p2 has no data at all: the fill alone does not make a total.
    assert np.isnan(totals.loc["p2", "total"]) and totals.loc["p2", "status"] == "incomplete"


@pytest.mark.parametrize(
    ("func", "expected"),
    # (no rows, rows none passing the filter, rows passing with every value missing)
    [
        ("count", [np.nan, 0.0, 0.0]),
        ("count_distinct", [np.nan, 0.0, 0.0]),
        ("sum", [np.nan, 0.0, np.nan]),
        ("mean", [np.nan, np.nan, np.nan]),
        ("median", [np.nan, np.nan, np.nan]),
    ],
)
def test_an_aggregate_of_nothing_is_one_rule_for_both_runners(func, expected):
    from kpirules.rules import aggregate_of_nothing

    has_rows = np.array([False, True, True])
    matched = np.array([False, False, True])
    got = aggregate_of_nothing(func, has_rows, matched)
    np.testing.assert_array_equal(got, np.array(expected))
    # the scalar form (explain) gives the same, case by case
    for i in range(3):
        one = aggregate_of_nothing(func, bool(has_rows[i]), bool(matched[i]))
        assert isinstance(one, float)
        assert (np.isnan(one) and np.isnan(expected[i])) or one == expected[i]


def test_a_roster_column_is_an_indicator_with_the_same_value_every_period():
    """Snapshot HR data (one row per person, e.g. an HRIS export's engagement score) can be
    an indicator directly: the roster row's value, in every period the person is evaluated."""
    text = FUNCTIONS.replace(
        "indicator total {",
        "indicator quota_now { unit money  better higher  = staff.quota }\nindicator total {",
    )
    staff = pd.DataFrame({"id": ["p1", "p2", "p3"], "quota": ["1500", "", "900.5"]})
    sales = pd.DataFrame(
        {
            "id": ["p1"],
            "day": ["2026-02-03"],
            "shipped": ["2026-02-04"],
            "amount": ["10"],
            "units": ["1"],
            "region": ["north"],
            "rush": ["false"],
        }
    )
    results = evaluate(load(text), {"staff": staff, "sales": sales})
    values = engine_values(results, "quota_now")
    periods = [f"2026-0{m}" for m in range(1, 7)]  # the policy runs January to June
    assert sorted(values.index.get_level_values("period").unique()) == periods
    for period in periods:
        assert values[("p1", period)] == 1500.0
        assert values[("p3", period)] == 900.5
        assert np.isnan(values[("p2", period)])  # no value on the roster: missing


def test_a_formula_of_constants_still_reads_no_data():
    module, _ = parse(FUNCTIONS.replace("= sum(sales.amount) }", "= 42 CNY }", 1), "t.kpi")
    policy, diagnostics = check([module])
    assert policy is None and [d.code for d in diagnostics] == ["E316"]
