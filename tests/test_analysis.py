"""Analysis: comparison, trend, root cause, drill-down, calibration and `kpirules analyze`.

Expected values come from plain pandas or numpy computations written here, or are worked
out by hand in the comments — never copied from the analysis code's own output."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import kpirules
from kpirules.analysis import (
    COMPARISON_COLUMNS,
    TREND_COLUMNS,
    AnalysisError,
    calibration,
    comparison,
    decompose,
    drilldown,
    nine_box,
    ratio_split,
    score_trends,
    trends,
)
from kpirules.check import check
from kpirules.cli import main
from kpirules.data import load_data
from kpirules.engine import evaluate
from kpirules.parser import parse
from kpirules.resources import schema
from kpirules.results import Results

SALES = Path(__file__).resolve().parent.parent / "policies" / "sales"
AS_OF = date(2027, 1, 4)


@pytest.fixture(scope="module")
def sales() -> Results:
    policy = kpirules.load(SALES)
    return evaluate(policy, SALES / "data.yaml", as_of=AS_OF)  # every period: history


def load_text(text: str):
    module, diagnostics = parse(text, "t.kpi")
    assert module is not None, diagnostics
    policy, diagnostics = check([module])
    assert policy is not None, diagnostics
    return policy


# ------------------------------------------------------------------ comparison


def test_comparison_columns_and_default_period(sales: Results) -> None:
    frame = comparison(sales)
    assert list(frame.columns) == COMPARISON_COLUMNS
    assert set(frame["period"]) == {"2026-Q4"}  # the latest period by default
    q4 = sales.scores[sales.scores["period"] == "2026-Q4"]
    assert len(frame) == len(q4)  # one row per (subject, scorecard, indicator)


def test_comparison_against_plain_pandas(sales: Results) -> None:
    frame = comparison(sales, period="2026-Q3")
    scores = sales.scores
    q3 = scores[scores["period"] == "2026-Q3"].copy()
    # Peer median and count: same scorecard, same indicator, same period.
    peers = q3.dropna(subset=["value"]).groupby(["scorecard", "indicator"])["value"]
    expected = q3.join(peers.median().rename("m"), on=["scorecard", "indicator"])
    expected = expected.join(peers.count().rename("n"), on=["scorecard", "indicator"])
    merged = frame.merge(expected, on=["subject", "scorecard", "indicator"], suffixes=("", "_x"))
    assert len(merged) == len(frame)
    assert np.allclose(merged["peer_median"], merged["m"], equal_nan=True)
    assert (merged["peer_count"] == merged["n"].fillna(0)).all()

    # Percentile: share of the peers' values this person does at least as well as.
    pairs = q3.merge(q3, on=["scorecard", "indicator"], suffixes=("", "_peer"))
    pairs = pairs.dropna(subset=["value", "value_peer"])
    lower = pairs["indicator"] == "order_cycle"  # the only better-lower indicator here
    at_least = np.where(
        lower, pairs["value"] <= pairs["value_peer"], pairs["value"] >= pairs["value_peer"]
    )
    share = pairs.assign(ok=at_least).groupby(["subject", "scorecard", "indicator"])["ok"]
    percent = (share.mean() * 100).rename("p").reset_index()
    check_pct = frame.merge(percent, on=["subject", "scorecard", "indicator"], how="left")
    assert np.allclose(check_pct["percentile"], check_pct["p"], equal_nan=True)
    assert frame["percentile"].max() == 100

    # Previous and delta: the indicator's value in 2026-Q2.
    values = sales.indicators
    q2 = values[values["period"] == "2026-Q2"].set_index(["subject", "indicator"])["value"]
    previous = [q2.get((s, i), math.nan) for s, i in zip(frame["subject"], frame["indicator"])]
    assert np.allclose(frame["previous"], previous, equal_nan=True)
    assert np.allclose(frame["delta"], frame["value"] - np.array(previous), equal_nan=True)

    # Department median: same scorecard and department.
    roster = sales.totals.drop_duplicates("subject").set_index("subject")["department"]
    q3["department"] = q3["subject"].map(roster)
    medians = q3.groupby(["scorecard", "indicator", "department"])["value"].median()
    wanted = [
        medians.get((c, i, d), math.nan)
        for c, i, d in zip(frame["scorecard"], frame["indicator"], frame["department"])
    ]
    assert np.allclose(frame["department_median"], wanted, equal_nan=True)

    # Department percentile: the same self-join, within the department.
    pairs = pairs.assign(
        department=pairs["subject"].map(roster), department_peer=pairs["subject_peer"].map(roster)
    )
    pairs = pairs.assign(ok=at_least)[pairs["department"] == pairs["department_peer"]]
    share = pairs.groupby(["subject", "scorecard", "indicator"])["ok"].mean() * 100
    check_dept = frame.merge(
        share.rename("p").reset_index(), on=["subject", "scorecard", "indicator"], how="left"
    )
    assert np.allclose(check_dept["department_percentile"], check_dept["p"], equal_nan=True)


def test_comparison_targets_improvement_and_benchmark(sales: Results) -> None:
    frame = comparison(sales, period="2026-Q2")
    # The sales_rep curve for order_cycle: threshold 5 days, target 3, stretch 2 (lower).
    cycle = frame[(frame["scorecard"] == "sales_rep") & (frame["indicator"] == "order_cycle")]
    assert (cycle["threshold"] == 5).all() and (cycle["target"] == 3).all()
    assert (cycle["stretch"] == 2).all()
    known = cycle.dropna(subset=["value"])
    assert (known["meets_target"] == (known["value"] <= 3)).all()
    moved = known.dropna(subset=["previous"])
    moved = moved[moved["value"] != moved["previous"]]
    assert len(moved) > 10
    assert (moved["improved"] == (moved["value"] < moved["previous"])).all()
    # The gate `order_cycle <= industry_order_cycle` compares it with the 4-day benchmark.
    assert (cycle["benchmark"] == "industry_order_cycle").all()
    assert (cycle["benchmark_value"] == 4).all()
    others = frame[frame["indicator"] != "order_cycle"]
    assert others["benchmark"].isna().all() and others["benchmark_value"].isna().all()
    # new_market_share is a percentage: target 20% is 0.2, like the value.
    share = frame[frame["indicator"] == "new_market_share"].dropna(subset=["value"])
    assert (share["target"] == 0.2).all()
    assert (share["meets_target"] == (share["value"] >= 0.2)).all()
    assert np.allclose(share["target_gap"], share["value"] - 0.2)


def test_a_benchmark_written_as_a_curve_point_is_matched() -> None:
    """`target median_cycle => 100` compares the indicator with the benchmark: 72 hours
    is 3 days in the indicator's unit."""
    text = (
        RATIO_POLICY.replace(
            "indicator cycle weight 25% { threshold 5 days => 50  target 3 days => 100 }",
            "indicator cycle weight 25% { threshold 5 days => 50  target median_cycle => 100 }",
        )
        + 'benchmark median_cycle "Peer median" = 72 hours\n'
    )
    policy = load_text(text)
    results = evaluate(policy, load_data(policy, RATIO_DATA), "2026-Q2", history=True)
    frame = comparison(results)
    cycle = frame[frame["indicator"] == "cycle"]
    assert len(cycle) == 2
    assert (cycle["benchmark"] == "median_cycle").all()
    assert (cycle["benchmark_value"] == 3).all() and (cycle["target"] == 3).all()
    assert frame.loc[frame["indicator"] != "cycle", "benchmark"].isna().all()


