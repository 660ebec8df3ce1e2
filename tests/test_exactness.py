"""Exactness: a number that is exactly on a boundary in exact arithmetic is on the boundary.

The rule (docs/language.md §4.4, §4.5, §4.7): arithmetic is carried at full precision —
indicator values and scores are not rounded before they are used downstream. Before
every comparison (rating levels, gates, band and tier bounds, level tests, a curve's
`otherwise` below its first point) and before money rounding, numbers are rounded to 9
decimal places. Money is then rounded with the policy's declared mode (default
`half_even 0.01`), so an amount that is exactly a half cent rounds by the mode.

Every expected value here is worked out by hand (see the comments) or with
`fractions.Fraction` / `decimal.Decimal` in plain arithmetic in the test — never taken
from the engine's output. Where a case is meant to catch float noise, the test also shows
that plain float arithmetic really is off there, so the case has teeth.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import kpirules
from kpirules.cli import main
from kpirules.engine import evaluate
from kpirules.trace import Explainer, Step

FIVE_LEVEL = """\
rating five_level "Five-level performance rating" {
  "Outstanding"       when score >= 120
  "Exceeds"           when score >= 105
  "Meets"             when score >= 90
  "Needs improvement" when score >= 70
  "Unsatisfactory"    otherwise
}
"""


def exact_curve(value: Fraction, points: list[tuple[int, int]], better: str) -> Fraction:
    """A curve in exact arithmetic: piecewise linear between the points (worst to best),
    flat beyond the last one, 0 (the default `otherwise`) worse than the first one."""
    sign = -1 if better == "lower" else 1
    v = sign * Fraction(value)
    xs = [sign * Fraction(x) for x, _ in points]
    ys = [Fraction(y) for _, y in points]
    if v < xs[0]:
        return Fraction(0)
    for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:], strict=False):
        if v <= x1:
            return y0 + (v - x0) * (y1 - y0) / (x1 - x0)
    return ys[-1]


def float_curve(value: float, points: list[tuple[float, float]], better: str) -> float:
    """The same curve in plain float arithmetic (the naive computation)."""
    sign = -1.0 if better == "lower" else 1.0
    v = sign * value
    xs = [sign * x for x, _ in points]
    ys = [float(y) for _, y in points]
    if v < xs[0]:
        return 0.0
    for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:], strict=False):
        if v <= x1:
            return y0 + (v - x0) * (y1 - y0) / (x1 - x0)
    return ys[-1]


def float_sum(values) -> float:
    """Left-to-right float sum, as a plain loop (no compensation)."""
    total = 0.0
    for v in values:
        total += float(v)
    return total


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


def load(project: Path, text: str, name: str = "p.kpi"):
    """Write the policy into the project and load it (raises if it does not check)."""
    path = project / name
    path.write_text(text, encoding="utf-8")
    return kpirules.load(path)


def one(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    (index,) = np.flatnonzero(mask)
    return frame.iloc[index]


def walk(step: Step):
    yield step
    for child in step.children:
        yield from walk(child)


# ---------------------------------------------------------------------------------------
# 1. The reported bug: a quarterly sales policy whose exact total is 70.

SALES = (
    """\
policy "Exactness sales" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
  currency CNY
}
roster employees {
  key employee_id
  role role
  columns { employee_id: text  role: text  base_salary: money }
}
source orders {
  subject rep_id
  time closed_on
  key order_id
  columns { order_id: text  rep_id: text  customer_id: text  closed_on: date  amount: money
            market: text  new_customer: bool  processing_days: days }
}
indicator new_customers { unit count  better higher
  = count_distinct(orders.customer_id where orders.new_customer) }
indicator new_market_share { unit percent  better higher
  = sum(orders.amount where orders.market == "new") / sum(orders.amount) }
