"""`kpirules explain`: the derivation of every example person recomputes to the results."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

import kpirules
from kpirules.cli import main
from kpirules.engine import evaluate
from kpirules.resources import schema
from kpirules.trace import Explainer, ExplainError, Step

POLICIES = Path(__file__).resolve().parent.parent / "policies"
EXAMPLES = ["sales", "engineering", "customer_service", "manufacturing", "ecommerce", "zh_retail"]
AS_OF = date(2027, 1, 4)


def walk(step: Step):
    yield step
    for child in step.children:
        yield from walk(child)


def close(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("org", EXAMPLES)
def test_every_person_recomputes(org: str) -> None:
    policy = kpirules.load(POLICIES / org)
    explainer = Explainer(policy, POLICIES / org / "data.yaml", as_of=AS_OF)
    # explain evaluates each person on their own rows; the run over everyone must agree
    results = evaluate(policy, explainer.loaded)
    people = results.totals.dropna(subset=["total"]).groupby("subject")["period"].last()
    assert len(people) >= 20
    for subject, period in people.items():
        trace = explainer.explain(subject, period)
        steps = list(walk(trace))
        # No step the tracer re-did disagrees with the engine.
        assert all(s.detail.get("recomputes", True) for s in steps), subject
        totals = results.totals[
            (results.totals["subject"] == subject) & (results.totals["period"] == period)
        ]
        cards = [s for s in trace.children if s.title.startswith("scorecard ")]
        assert [c.value for c in cards] == pytest.approx(totals["total"].tolist())
        for card in cards:
            # The contributions shown add up to the weighted total shown.
            contributions = [
                c.value
                for s in card.children
                if s.title.startswith("indicator ")
                for c in s.children
                if c.title.startswith("weight ")
            ]
            weighted = next(s for s in card.children if s.title.startswith("weighted total"))
            assert close(
                sum(v for v in contributions if v is not None and not math.isnan(v)), weighted.value
            ) or math.isnan(weighted.value)
            # Each aggregate of a plain sum or count recomputes from the rows it lists.
            for step in walk(card):
                detail = step.detail
                if (
                    "rows" in detail
                    and detail["rows_used"] <= 50
                    and step.title.startswith(("sum(", "count("))
                ):
                    if step.title.startswith("count(") and detail["rows_read"]:
                        assert step.value == detail["rows_used"]
                    elif detail["rows_read"] and all(
                        isinstance(v, (int, float)) for v in detail["values"]
                    ):
                        assert close(float(sum(detail["values"])), step.value), step.title
            # Payouts shown equal the engine's.
            for step in card.children:
                if step.title.startswith("incentive "):
                    name = step.title.split()[1].rstrip(":")
                    paid = results.payouts[
                        (results.payouts["subject"] == subject)
                        & (results.payouts["period"] == period)
                        & (results.payouts["incentive"] == name)
                    ]
                    assert close(step.value, float(paid["amount"].iloc[0]))


def test_the_trace_names_rows_rules_and_why_not() -> None:
    policy = kpirules.load(POLICIES / "sales")
    explainer = Explainer(policy, POLICIES / "sales" / "data.yaml", as_of=AS_OF)
    trace = explainer.explain("E1006", "2026-Q2")
    text = "\n".join(s.title + json.dumps(s.detail, default=str) for s in walk(trace))
    assert "rows of orders" in text and "catalogue.kpi" in json.dumps(trace.to_dict())
    rating = next(s for s in walk(trace) if s.title.startswith("rating "))
    assert rating.at.startswith("policies/sales/scorecards.kpi:")
    not_fired = [s for s in walk(trace) if s.title.endswith("not fired")]
    assert not_fired and all("why_not" in s.detail for s in not_fired)


def test_indicator_titles_read_in_their_unit() -> None:
    """A share is shown as a percentage (with the fraction the arithmetic uses), money in
    the policy's currency, durations with their unit, counts bare."""
    policy = kpirules.load(POLICIES / "sales")
    explainer = Explainer(policy, POLICIES / "sales" / "data.yaml", as_of=AS_OF)
    titles = [s.title for s in walk(explainer.explain("E1017", "2026-Q4"))]
    orders = explainer.loaded.frames["orders"]
    mine = orders[
        (orders["rep_id"] == "E1017")
        & (orders["closed_on"] >= "2026-10-01")
        & (orders["closed_on"] <= "2026-12-31")
    ]
    share = mine.loc[mine["market"] == "new", "amount"].sum() / mine["amount"].sum()
    revenue = mine["amount"].sum()
    assert f"indicator new_market_share = {share * 100:.6f}% ({share:.6f})" in titles
    assert f"indicator quarterly_revenue = {revenue:,.0f} CNY" in titles
    assert any(t.startswith("indicator order_cycle = ") and t.endswith(" days") for t in titles)
    assert (
        f"indicator new_customers = {mine.loc[mine['new_customer'], 'customer_id'].nunique()}"
        in titles
    )