def test_comparison_filters_keep_peers_of_everyone(sales: Results) -> None:
    everyone = comparison(sales, period="2026-Q2")
    person = comparison(sales, period="2026-Q2", subject="E1002")
    assert set(person["subject"]) == {"E1002"}
    mine = everyone[everyone["subject"] == "E1002"].reset_index(drop=True)
    pd.testing.assert_frame_equal(person, mine)
    team = comparison(sales, period="2026-Q2", department="Key Accounts")
    assert set(team["department"]) == {"Key Accounts"}
    assert (team["peer_count"] > team.groupby("indicator")["subject"].transform("count")).any()


def test_comparison_is_independent_of_row_order(sales: Results) -> None:
    shuffled = Results(
        sales.policy,
        periods=sales.periods,
        indicators=sales.indicators.sample(frac=1, random_state=3),
        scores=sales.scores.sample(frac=1, random_state=4),
        totals=sales.totals.sample(frac=1, random_state=5),
    )
    pd.testing.assert_frame_equal(comparison(shuffled), comparison(sales))
    pd.testing.assert_frame_equal(trends(shuffled), trends(sales))


def test_comparison_errors(sales: Results) -> None:
    with pytest.raises(AnalysisError, match="E9999"):
        comparison(sales, subject="E9999")
    with pytest.raises(AnalysisError, match=r"Marketing.*departments: Channel Sales"):
        comparison(sales, department="Marketing")
    with pytest.raises(AnalysisError, match="2025-Q1"):
        comparison(sales, period="2025-Q1")
    with pytest.raises(AnalysisError, match="not both"):
        comparison(sales, subject="E1002", department="Sales")


# ------------------------------------------------------------------ trends