indicator order_cycle { unit days  better lower  = mean(orders.processing_days) }
scorecard sales_rep {
  applies to employees where role == "sales_rep"
  indicator new_customers    weight 40% { threshold 3 => 50  target 6 => 100  stretch 9 => 150 }
  indicator new_market_share weight 35% { threshold 10% => 50  target 20% => 100 }
  indicator order_cycle      weight 25% { threshold 6 days => 50  target 4 days => 100 }
  GATES
  rating five_level
}
INCENTIVE
"""
    + FIVE_LEVEL
)

# 15 orders, all in the core market; 7 of them from new customers; processing days
# adding up to 64, so the order cycle is 64/15 = 4.2666… days.
PROCESSING_DAYS = [3, 4, 5, 4, 4, 6, 3, 5, 4, 4, 5, 4, 5, 4, 4]
SALES_EMPLOYEES = pd.DataFrame(
    {"employee_id": ["e1"], "role": ["sales_rep"], "base_salary": ["20000"]}
)
SALES_ORDERS = pd.DataFrame(
    {
        "order_id": [f"o{i}" for i in range(1, 16)],
        "rep_id": ["e1"] * 15,
        "customer_id": [f"c{i}" for i in range(1, 16)],
        "closed_on": [f"2026-0{1 + i % 3}-1{i % 9}" for i in range(15)],
        "amount": ["1000"] * 15,
        "market": ["core"] * 15,
        "new_customer": ["true"] * 7 + ["false"] * 8,
        "processing_days": [str(d) for d in PROCESSING_DAYS],
    }
)
SALES_DATA = {"employees": SALES_EMPLOYEES, "orders": SALES_ORDERS}


def sales_policy(gates: str = "", incentive: str = "") -> str:
    return SALES.replace("GATES", gates).replace("INCENTIVE", incentive)


# The same policy with gates on the total, and with pay tiers on the total.
SALES_GATED = sales_policy(
    gates="gate score >= 70 else cap 60",
    incentive="""\
incentive bonus for sales_rep {
  gate score >= 70
  pay 500 CNY
}
""",
)
SALES_TIERED = sales_policy(
    incentive="""\
incentive bonus for sales_rep {
  pay tiers on score {
    below 70    => 0 CNY
    at least 70 => 1000 CNY
  }
}
"""
)


def sales_exact_total() -> Fraction:
    # new_customers 7: a third of the way from target 6 (100) to stretch 9 (150):
    #   100 + 50/3 = 350/3.
    # new_market_share 0%: below the 10% threshold, `otherwise` 0.
    # order_cycle 64/15 days (better lower): from threshold 6 (50) towards target 4
    #   (100): 50 + (6 - 64/15) / 2 × 50 = 50 + 130/3 = 280/3.
    # total: 40% × 350/3 + 35% × 0 + 25% × 280/3 = 140/3 + 70/3 = 70 exactly.
    assert sum(PROCESSING_DAYS) == 64 and len(PROCESSING_DAYS) == 15
    cycle = Fraction(sum(PROCESSING_DAYS), len(PROCESSING_DAYS))
    customers = exact_curve(Fraction(7), [(3, 50), (6, 100), (9, 150)], "higher")
    cycle_score = exact_curve(cycle, [(6, 50), (4, 100)], "lower")
    assert (customers, cycle_score) == (Fraction(350, 3), Fraction(280, 3))
    return Fraction(40, 100) * customers + Fraction(25, 100) * cycle_score


def test_the_reported_case_is_rated_needs_improvement(project):
    assert sales_exact_total() == 70
    results = evaluate(load(project, sales_policy()), SALES_DATA)
    scores = results.scores
    assert one(scores, subject="e1", indicator="new_customers")["value"] == 7
    assert one(scores, subject="e1", indicator="new_market_share")["score"] == 0
    assert one(scores, subject="e1", indicator="order_cycle")["value"] == pytest.approx(64 / 15)
    total = one(results.totals, subject="e1", period="2026-Q1")
    # Exactly 70 is on the boundary: `"Needs improvement" when score >= 70` holds.
    assert total["rating"] == "Needs improvement"
    assert total["total"] == pytest.approx(70, abs=1e-9)


def test_explain_reports_the_matching_level(project):
    trace = Explainer(load(project, sales_policy()), SALES_DATA).explain("e1", "2026-Q1")
    (rating,) = [s for s in walk(trace) if s.title.startswith("rating ")]
    assert rating.value == "Needs improvement"
    assert rating.title == "rating Needs improvement"
    # The levels tried: the four above do not hold, 70 does and stops the list.
    tried = [(c.title.split(":")[0], c.value) for c in rating.children]
    assert tried == [
        ('"Outstanding" when score >= 120', False),
        ('"Exceeds" when score >= 105', False),
        ('"Meets" when score >= 90', False),
        ('"Needs improvement" when score >= 70', True),
    ]
    assert "matches" in rating.children[-1].title


# ---------------------------------------------------------------------------------------
# 2. Totals exactly on every boundary of a five-level rating, through thirds and sevenths.

BOUNDARIES = (
    """\