def test_bad_questions_are_clear_errors() -> None:
    policy = kpirules.load(POLICIES / "sales")
    explainer = Explainer(policy, POLICIES / "sales" / "data.yaml", as_of=AS_OF)
    with pytest.raises(ExplainError, match="no one with employee_id 'nobody'"):
        explainer.explain("nobody")
    with pytest.raises(ExplainError, match="outside the policy's range"):
        explainer.explain("E1006", "2027-Q1")
    with pytest.raises(ExplainError, match="not a quarterly period"):
        explainer.explain("E1006", "2026-03")
    with pytest.raises(ExplainError, match="not on 'E1006'"):
        explainer.explain("E1006", "2026-Q2", "coaching_quality")
    with pytest.raises(ExplainError, match="no indicator called"):
        explainer.explain("E1006", "2026-Q2", "nope")


def test_cli_json_validates_and_text_and_markdown_render() -> None:
    runner = CliRunner()
    base = [
        "explain",
        str(POLICIES / "sales"),
        "--data",
        str(POLICIES / "sales" / "data.yaml"),
        "--subject",
        "E1006",
        "--period",
        "2026-Q2",
        "--as-of",
        "2027-01-04",
    ]
    result = runner.invoke(main, [*base, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    jsonschema.validate(payload, schema("trace.schema.json"))
    assert payload["subject"] == "E1006" and payload["period"] == "2026-Q2"
    text = runner.invoke(main, base)
    assert text.exit_code == 0 and "├─ " in text.output and "why not:" in text.output
    markdown = runner.invoke(main, [*base, "--format", "md", "--indicator", "new_customers"])
    assert markdown.exit_code == 0 and markdown.output.startswith("# E1006")
    assert "quarterly_revenue" not in markdown.output
    missing = runner.invoke(main, [*base[:-4], "--subject", "nobody"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert "no one with employee_id 'nobody'" in missing.output


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as Python objects, every kind of missing as None: a column that is missing
    for the one person asked about has no type to infer."""
    return frame.astype(object).where(frame.notna(), None)


@pytest.mark.parametrize("org", EXAMPLES)
def test_one_person_evaluates_as_in_the_run_over_everyone(org: str) -> None:
    """`evaluate(..., subjects=…)` (what explain runs) reads only those people's rows and
    their groups' rows for goals; every table about them must equal the full run's."""
    policy = kpirules.load(POLICIES / org)
    loaded = Explainer(policy, POLICIES / org / "data.yaml", as_of=AS_OF).loaded
    everyone = evaluate(policy, loaded)
    roster = policy.roster
    people = sorted(loaded.frames[roster.name][roster.key])
    for subject in people[:: max(1, len(people) // 6)]:
        one = evaluate(policy, loaded, subjects={subject})
        for table in ("indicators", "scores", "totals", "payouts", "actions"):
            full = getattr(everyone, table)
            mine = full[full["subject"] == subject].reset_index(drop=True)
            pd.testing.assert_frame_equal(plain(getattr(one, table)), plain(mine))
        person = loaded.frames[roster.name].set_index(roster.key).loc[subject]
        goals = everyone.goals
        theirs = [
            level == "company" or owner == person[roster.roles.get(level, level)]
            for level, owner in zip(goals["owner_level"], goals["owner"], strict=True)
        ]
        expected = goals[pd.Series(theirs, index=goals.index, dtype=bool)]
        pd.testing.assert_frame_equal(plain(one.goals), plain(expected.reset_index(drop=True)))