def test_trends_against_numpy(sales: Results) -> None:
    frame = trends(sales)
    assert list(frame.columns) == TREND_COLUMNS
    scores = sales.scores
    wide = scores.pivot_table(
        index=["subject", "scorecard", "indicator"],
        columns="period",
        values="value",
        dropna=False,
    )
    assert len(frame) == len(scores.groupby(["subject", "scorecard", "indicator"]))
    better = {name: ind.better for name, ind in sales.policy.indicators.items()}
    checked = 0
    for row in frame.itertuples(index=False):
        series = (
            wide.loc[(row.subject, row.scorecard, row.indicator)]
            .reindex(sales.periods)
            .to_numpy(dtype="float64")
        )
        assert np.allclose(row.values, series, equal_nan=True)
        x = np.flatnonzero(~np.isnan(series))
        assert row.periods == len(x)
        if len(x) >= 2:
            slope = np.polyfit(x, series[x], 1)[0]
            assert row.slope == pytest.approx(slope, abs=1e-6)
            sign = -1 if better[row.indicator] == "lower" else 1
            level = np.abs(series[x]).mean()
            if sign * slope > 0.01 * level + 1e-6:
                assert row.direction == "improving"
                checked += 1
            elif sign * slope < -0.01 * level - 1e-6:
                assert row.direction == "declining"
                checked += 1
        else:
            assert math.isnan(row.slope) and row.direction == "n/a"
        if len(x):
            assert row.first == series[x[0]] and row.last == series[x[-1]]
    assert checked > 100


TREND_POLICY = """\
policy "Trend" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
}
roster people {
  key id
  department dept
  columns { id: text  dept: text }
}
source facts {
  subject id
  time day
  key fact
  columns { fact: text  id: text  day: date  amount: number  hours: number }
}
objective o "O" { horizon long }
goal g "G" { supports o  owner department "A"  target up >= 1 by 2026-Q4 }
indicator up { supports g  unit number  better higher  = sum(facts.amount) }
indicator down { supports g  unit number  better lower  horizon long  = sum(facts.hours) }
indicator near { supports g  unit number  better closer  = mean(facts.amount) }
scorecard card {
  applies to people
  indicator up weight 40% { threshold 10 => 50  target 20 => 100  stretch 30 => 150 }
  indicator down weight 30% { threshold 10 => 50  target 5 => 100 }
  indicator near weight 30% {
    threshold 0 => 50  target 10 => 100  threshold 20 => 50 }
  when missing => reweight
}
"""


def synthetic(values: dict[tuple[str, str], list[float]], periods: list[str]) -> Results:
    """Results whose scores hold the given values per (subject, indicator), one per period."""
    policy = load_text(TREND_POLICY)
    rows = []
    for (subject, indicator), series in values.items():
        for period, value in zip(periods, series):
            rows.append(
                {
                    "subject": subject,
                    "period": period,
                    "scorecard": "card",
                    "indicator": indicator,
                    "value": value,
                }
            )
    scores = pd.DataFrame(rows)
    people = sorted({s for s, _ in values})
    totals = pd.DataFrame(
        [
            {"subject": s, "name": s.upper(), "department": "A", "role": None, "manager": None}
            | {"period": p, "scorecard": "card", "total": 100.0, "rating": None, "status": "x"}
            for s in people
            for p in periods
        ]
    )
    indicators = scores[["subject", "period", "indicator", "value"]]
    return Results(policy, periods=periods, indicators=indicators, scores=scores, totals=totals)


def test_streaks_and_directions_by_hand() -> None:
    periods = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    nan = math.nan
    results = synthetic(
        {
            ("a", "up"): [1, 2, 3, 4],  # three rises: +3, improving
            ("b", "up"): [5, 4, 6, 3],  # last change a fall, the one before a rise: -1
            ("c", "down"): [9, 7, 8, 6],  # lower is better: 8 → 6 improves, 7 → 8 not: +1
            ("d", "down"): [1, 2, 3, nan],  # latest value Q3; two rises are declines: -2
            ("e", "up"): [1, nan, 2, 3],  # the gap ends the run: +1 (Q3 → Q4 only)
            ("f", "up"): [7, 7, 7, 7],  # no change: 0, flat
            ("g", "near"): [2, 4, 13, 11],  # target 10: distances 8, 6, 3, 1: +3
            ("h", "up"): [nan, nan, 5, nan],  # one value: 0, n/a
        },
        periods,
    )
    frame = trends(results).set_index("subject")
    assert frame["streak"].to_dict() == {
        "a": 3,
        "b": -1,
        "c": 1,
        "d": -2,
        "e": 1,
        "f": 0,
        "g": 3,
        "h": 0,
    }
    assert frame.loc["a", "direction"] == "improving"
    assert frame.loc["c", "direction"] == "improving"  # slope of 9,7,8,6 is -0.8
    assert frame.loc["d", "direction"] == "declining"
    assert frame.loc["f", "direction"] == "flat"
    assert frame.loc["g", "direction"] == "improving"
    assert frame.loc["h", "direction"] == "n/a"
    assert frame.loc["c", "slope"] == pytest.approx(-0.8)  # (−1.5·9 −0.5·7 +0.5·8 +1.5·6)/5
    assert frame.loc["e", "slope"] == pytest.approx(np.polyfit([0, 2, 3], [1, 2, 3], 1)[0])
    assert frame.loc["e", "periods"] == 3 and frame.loc["e", "first"] == 1
    assert frame.loc["d", "last"] == 3
    assert frame.loc["a", "name"] == "A"