policy "Boundaries" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
}
roster people {
  key id
  columns { id: text }
}
source deals { subject id  time day  columns { id: text  day: date } }
source tickets { subject id  time day  columns { id: text  day: date  days: days  csat: number } }
indicator volume { unit count  better higher  = count(deals) }
indicator cycle { unit days  better lower  = mean(tickets.days) }
indicator satisfaction { unit number  better higher  = mean(tickets.csat) }
scorecard card {
  applies to people
  indicator volume weight 30% { threshold 3 => 50  target 6 => 100  stretch 9 => 150 }
  indicator cycle weight 40% {
    threshold 6 days => 50  target 4 days => 100  stretch 3 days => 130 }
  indicator satisfaction weight 30% { threshold 3 => 50  target 4 => 100  stretch 5 => 150 }
  rating five_level
}
"""
    + FIVE_LEVEL
)
VOLUME = [(3, 50), (6, 100), (9, 150)]
CYCLE = [(6, 50), (4, 100), (3, 130)]
SATISFACTION = [(3, 50), (4, 100), (5, 150)]

# (deals, ticket days over 7 tickets, csat over 7 tickets, level): the exact total is the
# level's bound. Worked by hand for the first case: 8 deals → 100 + 2/3 × 50 = 400/3;
# cycle 30/7 days → 50 + (6 - 30/7) / 2 × 50 = 650/7; csat 34/7 → 100 + (34/7 - 4) × 50 =
# 1000/7; total 30% × 400/3 + 40% × 650/7 + 30% × 1000/7 = 40 + 260/7 + 300/7 = 120.
BOUNDARY_CASES = [
    (8, [4, 4, 4, 4, 4, 5, 5], [4, 5, 5, 5, 5, 5, 5], "Outstanding"),  # 400/3, 650/7, 1000/7
    (7, [3, 3, 3, 3, 3, 4, 4], [4, 4, 4, 4, 5, 5, 5], "Outstanding"),  # 350/3, 850/7, 850/7
    (5, [4, 4, 4, 4, 4, 5, 5], [4, 5, 5, 5, 5, 5, 5], "Exceeds"),  # 250/3, 650/7, 1000/7
    (4, [3, 3, 3, 3, 3, 4, 4], [4, 4, 4, 4, 5, 5, 5], "Exceeds"),  # 200/3, 850/7, 850/7
    (7, [4, 5, 5, 5, 5, 5, 5], [4, 4, 4, 5, 5, 5, 5], "Exceeds"),  # 350/3, 550/7, 900/7
    (9, [5, 5, 5, 5, 6, 6, 6], [3, 3, 3, 3, 3, 4, 4], "Meets"),  # 150, 450/7, 450/7
    (5, [4, 4, 4, 4, 4, 5, 5], [3, 4, 4, 4, 4, 4, 4], "Meets"),  # 250/3, 650/7, 650/7
    (4, [4, 5, 5, 5, 5, 5, 5], [4, 4, 4, 5, 5, 5, 5], "Meets"),  # 200/3, 550/7, 900/7
    (3, [4, 5, 5, 5, 5, 5, 5], [3, 3, 3, 4, 4, 4, 4], "Needs improvement"),  # 50, 550/7, 550/7
    (5, [5, 6, 6, 6, 6, 6, 6], [3, 3, 3, 4, 4, 4, 4], "Needs improvement"),  # 250/3, 375/7, 550/7
]
BOUND = {"Outstanding": 120, "Exceeds": 105, "Meets": 90, "Needs improvement": 70}


def boundary_exact(deals: int, days: list[int], csat: list[int]) -> Fraction:
    return (
        Fraction(30, 100) * exact_curve(Fraction(deals), VOLUME, "higher")
        + Fraction(40, 100) * exact_curve(Fraction(sum(days), len(days)), CYCLE, "lower")
        + Fraction(30, 100) * exact_curve(Fraction(sum(csat), len(csat)), SATISFACTION, "higher")
    )


def boundary_float(deals: int, days: list[int], csat: list[int]) -> float:
    return (
        0.3 * float_curve(float(deals), VOLUME, "higher")
        + 0.4 * float_curve(float_sum(days) / len(days), CYCLE, "lower")
        + 0.3 * float_curve(float_sum(csat) / len(csat), SATISFACTION, "higher")
    )


def test_boundary_cases_are_exact_and_some_are_off_in_plain_floats():
    for deals, days, csat, level in BOUNDARY_CASES:
        assert boundary_exact(deals, days, csat) == BOUND[level], (deals, days, csat)
    # The suite has teeth: naive float arithmetic lands off the boundary in some cases,
    # below it in at least one (where a naive comparison would give the level below).
    naive = [boundary_float(d, t, c) for d, t, c, _ in BOUNDARY_CASES]
    exact = [BOUND[level] for *_, level in BOUNDARY_CASES]
    assert any(n != e for n, e in zip(naive, exact, strict=True))
    assert any(n < e for n, e in zip(naive, exact, strict=True))


@pytest.fixture(scope="module")
def boundary_results(tmp_path_factory):
    project = tmp_path_factory.mktemp("boundaries")
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    people, deals, tickets = [], [], []
    for number, (count, days, csat, _) in enumerate(BOUNDARY_CASES):
        person = f"p{number}"
        people.append(person)
        deals += [(person, "2026-02-02")] * count
        tickets += [(person, "2026-02-03", str(d), str(c)) for d, c in zip(days, csat, strict=True)]
    data = {
        "people": pd.DataFrame({"id": people}),
        "deals": pd.DataFrame(deals, columns=["id", "day"]),
        "tickets": pd.DataFrame(tickets, columns=["id", "day", "days", "csat"]),
    }
    return evaluate(load(project, BOUNDARIES), data)


@pytest.mark.parametrize(
    ("number", "level"),
    [(n, case[-1]) for n, case in enumerate(BOUNDARY_CASES)],
    ids=[f"{case[-1]}-{n}" for n, case in enumerate(BOUNDARY_CASES)],
)
def test_a_total_exactly_on_a_rating_boundary_reaches_the_level(boundary_results, number, level):
    total = one(boundary_results.totals, subject=f"p{number}")
    assert total["rating"] == level
    # Carried at full precision, the total shown is the bound (not a few 1e-9 off).
    assert total["total"] == pytest.approx(BOUND[level], abs=1e-9)


# ---------------------------------------------------------------------------------------
# 3. Gates exactly at the boundary.

GATES = """\
policy "Gates" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
  currency CNY
}
roster employees {
  key employee_id
  columns { employee_id: text }
}
source orders {
  subject rep_id
  time closed_on
  key order_id
  columns { order_id: text  rep_id: text  closed_on: date  amount: money  market: text
            processing_days: days }
}
indicator new_market_share { unit percent  better higher
  = sum(orders.amount where orders.market == "new") / sum(orders.amount) }
