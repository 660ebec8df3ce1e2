"""The lowered plan (`kpirules.plan`) and `kpirules plan`: what every runner executes.

Expected values come from the policy text (read by eye), not from the plan itself."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest
from click.testing import CliRunner

import kpirules
from kpirules.cli import main
from kpirules.plan import build
from kpirules.plan import nodes as n

POLICIES = Path(__file__).resolve().parent.parent / "policies"
EXAMPLES = ["sales", "engineering", "customer_service", "manufacturing", "ecommerce", "zh_retail"]


def walk_nodes(value):
    """Every plan node reachable from `value` (dataclasses, tuples)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            yield current
            stack.extend(getattr(current, f.name) for f in dataclasses.fields(current))
        elif isinstance(current, tuple):
            stack.extend(current)


@pytest.mark.parametrize("org", [*EXAMPLES, "shared"])
def test_kpirules_plan_prints_every_example(org: str) -> None:
    result = CliRunner().invoke(main, ["plan", str(POLICIES / org)])
    assert result.exit_code == 0, result.output
    policy = kpirules.load(POLICIES / org)
    text = result.output
    for name in policy.indicators:
        assert f". {name} [" in text
    for name in policy.scorecards:
        assert f"\nscorecard {name}  @ " in text
    for name in policy.incentives:
        assert f"payout {name}  @ " in text
    for name, goal in policy.goals.items():
        if goal.target is not None:
            assert f"goal {name} (" in text


@pytest.mark.parametrize("org", EXAMPLES)
def test_indicators_run_after_what_they_read(org: str) -> None:
    policy = kpirules.load(POLICIES / org)
    plan = build(policy)
    position = {step.name: i for i, step in enumerate(plan.steps)}
    assert sorted(position) == sorted(policy.indicators)
    for step in plan.steps:
        for other in policy.indicators[step.name].depends_on:
            assert position[other] < position[step.name], (other, step.name)


@pytest.mark.parametrize("org", EXAMPLES)
def test_word_lists_are_enums_and_nodes_are_frozen(org: str) -> None:
    plan = build(kpirules.load(POLICIES / org))
    words = {
        n.Curve: ("better",),
        n.CurvePoint: ("kind",),
        n.Band: ("kind",),
        n.Bands: ("hit_policy",),
        n.MissingRule: ("action",),
        n.Gate: ("effect",),
        n.Payout: ("rounding",),
        n.Goal: ("op",),
        n.IndicatorStep: ("better",),
    }
    seen = 0
    for node in walk_nodes(plan):
        for field in words.get(type(node), ()):
            assert isinstance(getattr(node, field), StrEnum), (type(node), field)
            seen += 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(node, dataclasses.fields(node)[0].name, None)
    assert seen > 10


@pytest.mark.parametrize("org", [*EXAMPLES, "shared"])
def test_the_plan_is_self_contained_no_ast_no_model(org: str) -> None:
    """A runner executes the plan and nothing else: no node of it is the checker's AST
    or model, and every formula is a lowered expression with its names resolved."""
    plan = build(kpirules.load(POLICIES / org))
    lowered = 0
    for node in walk_nodes(plan):
        assert not isinstance(node, kpirules.ast.Node), type(node)
        assert type(node).__module__ in (
            "kpirules.plan.nodes",
            "kpirules.plan.expr",
            "kpirules.dimensions",
            "kpirules.diagnostics",
        ), type(node)
        lowered += type(node).__module__ == "kpirules.plan.expr"
    assert lowered > 0 or not plan.steps