def test_flat_tolerance_by_hand() -> None:
    periods = ["2026-Q1", "2026-Q2", "2026-Q3"]
    # Mean level 100: a slope of 0.5 a period is under 1% of it (flat), 2 is over.
    results = synthetic({("a", "up"): [99.5, 100, 100.5], ("b", "up"): [98, 100, 102]}, periods)
    frame = trends(results).set_index("subject")
    assert frame.loc["a", "direction"] == "flat" and frame.loc["a", "streak"] == 2
    assert frame.loc["b", "direction"] == "improving"


def test_score_trends_follow_the_totals(sales: Results) -> None:
    frame = score_trends(sales, subject="E1015")
    totals = sales.totals[sales.totals["subject"] == "E1015"].set_index("period")["total"]
    (row,) = frame.itertuples(index=False)
    assert row.indicator == "total"
    assert np.allclose(row.values, totals.reindex(sales.periods).to_numpy())
    assert row.slope == pytest.approx(np.polyfit(range(4), totals.to_numpy(), 1)[0])


# ------------------------------------------------------------------ root cause


def card_results(rows: list[dict], totals: list[dict], periods: list[str]) -> Results:
    """Synthetic results on TREND_POLICY's `card`: score rows and total rows as given."""
    policy = load_text(TREND_POLICY)
    scores = pd.DataFrame(
        rows,
        columns=[
            "subject",
            "period",
            "scorecard",
            "indicator",
            "value",
            "score",
            "weight",
            "effective_weight",
            "contribution",
        ],
    )
    people = pd.DataFrame(totals, columns=["subject", "department", "period", "total"])
    people = people.assign(
        name=people["subject"],
        role=None,
        manager=None,
        scorecard="card",
        rating=None,
        status="complete",
    )
    indicators = scores[["subject", "period", "indicator", "value"]]
    return Results(policy, periods=periods, indicators=indicators, scores=scores, totals=people)


def test_decompose_reweighting_and_gates_by_hand() -> None:
    # Q1: up 80, down 100, weights 50/50 (near not scored: weight 0): total 90.
    # Q2: up missing (reweighted away), down 120 with all the weight; a cap makes it 110.
    nan = math.nan
    rows = [
        ("a", "2026-Q1", "up", 80.0, 0.5), ("a", "2026-Q1", "down", 100.0, 0.5),
        ("a", "2026-Q1", "near", nan, 0.0),
        ("a", "2026-Q2", "up", nan, 0.0), ("a", "2026-Q2", "down", 120.0, 1.0),
        ("a", "2026-Q2", "near", nan, 0.0),
    ]  # fmt: skip
    scores = [
        {"subject": s, "period": p, "scorecard": "card", "indicator": i, "value": v,
         "score": v, "weight": 0.5, "effective_weight": w, "contribution": v * w}
        for s, p, i, v, w in rows
    ]  # fmt: skip
    totals = [
        {"subject": "a", "department": "A", "period": "2026-Q1", "total": 90.0},
        {"subject": "a", "department": "A", "period": "2026-Q2", "total": 110.0},
    ]
    results = card_results(scores, totals, ["2026-Q1", "2026-Q2"])
    lines = decompose(results, subject="a").set_index(["line", "indicator"], drop=False)
    up = lines.loc[("indicator", "up")]
    # up vanished: its score is carried over (80), so the change is all weight: 80 × −0.5.
    assert up["score_effect"] == 0 and up["weight_effect"] == -40 and up["change"] == -40
    down = lines.loc[("indicator", "down")]
    # down: 0.5 × (120 − 100) = 10 from the score, 120 × (1 − 0.5) = 60 from the weight.
    assert down["score_effect"] == 10 and down["weight_effect"] == 60
    assert lines.loc[("indicator", "near")]["change"] == 0
    adjustments = lines[lines["line"] == "adjustments"].iloc[0]
    assert adjustments["change"] == -10  # the cap: 120 weighted, 110 total
    assert lines["change"].sum() == pytest.approx(20)  # 110 − 90
    assert "composition" not in set(lines["line"])