indicator order_cycle { unit days  better lower  = mean(orders.processing_days) }
scorecard rep {
  applies to employees
  indicator new_market_share weight 50% { threshold 10% => 50  target 20% => 100 }
  indicator order_cycle      weight 50% { threshold 6 days => 50  target 4 days => 100 }
  gate new_market_share >= 10%
  gate order_cycle <= 4 days else cap 10
}
incentive bonus for rep {
  gate new_market_share >= 10%
  gate new_market_share reaches threshold
  gate order_cycle reaches target
  pay 500 CNY
}
"""
# New-market orders of 1,336.46 and 5,295.01 CNY (6,631.47) out of 66,314.70 CNY in all:
# exactly 10%. Processing days 1.2 + 4.4 + 8.3 + 2.1 = 16 over 4 orders: exactly 4 days.
GATE_AMOUNTS = ["1336.46", "5295.01", "37706.05", "21977.18"]
GATE_MARKETS = ["new", "new", "core", "core"]
GATE_DAYS = ["1.2", "4.4", "8.3", "2.1"]


def test_gates_on_values_exactly_at_the_bound_hold(project):
    new = sum(Fraction(a) for a, m in zip(GATE_AMOUNTS, GATE_MARKETS, strict=True) if m == "new")
    assert new / sum(Fraction(a) for a in GATE_AMOUNTS) == Fraction(1, 10)
    assert sum(Fraction(d) for d in GATE_DAYS) / len(GATE_DAYS) == 4
    # Plain floats are an ulp off on the wrong side of both bounds.
    float_new = float_sum(
        float(a) for a, m in zip(GATE_AMOUNTS, GATE_MARKETS, strict=True) if m == "new"
    )
    assert float_new / float_sum(GATE_AMOUNTS) < 0.1
    assert float_sum(GATE_DAYS) / len(GATE_DAYS) > 4

    data = {
        "employees": pd.DataFrame({"employee_id": ["e1"]}),
        "orders": pd.DataFrame(
            {
                "order_id": ["o1", "o2", "o3", "o4"],
                "rep_id": ["e1"] * 4,
                "closed_on": ["2026-01-05", "2026-02-05", "2026-02-20", "2026-03-05"],
                "amount": GATE_AMOUNTS,
                "market": GATE_MARKETS,
                "processing_days": GATE_DAYS,
            }
        ),
    }
    results = evaluate(load(project, GATES), data)
    scores = results.scores
    # A value exactly at the first point is on the curve (50), not `otherwise` (0).
    share = one(scores, subject="e1", indicator="new_market_share")["score"]
    assert share == pytest.approx(50, abs=1e-9)
    # Exactly the target of 4 days: 100 (scores are carried at full precision, hence approx).
    cycle = one(scores, subject="e1", indicator="order_cycle")["score"]
    assert cycle == pytest.approx(100, abs=1e-9)
    total = one(results.totals, subject="e1")
    # 50% × 50 + 50% × 100 = 75; both scorecard gates hold, so nothing is zeroed or capped.
    assert total["total"] == pytest.approx(75, abs=1e-9)
    assert "gate failed" not in total["status"]
    pay = one(results.payouts, subject="e1")
    assert bool(pay["gate_passed"]) and pay["amount"] == 500


def test_gates_on_a_total_exactly_at_the_bound_hold(project):
    # The reported case again: the exact total is 70, so `score >= 70` holds in the
    # scorecard gate (no cap to 60) and in the incentive gate (500 CNY is paid).
    assert sales_exact_total() == 70
    results = evaluate(load(project, SALES_GATED), SALES_DATA)
    total = one(results.totals, subject="e1")
    assert "gate failed" not in total["status"]
    assert total["total"] == pytest.approx(70, abs=1e-9)
    assert total["rating"] == "Needs improvement"
    pay = one(results.payouts, subject="e1")
    assert bool(pay["gate_passed"]) and pay["amount"] == 500


# ---------------------------------------------------------------------------------------
# 4. Band and tier bounds.

BANDS = """\
policy "Bands" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
}
roster people {
  key id
  columns { id: text }
}
source checks { subject id  time day  columns { id: text  day: date  x: number } }
indicator quality { unit number  better higher  = mean(checks.x) }
scorecard card {
  applies to people
  indicator quality weight 100% { bands first { BANDS } }
}
"""


BAND_CASES = [
    # mean(0.1, 0.7) is exactly 0.4 (float: 0.39999999999999997).
    ("at least 0.4 => 100  otherwise => 10", ["0.1", "0.7"], 100),
    ("below 0.4 => 100  otherwise => 10", ["0.1", "0.7"], 10),
    ("from 0.4 to 0.5 => 100  otherwise => 10", ["0.1", "0.7"], 100),  # X <= v
    # mean(0.1, 0.2) is exactly 0.15 (float: 0.15000000000000002).
    ("at most 0.15 => 100  otherwise => 10", ["0.1", "0.2"], 100),
    ("above 0.15 => 100  otherwise => 10", ["0.1", "0.2"], 10),
    ("from 0.1 to 0.15 => 100  otherwise => 10", ["0.1", "0.2"], 10),  # v < Y
]


@pytest.mark.parametrize(("bands", "values", "score"), BAND_CASES)
def test_a_value_exactly_on_a_band_bound(project, bands, values, score):
    exact = sum(Fraction(v) for v in values) / len(values)
    assert exact in (Fraction(4, 10), Fraction(15, 100))
    assert float_sum(values) / len(values) != float(exact)  # float is an ulp off
    data = {
        "people": pd.DataFrame({"id": ["p1"]}),
        "checks": pd.DataFrame(
            {"id": ["p1"] * len(values), "day": ["2026-02-02"] * len(values), "x": values}
        ),
    }
    results = evaluate(load(project, BANDS.replace("BANDS", bands)), data)
    assert one(results.scores, subject="p1")["score"] == score


def test_pay_tiers_on_a_total_exactly_at_the_bound(project):
    # The exact total 70 is `at least 70`, not `below 70`: the tier pays 1,000 CNY.
    assert sales_exact_total() == 70
    results = evaluate(load(project, SALES_TIERED), SALES_DATA)
    assert one(results.payouts, subject="e1")["amount"] == 1000


# ---------------------------------------------------------------------------------------
# 5. Half-cent payouts.

MONEY = """\
policy "Money" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
  currency CNY
  ROUNDING
}
roster employees {
  key employee_id
  columns { employee_id: text  base_salary: money }
}
source orders {
  subject rep_id
  time closed_on
  key order_id
  columns { order_id: text  rep_id: text  closed_on: date  amount: money }
}
indicator revenue { unit money  better higher  = sum(orders.amount) }
scorecard rep {
  applies to employees
  indicator revenue weight 100% {
    threshold 100_000 CNY => 50  target 200_000 CNY => 100  stretch 540_000 CNY => 150 }
}
incentive bonus for rep {
  pay employees.base_salary * 10% * min(score, 150) / 100
}
"""
REVENUE_CURVE = [(100_000, 50), (200_000, 100), (540_000, 150)]
# (person, base salary, revenue). Hand arithmetic:
# e1 (the reported case): revenue 483,700 → 100 + 50 × 283,700 / 340,000 = 100 + 2837/68
#    = 9637/68 = 141.7205882352941…; 32,300 × 10% × 9637/68 / 100 = 4,577.575 exactly.
# e2: revenue 420,450 → 100 + 50 × 220,450 / 340,000 = 100 + 4409/136 = 18009/136
#    = 132.4191176470588…; 17,000 × 10% × 18009/136 / 100 = 2,251.125 exactly.
MONEY_PEOPLE = [("e1", 32_300, 483_700), ("e2", 17_000, 420_450)]
MODES = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}


def exact_pay(base: int, revenue: int) -> Fraction:
    score = exact_curve(Fraction(revenue), REVENUE_CURVE, "higher")
    return Fraction(base) * Fraction(10, 100) * min(score, Fraction(150)) / 100


def test_the_payouts_are_exact_half_cents_on_repeating_scores():
    assert exact_pay(32_300, 483_700) == Fraction("4577.575")
    assert exact_pay(17_000, 420_450) == Fraction("2251.125")
    assert exact_curve(Fraction(483_700), REVENUE_CURVE, "higher") == Fraction(9637, 68)
    assert exact_curve(Fraction(420_450), REVENUE_CURVE, "higher") == Fraction(18009, 136)


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        # By hand: half_even 4,577.575 → 4,577.58 (7 is odd); 2,251.125 → 2,251.12 (2 is even).
        ("", {"e1": "4577.58", "e2": "2251.12"}),  # the default is half_even 0.01
        ("rounding half_even 0.01", {"e1": "4577.58", "e2": "2251.12"}),
        ("rounding half_up 0.01", {"e1": "4577.58", "e2": "2251.13"}),
        ("rounding down 0.01", {"e1": "4577.57", "e2": "2251.12"}),
        ("rounding up 0.01", {"e1": "4577.58", "e2": "2251.13"}),
    ],
)
def test_half_cent_payouts_round_by_the_declared_mode(project, rounding, expected):
    mode = rounding.split()[1] if rounding else "half_even"
    for person, base, revenue in MONEY_PEOPLE:
        amount = exact_pay(base, revenue)
        exact = Decimal(amount.numerator) / Decimal(amount.denominator)  # terminates
        assert exact.quantize(Decimal("0.01"), rounding=MODES[mode]) == Decimal(expected[person])
    data = {
        "employees": pd.DataFrame(
            {
                "employee_id": [p for p, _, _ in MONEY_PEOPLE],
                "base_salary": [str(b) for _, b, _ in MONEY_PEOPLE],
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": ["o1", "o2", "o3", "o4"],
                "rep_id": ["e1", "e1", "e2", "e2"],
                "closed_on": ["2026-01-10", "2026-02-10", "2026-01-20", "2026-03-02"],
                # e1: 250,000 + 233,700 = 483,700; e2: 400,000 + 20,450 = 420,450.
                "amount": ["250000", "233700", "400000", "20450"],
            }
        ),
    }
    results = evaluate(load(project, MONEY.replace("ROUNDING", rounding)), data)
    got = {p: float(one(results.payouts, subject=p)["amount"]) for p, _, _ in MONEY_PEOPLE}
    assert got == {p: float(amount) for p, amount in expected.items()}


# ---------------------------------------------------------------------------------------
# 6. `count(s.col)` of a text column counts the rows where the column has a value.

COUNT_TEXT = """\
policy "Count" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
}
roster employees {
  key employee_id
  columns { employee_id: text }
}
source orders {
  subject rep_id
  time closed_on
  columns { order_id: text  rep_id: text  closed_on: date }
}
indicator orders_logged { unit count  better higher  = count(orders.order_id) }
indicator order_rows { unit count  better higher  = count(orders) }
scorecard rep {
  applies to employees
  indicator orders_logged weight 50% { threshold 1 => 50  target 2 => 100 }
  indicator order_rows    weight 50% { threshold 1 => 50  target 2 => 100 }
}
"""


def test_count_of_a_text_column_counts_the_rows_with_a_value(project):
    data = {
        "employees": pd.DataFrame({"employee_id": ["e1", "e2", "e3"]}),
        "orders": pd.DataFrame(
            {
                # e1: three orders, one without an order id. e2: two orders, neither with
                # an order id. e3: no orders at all.
                "order_id": ["o1", "", "o3", "", ""],
                "rep_id": ["e1", "e1", "e1", "e2", "e2"],
                "closed_on": ["2026-01-05", "2026-02-05", "2026-03-05", "2026-01-06", "2026-01-07"],
            }
        ),
    }
    results = evaluate(load(project, COUNT_TEXT), data)
    values = results.indicators
    logged = {
        s: one(values, subject=s, indicator="orders_logged")["value"] for s in ("e1", "e2", "e3")
    }
    rows = {s: one(values, subject=s, indicator="order_rows")["value"] for s in ("e1", "e2", "e3")}
    # count(orders.order_id): rows where order_id has a value.
    assert logged["e1"] == 2
    # Rows exist, none with a value: a count is 0, not missing (only `sum` of all-empty
    # values is missing, docs/language.md §4.3).
    assert logged["e2"] == 0
    # No rows at all: missing, whatever the function.
    assert math.isnan(logged["e3"])
    # count(orders) counts rows.
    assert rows["e1"] == 3 and rows["e2"] == 2 and math.isnan(rows["e3"])


# ---------------------------------------------------------------------------------------
# 7. The command line on the reported case; every policy here checks clean.


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_eval_json_rates_the_reported_case_needs_improvement(project):
    (project / "p.kpi").write_text(sales_policy(), encoding="utf-8")
    folder = project / "data"
    folder.mkdir()
    SALES_EMPLOYEES.to_csv(folder / "employees.csv", index=False)
    SALES_ORDERS.to_csv(folder / "orders.csv", index=False)
    result = invoke("eval", str(project / "p.kpi"), "--data", str(folder), "--format", "json")
    assert "internal error" not in result.output
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (total,) = payload["totals"]
    assert total["subject"] == "e1" and total["period"] == "2026-Q1"
    assert total["rating"] == "Needs improvement"
    assert total["total"] == pytest.approx(70, abs=1e-9)
    explained = invoke("explain", str(project / "p.kpi"), "--data", str(folder), "--subject", "e1")
    assert "internal error" not in explained.output
    assert explained.exit_code == 0, explained.output
    assert '"Needs improvement" when score >= 70: matches' in explained.stdout


def test_cli_eval_of_count_of_a_text_column_does_not_crash(project):
    (project / "p.kpi").write_text(COUNT_TEXT, encoding="utf-8")
    folder = project / "data"
    folder.mkdir()
    (folder / "employees.csv").write_text("employee_id\ne1\n")
    (folder / "orders.csv").write_text(
        "order_id,rep_id,closed_on\no1,e1,2026-01-05\n,e1,2026-02-05\no3,e1,2026-03-05\n"
    )
    result = invoke("eval", str(project / "p.kpi"), "--data", str(folder), "--format", "json")
    assert "internal error" not in result.output
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)["indicators"]
    (logged,) = [v for v in values if v["indicator"] == "orders_logged"]
    assert logged["value"] == 2


ALL_POLICIES = {
    "sales": sales_policy(),
    "sales_gated": SALES_GATED,
    "sales_tiered": SALES_TIERED,
    "boundaries": BOUNDARIES,
    "gates": GATES,
    **{f"bands-{n}": BANDS.replace("BANDS", case[0]) for n, case in enumerate(BAND_CASES)},
    **{
        f"money-{mode or 'default'}": MONEY.replace(
            "ROUNDING", f"rounding {mode} 0.01" if mode else ""
        )
        for mode in ("", *MODES)
    },
    "count_text": COUNT_TEXT,
}


@pytest.mark.parametrize("name", sorted(ALL_POLICIES))
def test_every_policy_here_checks_clean(project, name):
    (project / "p.kpi").write_text(ALL_POLICIES[name], encoding="utf-8")
    result = invoke("check", str(project / "p.kpi"))
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output