def test_runner_modules_never_import_the_model_or_the_ast() -> None:
    """The runners' modules see the plan only (the entry point `evaluate` and the
    explainer take a policy, build its plan and hand that over)."""
    import ast as python_ast

    package = Path(kpirules.__file__).parent
    modules = [*sorted((package / "engine").glob("*.py"))]
    forbidden = {"kpirules.ast", "kpirules.model", "kpirules.check"}
    for path in modules:
        if path.name == "__init__.py":
            continue
        tree = python_ast.parse(path.read_text(encoding="utf-8"))
        for node in python_ast.walk(tree):
            if isinstance(node, python_ast.ImportFrom) and node.module:
                names = {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
                assert not names & forbidden, (path.name, node.module)


def test_lowering_resolves_each_name_to_what_it_is() -> None:
    """In the sales policy, by eye: `order_cycle <= industry_order_cycle` is an indicator
    in days (1,440 minutes a day) against a benchmark of 4 days held in minutes."""
    from kpirules.plan import expr as x

    plan = build(kpirules.load(POLICIES / "sales"))
    gate = plan.scorecards[0].gates[0].condition.expr
    assert isinstance(gate, x.Binary) and gate.op == x.Op.LE
    assert gate.left == x.Indicator("order_cycle", 1440.0, gate.left.unit)
    assert isinstance(gate.right, x.Const) and gate.right.label == "industry_order_cycle"
    assert gate.right.value == 4 * 1440.0
    first = plan.steps[0].formula
    assert isinstance(first, x.Aggregate) and first.source == "orders"
    assert first.func == x.Reduce.COUNT_DISTINCT
    assert first.argument == x.Column("orders", "customer_id", 1.0, first.argument.unit)


def test_the_sales_plan_holds_the_policy_in_runner_units() -> None:
    """Read off policies/sales/scorecards.kpi and incentives.kpi by eye."""
    plan = build(kpirules.load(POLICIES / "sales"))
    rep = plan.scorecard("sales_rep")
    entries = {e.indicator: e for e in rep.entries}
    assert [e.indicator for e in rep.entries] == [
        "new_customers",
        "new_market_share",
        "quarterly_revenue",
        "order_cycle",
        "skill_growth",
    ]
    assert [e.weight for e in rep.entries] == [0.3, 0.25, 0.2, 0.15, 0.1]
    share = entries["new_market_share"].scoring
    assert isinstance(share, n.Curve) and share.better is n.Better.HIGHER
    assert share.xs == [0.1, 0.2, 0.3] and share.ys == [50, 100, 150]  # 10%, 20%, 30%
    assert [p.kind for p in share.points] == [
        n.PointKind.THRESHOLD,
        n.PointKind.TARGET,
        n.PointKind.STRETCH,
    ]
    cycle = entries["order_cycle"].scoring
    assert cycle.better is n.Better.LOWER and cycle.xs == [5, 3, 2] and cycle.ys == [50, 100, 120]
    # the entry's own rule, else the scorecard's
    assert entries["skill_growth"].missing == n.MissingRule(n.WhenMissing.SCORE, 0.0)
    assert entries["new_customers"].missing == n.MissingRule(n.WhenMissing.REWEIGHT)
    assert rep.missing.action is n.WhenMissing.REWEIGHT
    (gate,) = rep.gates
    assert gate.effect is n.GateEffect.CAP and gate.value == 100
    assert gate.condition.text == "order_cycle <= industry_order_cycle"
    assert (rep.floor, rep.cap) == (0, 150)
    assert rep.rating is not None and rep.rating.name == "five_level"
    assert [level.label for level in rep.rating.levels][-1] == "Unsatisfactory"
    assert rep.rating.levels[-1].condition is None
    (bonus,) = rep.payouts
    assert bonus.incentive == "quarterly_bonus"
    assert bonus.rounding is n.Rounding.HALF_EVEN and bonus.step == Decimal("0.01")
    assert bonus.prorate is n.Prorate.DAYS_EMPLOYED and bonus.currency == "CNY"
    assert bonus.pay is not None and bonus.pay.unit.kind == "money"
    assert [a.kind for a in bonus.actions] == ["recognize"]
    assert bonus.actions[0].origin == "incentive quarterly_bonus"
    assert {a.origin for a in rep.actions} == {"improvement rep_development"}
    manager = plan.scorecard("sales_manager")
    tiers = manager.payouts[0].tiers
    assert [(t.kind, t.low, t.high) for t in tiers] == [
        (n.BandKind.BELOW, None, 90.0),
        (n.BandKind.BETWEEN, 90.0, 110.0),
        (n.BandKind.AT_LEAST, 110.0, None),
    ]
    goals = {g.name: g for g in plan.goals}
    assert goals["fast_fulfilment"].op is n.Comparison.LE and goals["fast_fulfilment"].target == 3
    assert goals["new_market_growth"].target == 0.3  # 30%
    assert goals["revenue_plan"].needs == ("quarterly_revenue",)


def test_the_printed_plan_reads_as_the_policy_says() -> None:
    result = CliRunner().invoke(main, ["plan", str(POLICIES / "sales")])
    text = result.output
    assert text.startswith("plan Acme Sales KPI 2026 (quarterly)\n")
    assert "threshold 0.1 → 50, target 0.2 → 100, stretch 0.3 → 150" in text
    assert "curve (lower is better): threshold 5 → 50, target 3 → 100, stretch 2 → 120" in text
    assert "gate: order_cycle <= industry_order_cycle, else cap the total at 100" in text
    assert "round half_even to 0.01 CNY" in text
    assert (
        "read training: sum(training.hours) where training.passed, periods 4 back to this" in text
    )
    assert "'Unsatisfactory' otherwise" in text


LAGGING = """\
policy "Lag" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  currency CNY
}
roster staff {
  key id
  columns { id: text }
}
source sales {
  subject id
  time day
  columns { id: text  day: date  amount: money }
}
indicator a { unit number  better higher  = coalesce(previous(b), 0) + count(sales) }
indicator b { unit number  better higher  = coalesce(previous(a), 0) + 1 }
"""


def test_a_lagging_cycle_is_planned_period_by_period(tmp_path: Path) -> None:
    """a reads b's past and b reads a's: neither order works, so every period runs all."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "p.kpi").write_text(LAGGING, encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", str(tmp_path / "p.kpi")])
    assert result.exit_code == 0, result.output
    assert "indicators, per person and period, period by period, all together:" in result.output
    assert "1. a [number]" in result.output and "2. b [number]" in result.output


def test_a_broken_policy_gets_its_diagnostics_not_a_plan(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "p.kpi").write_text("indicator x unit number = nope(1)\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", str(tmp_path / "p.kpi")])
    assert result.exit_code == 1
    assert "p.kpi:1:" in result.output and "plan " not in result.output