def test_decompose_matches_the_contributions_on_the_flagship(sales: Results) -> None:
    lines = decompose(sales, subject="E1015", period="2026-Q4")
    scores = sales.scores[sales.scores["subject"] == "E1015"]
    contribution = scores.pivot_table(index="indicator", columns="period", values="contribution")
    expected = contribution["2026-Q4"] - contribution["2026-Q3"]
    mine = lines[lines["line"] == "indicator"].set_index("indicator")["change"]
    assert np.allclose(mine.sort_index(), expected.sort_index(), atol=1e-8)
    totals = sales.totals[sales.totals["subject"] == "E1015"].set_index("period")["total"]
    assert lines["change"].sum() == pytest.approx(totals["2026-Q4"] - totals["2026-Q3"], abs=1e-9)


def test_decompose_department_with_a_joiner(sales: Results) -> None:
    # In 2026-Q2 one rep more is on the sales_rep card than in Q1 (33 → 34).
    lines = decompose(sales, period="2026-Q2")
    totals = sales.totals
    for card, part in lines.groupby("scorecard"):
        on_card = totals[totals["scorecard"] == card].dropna(subset=["total"])
        means = on_card.groupby("period")["total"].mean()
        assert part["total"].iloc[0] == pytest.approx(means["2026-Q2"])
        assert part["base_total"].iloc[0] == pytest.approx(means["2026-Q1"])
        assert part["change"].sum() == pytest.approx(means["2026-Q2"] - means["2026-Q1"], abs=1e-9)
    rep = lines[(lines["scorecard"] == "sales_rep") & (lines["line"] == "composition")].iloc[0]
    assert rep["note"].startswith("1 joined, 0 left")
    assert rep["change"] != 0


@st.composite
def random_card(draw):
    """A few people over two periods on `card`: random scores, weights reweighted over
    the indicators present, totals that may differ from the weighted sum (gates, caps),
    and people missing from one period."""
    people = draw(st.integers(1, 6))
    periods = ["2026-Q1", "2026-Q2"]
    weights = {"up": 0.4, "down": 0.3, "near": 0.3}
    score = st.one_of(st.just(math.nan), st.floats(0, 150, allow_nan=False))
    rows, totals = [], []
    for k in range(people):
        present = draw(st.sampled_from(["both", "both", "first", "second"]))
        department = draw(st.sampled_from(["A", "B"]))
        for period in periods:
            if (present == "first" and period == periods[1]) or (
                present == "second" and period == periods[0]
            ):
                continue
            scores = {name: draw(score) for name in weights}
            here = {n: w for n, w in weights.items() if not math.isnan(scores[n])}
            share = sum(here.values())
            if not share:
                continue  # nothing to weigh: no total, not in the card this period
            weighted = 0.0
            for name, weight in weights.items():
                effective = here.get(name, 0.0) / share
                weighted += effective * (0.0 if math.isnan(scores[name]) else scores[name])
                rows.append({"subject": f"p{k}", "period": period, "scorecard": "card",
                             "indicator": name, "value": scores[name], "score": scores[name],
                             "weight": weight, "effective_weight": effective,
                             "contribution": effective * scores[name]})  # fmt: skip
            adjustment = draw(st.sampled_from([0.0, 0.0, -5.0, 17.25]))
            totals.append({"subject": f"p{k}", "department": department, "period": period,
                           "total": weighted + adjustment})  # fmt: skip
    return rows, totals, periods


@settings(max_examples=40, deadline=None)
@given(random_card(), st.sampled_from([None, "A", "B"]))
def test_decomposition_sums_exactly(case, department) -> None:
    rows, totals, periods = case
    results = card_results(rows, totals, periods)
    frame = pd.DataFrame(totals, columns=["subject", "department", "period", "total"])
    if department is not None:
        frame = frame[frame["department"] == department]
    means = frame.groupby("period")["total"].mean()
    if len(means) < 2:
        with pytest.raises(AnalysisError):
            decompose(results, department=department, period="2026-Q2")
        return
    lines = decompose(results, department=department, period="2026-Q2")
    assert set(lines["scorecard"]) == {"card"}
    change = means["2026-Q2"] - means["2026-Q1"]
    assert lines["change"].sum() == pytest.approx(change, abs=1e-9)
    effects = lines[lines["line"] == "indicator"]
    assert np.allclose(effects["score_effect"] + effects["weight_effect"], effects["change"])
    both = frame.groupby("subject")["period"].nunique()
    for subject in both[both == 2].index:  # a person's own lines sum to their change
        mine = decompose(results, subject=subject, period="2026-Q2")
        own = frame[frame["subject"] == subject].set_index("period")["total"]
        assert mine["change"].sum() == pytest.approx(own["2026-Q2"] - own["2026-Q1"], abs=1e-9)


# ------------------------------------------------------------------ ratio split, drill-down

