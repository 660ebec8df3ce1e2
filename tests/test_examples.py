"""The example policies with their committed sample data (`policies/<org>/data.yaml`).

- The data is what `scripts/generate_sample_data.py` writes, byte for byte.
- Every example evaluates with it: nothing blocks the run, every scorecard rates people
  in every period, the JSON validates, data-quality findings are reported and every input
  row is accounted for.
- For the sales example, totals and payouts are worked out again here with plain
  arithmetic from the engine's indicator values and the curve points written in
  `policies/sales/scorecards.kpi` and `incentives.kpi`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import openpyxl
import pytest
from jsonschema import Draft202012Validator

import kpirules
from kpirules.resources import schema

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
GENERATOR = ROOT / "scripts" / "generate_sample_data.py"
EXAMPLES = ["sales", "engineering", "customer_service", "manufacturing", "ecommerce", "zh_retail"]
# Freshness is judged at the end of the year under review, whatever the date today.
AS_OF = date(2027, 1, 4)
# Checks every example raises to `error`: the sample data must have none of them.
BLOCKING = {"unknown_subject", "duplicate_key", "missing_column"}
QUARTERS = {
    "2026-Q1": (date(2026, 1, 1), date(2026, 3, 31)),
    "2026-Q2": (date(2026, 4, 1), date(2026, 6, 30)),
    "2026-Q3": (date(2026, 7, 1), date(2026, 9, 30)),
    "2026-Q4": (date(2026, 10, 1), date(2026, 12, 31)),
}


def committed_files() -> list[Path]:
    """Every file the generator owns, relative to policies/."""
    found = []
    for org in EXAMPLES:
        found.append(Path(org, "data.yaml"))
        found += [p.relative_to(POLICIES) for p in sorted((POLICIES / org / "data").iterdir())]
    return found


_RESULTS: dict[str, object] = {}


def results(org: str):
    """Each example is evaluated once per test session."""
    if org not in _RESULTS:
        _RESULTS[org] = kpirules.evaluate(POLICIES / org, POLICIES / org / "data.yaml", as_of=AS_OF)
    return _RESULTS[org]


# ------------------------------------------------------------------ the generator


def test_generator_reproduces_the_committed_data_byte_for_byte(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated == sorted(committed_files())
    differ = [
        str(name)
        for name in generated
        if (tmp_path / name).read_bytes() != (POLICIES / name).read_bytes()
    ]
    assert differ == [], "regenerate with: python scripts/generate_sample_data.py"


def test_the_sample_data_stays_small() -> None:
    total = sum((POLICIES / name).stat().st_size for name in committed_files())
    assert total < 2_000_000


def test_every_example_has_a_roster_workbook_and_the_formats_vary() -> None:
    suffixes = {p.suffix for p in committed_files()}
    assert {".csv", ".xlsx", ".parquet", ".yaml"} <= suffixes
    for org in EXAMPLES:
        binding = (POLICIES / org / "data.yaml").read_text(encoding="utf-8")
        assert ".xlsx" in binding
    sales = (POLICIES / "sales" / "data.yaml").read_text(encoding="utf-8")
    assert "rename:" in sales and "sheet:" in sales


# ------------------------------------------------------------------ every example


@pytest.mark.parametrize("org", EXAMPLES)
def test_example_evaluates_with_its_committed_data(org: str) -> None:
    result = results(org)
    policy = result.policy
    assert not result.blocked
    assert len(result.periods) >= 4

    # Every scorecard rates people in every period, over several rating levels.
    totals = result.totals
    for card in policy.scorecards:
        mine = totals[totals["scorecard"] == card]
        for period in result.periods:
            rated = mine[(mine["period"] == period) & mine["total"].notna()]
            assert len(rated) > 0, (card, period)
        assert mine["rating"].nunique() >= 3, card
    people = totals["subject"].nunique()
    assert 20 <= people <= 80
    assert (result.payouts["amount"] > 0).any()
    assert len(result.actions) > 0
    assert result.notes.empty, result.notes.to_dict("records")

    # Data quality: findings are reported, none stops the run, and the data is fresh.
    quality = result.quality
    assert len(quality) > 0
    assert set(quality["severity"]) == {"warning"}
    assert not set(quality["check"]) & BLOCKING
    assert "stale" not in set(quality["check"])
    assert {"out_of_range"} <= set(quality["check"])

    # Every row read is used or excluded for one reason.
    accounting = result.accounting
    assert set(accounting["source"]) == set(policy.sources)
    for row in accounting.to_dict("records"):
        assert row["rows_read"] == row["rows_used"] + row["rows_excluded"], row
        reasons = sum(
            row[reason]
            for reason in (
                "null_key",
                "type_mismatch",
                "null_value",
                "not_allowed",
                "duplicate_key",
                "unknown_subject",
                "out_of_range",
            )
        )
        assert reasons == row["rows_excluded"], row
    # Every row-level check excludes its row, so the rows named by findings are exactly
    # the rows excluded.
    named = quality[quality["row"].notna()][["source", "row"]].drop_duplicates()
    assert len(named) == accounting["rows_excluded"].sum() > 0


@pytest.mark.parametrize("org", EXAMPLES)
def test_example_json_validates_against_the_results_schema(org: str) -> None:
    document = json.loads(results(org).to_json())
    errors = sorted(
        Draft202012Validator(schema("results.schema.json")).iter_errors(document),
        key=lambda e: list(e.path),
    )
    assert errors == [], errors[0].message if errors else ""
    assert document["blocked"] is False
    assert document["summary"]["payout_total"] > 0
    assert document["data_quality"]["findings"]


# ------------------------------------------------------------------ sales by hand

# policies/sales/scorecards.kpi, scorecard sales_rep: (value, score) points, worst first.
REP_CURVES = {
    "new_customers": ([3, 6, 9], [50, 100, 150]),
    "new_market_share": ([0.10, 0.20, 0.30], [50, 100, 150]),
    "quarterly_revenue": ([600_000, 1_200_000, 1_800_000], [50, 100, 150]),
    "order_cycle": ([5, 3, 2], [50, 100, 120]),  # better lower
    "skill_growth": ([16, 32, 48], [50, 100, 120]),
}
REP_WEIGHTS = {
    "new_customers": 0.30,
    "new_market_share": 0.25,
    "quarterly_revenue": 0.20,
    "order_cycle": 0.15,
    "skill_growth": 0.10,
}
INDUSTRY_ORDER_CYCLE = 4  # days: `gate order_cycle <= industry_order_cycle else cap 100`


def curve(name: str, value: float) -> float:
    """Linear between the points, flat beyond the last, 0 worse than the first."""
    xs, ys = REP_CURVES[name]
    if name == "order_cycle":  # lower is better: walk the points from worst to best
        if value > xs[0]:
            return 0.0
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            if x1 <= value <= x0:
                return y0 + (y1 - y0) * (x0 - value) / (x0 - x1)
        return ys[-1]
    if value < xs[0]:
        return 0.0
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= value <= x1:
            return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
    return ys[-1]


def rep_total(values: dict[str, float]) -> float:
    """The sales_rep total: missing skill_growth scores 0, other missing indicators are
    left out and the weights of the rest scaled back to 100%; the order-cycle gate caps
    at 100; the card caps at 150 and floors at 0."""
    scores = {}
    for name, value in values.items():
        if math.isnan(value):
            if name == "skill_growth":
                scores[name] = 0.0
            continue
        scores[name] = curve(name, value)
    weight = sum(REP_WEIGHTS[n] for n in scores)
    total = sum(scores[n] * REP_WEIGHTS[n] for n in scores) / weight
    cycle = values["order_cycle"]
    if math.isnan(cycle) or cycle > INDUSTRY_ORDER_CYCLE:
        total = min(total, 100)
    return max(0.0, min(total, 150))


def sales_roster() -> dict[str, dict]:
    """The HR workbook, read directly: employee id → its row (spreadsheet headers)."""
    book = openpyxl.load_workbook(POLICIES / "sales" / "data" / "hr_sales_staff.xlsx")
    rows = list(book["Employees"].iter_rows(values_only=True))
    header = rows[0]
    return {row[0]: dict(zip(header, row)) for row in rows[1:]}


def day(value) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def bonus(person: dict, period: str, total: float, share: float) -> Decimal:
    """incentives.kpi, quarterly_bonus: gate new-market share at threshold (10%); pay
    base x 50% x min(score, 150) / 100; cap 30 000; prorate by days employed; round
    half-even to the fen."""
    if math.isnan(share) or share < 0.10:
        return Decimal("0.00")
    amount = min(person["Base Salary"] * 0.5 * min(total, 150) / 100, 30_000)
    start, end = QUARTERS[period]
    first = max(start, day(person["Hired On"]))
    last = min(end, day(person["Left On"]) or end)
    employed = max(0, (last - first).days + 1)
    amount *= employed / ((end - start).days + 1)
    return Decimal(repr(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def indicator_values(result, subject: str, period: str) -> dict[str, float]:
    rows = result.indicators[
        (result.indicators["subject"] == subject) & (result.indicators["period"] == period)
    ]
    found = dict(zip(rows["indicator"], rows["value"].astype(float)))
    return {name: found.get(name, math.nan) for name in REP_WEIGHTS}


def test_sales_joiner_total_and_prorated_bonus_by_hand() -> None:
    """The rep who joined during Q1: scored on the weeks worked (a missing skill_growth
    would score 0, the entry's rule) and paid for the days employed only."""
    result = results("sales")
    roster = sales_roster()
    (subject,) = [
        key
        for key, row in roster.items()
        if row["Role"] == "sales_rep"
        and date(2026, 1, 2) <= day(row["Hired On"]) <= date(2026, 3, 31)
    ]
    values = indicator_values(result, subject, "2026-Q1")
    assert not any(math.isnan(v) for n, v in values.items() if n != "skill_growth")

    # Weighted sum over all five entries: 30/25/20/15/10%, nothing to reweight.
    scores = {n: 0.0 if math.isnan(v) else curve(n, v) for n, v in values.items()}
    by_hand = sum(scores[n] * REP_WEIGHTS[n] for n in REP_WEIGHTS)
    if values["order_cycle"] > INDUSTRY_ORDER_CYCLE:
        by_hand = min(by_hand, 100)
    by_hand = max(0.0, min(by_hand, 150))
    totals = result.totals
    (engine,) = totals[(totals["subject"] == subject) & (totals["period"] == "2026-Q1")].to_dict(
        "records"
    )
    assert engine["total"] == pytest.approx(by_hand, abs=1e-6)
    filled = math.isnan(values["skill_growth"])
    assert engine["status"].startswith("filled" if filled else "complete")

    hired = day(roster[subject]["Hired On"])
    employed = (date(2026, 3, 31) - hired).days + 1
    assert 0 < employed < 90
    # Gate: new-market share at its threshold of 10%; base x 50% x score / 100, below the
    # 30 000 cap, for `employed` of the quarter's 90 days, to the fen.
    assert values["new_market_share"] >= 0.10
    amount = roster[subject]["Base Salary"] * 0.5 * min(by_hand, 150) / 100
    assert amount < 30_000
    expected = Decimal(repr(amount * employed / 90)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    assert expected == bonus(roster[subject], "2026-Q1", by_hand, values["new_market_share"])
    payouts = result.payouts
    (paid,) = payouts[
        (payouts["subject"] == subject)
        & (payouts["period"] == "2026-Q1")
        & (payouts["incentive"] == "quarterly_bonus")
    ]["amount"]
    assert Decimal(repr(paid)).quantize(Decimal("0.01")) == expected
    assert expected > 0


def test_sales_every_rep_total_and_bonus_by_hand() -> None:
    result = results("sales")
    roster = sales_roster()
    totals = result.totals[result.totals["scorecard"] == "sales_rep"]
    payouts = result.payouts[result.payouts["incentive"] == "quarterly_bonus"]
    paid = {(r["subject"], r["period"]): r["amount"] for r in payouts.to_dict("records")}
    checked = 0
    for row in totals.to_dict("records"):
        if math.isnan(row["total"]):
            continue
        values = indicator_values(result, row["subject"], row["period"])
        assert row["total"] == pytest.approx(rep_total(values), abs=1e-6), row
        expected = bonus(
            roster[row["subject"]], row["period"], row["total"], values["new_market_share"]
        )
        engine = Decimal(repr(paid[(row["subject"], row["period"])])).quantize(Decimal("0.01"))
        assert engine == expected, row
        checked += 1
    assert checked >= 100


def test_sales_results_do_not_depend_on_row_order() -> None:
    """Shuffle every input table of the flagship: all results but the data-quality section
    (whose row numbers follow the files) are byte-identical."""
    from kpirules.data import read_tables

    policy = kpirules.load(POLICIES / "sales")
    tables = read_tables(policy, POLICIES / "sales" / "data.yaml")
    frames = {name: table.frame for name, table in tables.items()}
    shuffled = {name: frame.sample(frac=1, random_state=11) for name, frame in frames.items()}
    as_of = date(2027, 1, 4)
    first = kpirules.evaluate(policy, frames, as_of=as_of).to_dict()
    second = kpirules.evaluate(policy, shuffled, as_of=as_of).to_dict()
    # The `_row` column keeps each row's file position, so even the findings agree.
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    first.pop("data_quality")
    assert first["totals"] and first["payouts"]