RATIO_POLICY = """\
policy "Ratio" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  currency CNY
}
roster employees {
  key employee_id
  department department
  columns { employee_id: text  department: text }
}
source orders {
  subject employee_id
  time closed_on
  key order_id
  columns { order_id: text  employee_id: text  closed_on: date  amount: money  market: text
            customer: text  processing_days: days }
}
objective o "O" { horizon long }
goal g "G" { supports o  owner department "S"  target share >= 30% by 2026-Q4 }
indicator share { supports g  unit percent  better higher
  = sum(orders.amount where orders.market == "new") / sum(orders.amount) }
indicator revenue { supports g  unit money  better higher  = sum(orders.amount) }
indicator cycle { supports g  unit days  better lower  horizon long
  = mean(orders.processing_days) }
indicator customers { supports g  unit count  better higher  = count_distinct(orders.customer) }
indicator per_head { supports g  unit money  better higher
  = sum(orders.amount) / count(employees) }
scorecard card {
  applies to employees
  indicator share weight 25% { threshold 10% => 50  target 20% => 100 }
  indicator revenue weight 25% { threshold 100 CNY => 50  target 500 CNY => 100 }
  indicator cycle weight 25% { threshold 5 days => 50  target 3 days => 100 }
  indicator customers weight 25% { threshold 1 => 50  target 3 => 100 }
}
"""
RATIO_DATA = {
    "employees": pd.DataFrame({"employee_id": ["e1", "e2"], "department": ["S", "S"]}),
    "orders": pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "employee_id": ["e1", "e1", "e1", "e1", "e1", "e2"],
            "closed_on": ["2026-02-01", "2026-02-02", "2026-05-01", "2026-05-02", "2026-05-03",
                          "2026-02-03"],
            "amount": ["100", "300", "300", "300", "400", "100"],
            "market": ["new", "old", "new", "old", "old", "old"],
            "customer": ["c1", "c2", "c1", "c3", "c3", "c9"],
            "processing_days": ["2", "4", "3", "1", "5", "2"],
        }
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def ratio_case():
    policy = load_text(RATIO_POLICY)
    loaded = load_data(policy, RATIO_DATA)
    return policy, loaded, evaluate(policy, loaded, "2026-Q2", history=True)


def test_ratio_split_by_hand(ratio_case) -> None:
    policy, loaded, results = ratio_case
    (row,) = ratio_split(policy, loaded, results, "share", subject="e1").itertuples(index=False)
    # e1: Q1 new 100 of 400 (25%), Q2 new 300 of 1000 (30%).
    assert (row.base_numerator, row.base_denominator) == (100, 400)
    assert (row.period_numerator, row.period_denominator) == (300, 1000)
    assert row.numerator_effect == pytest.approx(0.5)  # (300 − 100) / 400
    assert row.denominator_effect == pytest.approx(-0.45)  # 300 × (1/1000 − 1/400)
    assert row.change == pytest.approx(0.05)
    # Department S (e1 and e2): Q1 100 of 500, Q2 300 of 1000.
    (dept,) = ratio_split(policy, loaded, results, "share", department="S").itertuples()
    assert dept.numerator_effect == pytest.approx(0.4)  # 200 / 500
    assert dept.denominator_effect == pytest.approx(-0.3)  # 300 × (1/1000 − 1/500)
    # A mean is sum / count: e1's days Q1 (2 + 4) / 2, Q2 (3 + 1 + 5) / 3.
    (cycle,) = ratio_split(policy, loaded, results, "cycle", subject="e1").itertuples()
    assert (cycle.base_numerator, cycle.base_denominator) == (6, 2)
    assert (cycle.period_numerator, cycle.period_denominator) == (9, 3)
    assert cycle.numerator_effect == pytest.approx(1.5)  # (9 − 6) / 2
    assert cycle.denominator_effect == pytest.approx(-1.5)  # 9 × (1/3 − 1/2)
    with pytest.raises(AnalysisError, match="not a ratio"):
        ratio_split(policy, loaded, results, "revenue", subject="e1")


def test_drilldown_by_hand(ratio_case) -> None:
    policy, loaded, results = ratio_case
    frame = drilldown(policy, loaded, results, "share", "orders.market", subject="e1")
    by_slice = frame.set_index("slice")
    # I_base = 0.25, D = 1000: new (200 − 0.25 × 200) / 1000, old (0 − 0.25 × 400) / 1000.
    assert by_slice.loc["new", "contribution"] == pytest.approx(0.15)
    assert by_slice.loc["old", "contribution"] == pytest.approx(-0.1)
    assert by_slice.loc["new", "share"] == pytest.approx(3.0)  # 0.15 of a 0.05 change
    assert list(frame["slice"]) == ["new", "old"]  # largest contribution first
    assert frame["additive"].all()
    revenue = drilldown(policy, loaded, results, "revenue", "orders.market", subject="e1")
    assert revenue.set_index("slice")["contribution"].to_dict() == {"new": 200, "old": 400}
    # Mean days: new (1 − 3 × 0) / 3, old (2 − 3 × 1) / 3; the whole mean stays at 3.
    cycle = drilldown(policy, loaded, results, "cycle", "orders.market", subject="e1")
    parts = cycle.set_index("slice")["contribution"]
    assert parts["new"] == pytest.approx(1 / 3) and parts["old"] == pytest.approx(-1 / 3)
    # Distinct customers do not add up over slices: values only, no contribution.
    customers = drilldown(policy, loaded, results, "customers", "orders.market", subject="e1")
    assert not customers["additive"].any() and customers["contribution"].isna().all()
    values = customers.set_index("slice")
    assert values.loc["old", "base_value"] == 1 and values.loc["old", "value"] == 1  # c2; c3
    assert values.loc["new", "value"] == 1
    # A denominator over another source is the same in every slice: no contributions.
    per_head = drilldown(policy, loaded, results, "per_head", "orders.market", department="S")
    assert not per_head["additive"].any()
    assert per_head.set_index("slice")["value"].to_dict() == {"new": 150, "old": 350}  # / 2
    # The department: e2's old-market order of 100 joins Q1.
    dept = drilldown(policy, loaded, results, "share", "orders.market", department="S")
    assert dept["contribution"].sum() == pytest.approx(0.1)  # 300/1000 − 100/500


def test_drilldown_errors(ratio_case) -> None:
    policy, loaded, results = ratio_case
    with pytest.raises(AnalysisError, match="no column 'nope'; columns: order_id"):
        drilldown(policy, loaded, results, "share", "orders.nope", subject="e1")
    with pytest.raises(AnalysisError, match="no source called 'sales'"):
        drilldown(policy, loaded, results, "share", "sales.market", subject="e1")
    with pytest.raises(AnalysisError, match="does not read source 'employees'"):
        drilldown(policy, loaded, results, "share", "employees.department", subject="e1")
    with pytest.raises(AnalysisError, match="no indicator called 'shares'"):
        drilldown(policy, loaded, results, "shares", "orders.market", subject="e1")
    with pytest.raises(AnalysisError, match="no one with employee_id 'zz'"):
        drilldown(policy, loaded, results, "share", "orders.market", subject="zz")


def test_drilldown_contributions_sum_on_the_flagship(sales: Results) -> None:
    policy = sales.policy
    loaded = load_data(policy, SALES / "data.yaml", as_of=AS_OF)
    for indicator in ("new_market_share", "order_cycle", "quarterly_revenue"):
        frame = drilldown(policy, loaded, sales, indicator, "orders.market", department="Sales")
        whole = frame["period_indicator"].iloc[0] - frame["base_indicator"].iloc[0]
        assert frame["contribution"].sum() == pytest.approx(whole, abs=1e-9)
    person = drilldown(policy, loaded, sales, "quarterly_revenue", "orders.market", subject="E1015")
    values = sales.indicators.set_index(["subject", "period", "indicator"])["value"]
    change = (
        values[("E1015", "2026-Q4", "quarterly_revenue")]
        - values[("E1015", "2026-Q3", "quarterly_revenue")]
    )
    assert person["contribution"].sum() == pytest.approx(change)


# ------------------------------------------------------------------ calibration


def test_calibration_against_value_counts(sales: Results) -> None:
    frame = calibration(sales, by="manager", period="2026-Q3")
    q3 = sales.totals[sales.totals["period"] == "2026-Q3"].dropna(subset=["rating"])
    q3 = q3.assign(manager=q3["manager"].fillna("(none)"))
    expected = q3.groupby(["scorecard", "manager"])["rating"].value_counts()
    nonzero = frame[frame["count"] > 0].set_index(["scorecard", "group", "rating"])["count"]
    assert nonzero.sort_index().to_dict() == expected.sort_index().to_dict()
    assert len(frame) == q3.groupby(["scorecard", "manager"]).ngroups * 5  # five levels each
    outstanding = frame[frame["rating"] == "Outstanding"]
    sizes = q3.groupby(["scorecard", "manager"]).size()
    for row in outstanding.itertuples(index=False):
        share = row.count / sizes[(row.scorecard, row.group)]
        assert row.share == pytest.approx(share, abs=1e-6)
        assert row.outside_guidance == (share > 0.15)  # "Outstanding" at most 15%
    assert (frame[frame["rating"] == "Meets"]["outside_guidance"] == False).all()  # noqa: E712
    with pytest.raises(AnalysisError, match="cannot group by 'team'"):
        calibration(sales, by="team")


def test_nine_box_against_pandas(sales: Results) -> None:
    grid = nine_box(sales, "total", "new_market_share", period="2026-Q2", cuts=(80, 120))
    totals = sales.totals[sales.totals["period"] == "2026-Q2"]
    scores = sales.scores[
        (sales.scores["period"] == "2026-Q2") & (sales.scores["indicator"] == "new_market_share")
    ]
    both = totals.merge(scores, on=["subject", "scorecard"]).dropna(subset=["total", "score"])
    bins = [-np.inf, 80, 120, np.inf]
    x = pd.cut(both["total"], bins, right=False, labels=False).astype(int)
    y = pd.cut(both["score"], bins, right=False, labels=False).astype(int)
    expected = dict(zip(both["subject"], 3 * y + x + 1))
    assert dict(zip(grid.people["subject"], grid.people["box"])) == expected
    counts = grid.counts[grid.counts["count"] > 0].set_index(["scorecard", "box"])["count"]
    wanted = both.assign(box=3 * y + x + 1).groupby(["scorecard", "box"]).size()
    assert counts.to_dict() == wanted.to_dict()
    assert len(grid.counts) == 9 * both["scorecard"].nunique()
    with pytest.raises(AnalysisError, match="cuts must rise"):
        nine_box(sales, cuts=(120, 80))
    with pytest.raises(AnalysisError, match="'revenue' is not on any scorecard"):
        nine_box(sales, "total", "revenue")


# ------------------------------------------------------------------ the command


def analyze(*args: str):
    data = ["--data", str(SALES / "data.yaml"), "--as-of", "2027-01-04"]
    return CliRunner().invoke(main, ["analyze", str(SALES), *data, *args])


def test_cli_json_is_valid_and_matches_the_api(sales: Results) -> None:
    result = analyze(
        "--subject", "E1015", "--drill", "new_market_share", "--by", "orders.market",
        "--nine-box", "total,order_cycle", "--cuts", "60,110", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, schema("analysis.schema.json"))
    assert payload["scope"] == {"kind": "subject", "key": "E1015"}
    assert (payload["period"], payload["base"]) == ("2026-Q4", "2026-Q3")
    sections = {s["name"]: s for s in payload["sections"]}
    assert list(sections) == [
        "comparison", "trend", "score_trend", "root_cause", "ratio_split", "drilldown",
        "calibration", "nine_box", "nine_box_people",
    ]  # fmt: skip
    rows = sections["comparison"]["rows"]
    value = sales.indicators.set_index(["subject", "period", "indicator"])["value"]
    assert {r["indicator"]: r["value"] for r in rows}["quarterly_revenue"] == value[
        ("E1015", "2026-Q4", "quarterly_revenue")
    ]
    total = sales.totals.set_index(["subject", "period"])["total"]
    change = sum(r["change"] for r in sections["root_cause"]["rows"])
    assert change == pytest.approx(total[("E1015", "2026-Q4")] - total[("E1015", "2026-Q3")])
    (person,) = sections["nine_box_people"]["rows"]
    assert person["x"] == pytest.approx(total[("E1015", "2026-Q4")]) and person["x_band"] == "low"
    assert len(sections["trend"]["rows"][0]["values"]) == 4


def test_cli_table_and_markdown_for_a_department() -> None:
    table = analyze("--department", "Key Accounts", "--period", "2026-Q3")
    assert table.exit_code == 0, table.output
    for title in ("Comparison (per indicator)", "Root cause: 2026-Q2 → 2026-Q3", "Calibration"):
        assert title in table.stdout
    markdown = analyze("--calibrate-by", "role", "--format", "md", "--base", "2026-Q1")
    assert markdown.exit_code == 0, markdown.output
    assert markdown.stdout.startswith("# Analysis: Acme Sales KPI 2026")
    assert "## Root cause: 2026-Q1 → 2026-Q4" in markdown.stdout
    assert "| sales_rep | sales_rep |" in markdown.stdout  # calibrated by role


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--subject", "E9999"], 1, "no one with employee_id 'E9999' in the roster"),
        (["--department", "Marketing"], 1, "departments: Channel Sales"),
        (["--period", "2025-Q4"], 1, "period '2025-Q4' is not in the results"),
        (["--drill", "revenue", "--by", "orders.market"], 1, "no indicator called 'revenue'"),
        (["--drill", "order_cycle", "--by", "orders.region"], 1, "columns: order_id"),
        (["--drill", "order_cycle"], 2, "go together"),
        (["--nine-box", "total"], 2, "two names"),
        (["--nine-box", "total,total", "--cuts", "high,low"], 2, "two numbers"),
        (["--subject", "E1015", "--department", "Sales"], 2, "exclude each other"),
    ],
)
def test_cli_errors(args: list[str], code: int, message: str) -> None:
    result = analyze(*args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
