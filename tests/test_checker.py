"""The checker: names, units, cascade, curves, weights, ratings, actions, tests.

Each case is a small policy with one mistake; the test asserts the code and the line.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from kpirules import model
from kpirules.check import check
from kpirules.parser import parse

BASE = """\
policy "P" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  currency CNY
}
roster employees {
  key employee_id
  department department
  role role
  start hired_on
  columns { employee_id: text  department: text  role: text  base_salary: money
            hired_on: date }
}
source orders {
  subject employee_id
  time closed_on
  columns { employee_id: text  closed_on: date  amount: money  market: text
            new_customer: bool  processing_days: days  rate: percent }
}
source surveys {
  subject employee_id
  time taken_on
  columns { employee_id: text  taken_on: date  nps: number }
}
objective grow "Grow" { horizon long }
goal g "New markets" { supports grow  owner department "Sales"  target share >= 30% by 2026-Q4 }
indicator revenue "Revenue" { supports g  unit money  better higher  = sum(orders.amount) }
indicator share "New-market share" {
  supports g  unit percent  better higher
  = sum(orders.amount where orders.market == "new") / sum(orders.amount)
}
indicator cycle "Processing time" {
  supports g  unit hours  better lower  horizon long  = mean(orders.processing_days)
}
scorecard rep {
  applies to employees where role == "rep"
  indicator revenue weight 40% { threshold 10000 CNY => 50  target 20000 CNY => 100 }
  indicator share weight 35% { threshold 10% => 50  target 20% => 100  stretch 30% => 150 }
  indicator cycle weight 25% { threshold 2 days => 50  target 36 hours => 100  otherwise => 10 }
  when missing => reweight
  rating five
}
rating five {
  "Top" when score >= 120
  "Good" when score >= 90
  "Low" otherwise
  distribution { "Top" at most 15% }
}
incentive bonus for rep {
  gate share reaches threshold
  pay employees.base_salary * 10% * min(score, 150) / 100
  cap 30000 CNY
  prorate by days_employed
  when rating == "Top" => recognize "Star"
}
improvement for rep {
  when revenue misses threshold => training "Prospecting" owner manager within 30 days
  when rating in ["Low"] for 2 periods => plan "PIP" owner manager within 60 days
  when worsening(cycle, 3 periods) => coaching "Order handling" owner "Ops lead"
}
feedback for rep { check_in weekly  review quarterly }
test "rep" {
  period 2026-Q1
  given employees { employee_id: "e1", role: "rep", base_salary: 20000 }
  given orders [ { employee_id: "e1", amount: 100 } ]
  expect score("e1") == 100
  expect "Star" in actions("e1")
}
"""


def run(text: str) -> tuple[model.Policy | None, list]:
    module, diagnostics = parse(text, "t.kpi")
    assert module is not None, diagnostics
    return check([module])


def codes(text: str) -> list[tuple[str, int]]:
    _, diagnostics = run(text)
    return [(d.code, d.span.line) for d in diagnostics]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_base_policy_is_clean():
    policy, diagnostics = run(BASE)
    assert diagnostics == []
    assert policy is not None


def test_model_converts_constants_to_the_indicator_unit():
    policy, _ = run(BASE)
    entries = {e.indicator: e for e in policy.scorecards["rep"].entries}
    assert sum(e.weight for e in entries.values()) == 1
    assert entries["share"].weight == Decimal("0.35")
    share = entries["share"].scoring
    assert [(p.kind, p.value, p.score) for p in share.points] == [
        ("threshold", Decimal("0.10"), 50),
        ("target", Decimal("0.20"), 100),
        ("stretch", Decimal("0.30"), 150),
    ]
    cycle = entries["cycle"].scoring  # an hours indicator: 2 days = 48 h, 36 hours = 36 h
    assert [p.value for p in cycle.points] == [Decimal(48), Decimal(36)]
    assert cycle.otherwise == 10
    assert policy.goals["g"].target.value == Decimal("0.30")
    assert policy.goals["g"].owner_value == "Sales"
    assert policy.indicators["share"].sources == ("orders",)
    assert policy.scorecards["rep"].missing == model.MissingRule("reweight")
    improvement = policy.improvements[0]
    assert [a.periods for a in improvement.actions] == [1, 2, 1]
    assert improvement.actions[0].within_days == 30
    assert improvement.actions[2].owner == "Ops lead"
    assert policy.header.rounding_mode == "half_even"
    assert policy.header.rounding_step == Decimal("0.01")


def mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


CASES = [
    # (code, old text, new text, text on the reported line)
    ("E201", "indicator cycle ", "indicator revenue ", 'indicator revenue "Processing'),
    ("E202", "= sum(orders.amount) }", "= sum(orders.amount) + bonus_pool }", "bonus_pool"),
    ("E203", "sum(orders.amount) }", "sum(orders.amont) }", "orders.amont"),
    ("E204", "sum(orders.amount) }", "sum(order.amount) }", "order.amount"),
    ("E205", "applies to employees", "applies to orders", "applies to orders"),
    ("E206", "unit money  better higher", "unit money  unit count  better higher", "unit count"),
    ("E207", "unit money  better higher  =", "better higher  =", "indicator revenue"),
    ("E208", "cadence quarterly", "cadence weekly", "cadence weekly"),
    ("E209", "= sum(orders.amount) }", "= total(orders.amount) }", "total("),
    ("E210", "min(score, 150)", "round(score, 1, 2)", "round(score"),
    ("E211", "roster employees {", "source employees {", "scorecard rep"),
    ("E301", "sum(orders.amount) }", "sum(orders.amount) + sum(orders.rate) }", "orders.rate) }"),
    ("E302", "sum(orders.amount) }", "sum(orders.amount) * sum(orders.amount) }", "* sum"),
    ("E303", "unit money  better higher", "unit days  better higher", "= sum(orders.amount) }"),
    ("E304", 'when rating == "Top"', "when employees.role", "employees.role =>"),
    ("E305", "= sum(orders.amount) }", "= orders.amount }", "= orders.amount"),
    ("E306", "where orders.market", "where surveys.nps > 5 and orders.market", "surveys.nps"),
    ("E307", "= mean(orders.processing_days)", "= mean(revenue)", "mean(revenue)"),
    ("E308", "  rating five\n}", "  rating five\n  cap revenue\n}", "cap revenue"),
    ("E309", "20000 CNY", "20000 USD", "20000 USD"),
    ("E311", "when revenue misses threshold", "when revenue misses stretch", "misses stretch"),
    ("E312", "to 2026-12-31", "to 2025-12-31", "effective"),
    ("E313", "by 2026-Q4", "by 2026-13", "by 2026-13"),
    ("E314", "time closed_on", "time market", "time market"),
    ("E315", "target share >= 30%", "target 30% <= share", "target 30%"),
    ("E316", "= sum(orders.amount) }", "= 42 }", "= 42"),
    (
        "E401",
        "= mean(orders.processing_days)",
        "= mean(orders.processing_days) + cycle",
        "indicator cycle ",
    ),
    (
        "E402",
        'objective grow "Grow" { horizon long }',
        'objective grow "Grow" { horizon long supports grow }',
        "objective grow",
    ),
    ("E403", "supports g  unit money", "supports revenue  unit money", "supports revenue"),
    ("E501", "weight 25%", "weight 20%", "scorecard rep"),
    ("E502", "target 20% => 100", "target 5% => 100", "target 5%"),
    ("E503", "stretch 30% => 150", "stretch 30% => 150 target 25% => 120", "target 25%"),
    (
        "E504",
        "{ threshold 2 days => 50  target 36 hours => 100  otherwise => 10 }",
        "{ bands unique { below 40 => 100  from 30 to 50 => 50 } }",
        "from 30 to 50",
    ),
    ("E507", 'when rating == "Top"', 'when rating == "Tpo"', '"Tpo"'),
    ("E508", "at most 15%", "at most 150%", "at most 150%"),
    (
        "E509",
        'rating five {\n  "Top" when score >= 120\n  "Good" when score >= 90\n  "Low" otherwise\n',
        "rating five {\n",
        "rating five {",
    ),
    ("E510", "weight 35%", "weight 0.35", "weight 0.35"),
    (
        "E511",
        "  indicator cycle weight 25%",
        "  indicator share weight 25%",
        "indicator share weight 25%",
    ),
    ("E514", '"Good" when score >= 90', '"Good" otherwise', '"Good" otherwise'),
    (
        "E515",
        "indicator revenue weight 40% { threshold 10000 CNY => 50  target 20000 CNY => 100 }",
        "indicator revenue weight 40%",
        "indicator revenue weight 40%",
    ),
    ("E516", '"Good" when', '"Top" when', '"Top" when score >= 90'),
    ("E701", "given orders [", "given order [", "given order"),
    ("E702", "amount: 100", "amt: 100", "amt: 100"),
    ("E704", '  expect score("e1") == 100\n  expect "Star" in actions("e1")\n', "", 'test "rep"'),
    ("E705", 'expect score("e1")', 'expect scor("e1")', "scor("),
    ("W301", "target share >= 30%", "target share >= 30", "target share >= 30"),
    ("E202", "  rating five\n}", '  rating five\n  gate rating != "Low"\n}', "gate rating"),
    ("E213", 'indicator cycle "Processing', 'indicator score "Processing', "indicator score"),
    (
        "E317",
        "unit hours  better lower",
        "unit hours  better lower  period monthly",
        "period monthly",
    ),
    ("E706", "amount: 100 }", 'amount: "lots" }', '"lots"'),
    ("E207", "source orders {\n  subject employee_id\n", "source orders {\n", "source orders"),
    ("E313", "by 2026-Q4", "by 2026-12", "by 2026-12"),
    ("E208", 'owner department "Sales"', 'owner company "Sales"', 'company "Sales"'),
]


@pytest.mark.parametrize(("code", "old", "new", "where"), CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_reported_where_it_is(code, old, new, where):
    text = mutate(old, new)
    found = codes(text)
    expected_line = line_of(text, where)
    assert (code, expected_line) in found, found


def test_all_problems_are_reported_in_one_run():
    text = mutate("cadence quarterly", "cadence weekly")
    text = text.replace("sum(orders.amount) }", "sum(orders.amont) }").replace(
        "at most 15%", "at most 150%"
    )
    assert {c for c, _ in codes(text)} == {"E208", "E203", "E508"}


def test_policy_is_not_built_when_there_are_errors():
    policy, diagnostics = run(mutate("weight 25%", "weight 20%"))
    assert policy is None
    assert diagnostics[0].message == "the weights of scorecard 'rep' total 95%, not 100%"


def test_suggestions_for_misspelt_names():
    _, diagnostics = run(mutate("sum(orders.amount) }", "sum(orders.amont) }"))
    assert diagnostics[0].hint == "did you mean 'amount'?"


def test_unit_errors_name_both_units():
    _, diagnostics = run(mutate("sum(orders.amount) }", "sum(orders.amount) + sum(orders.rate) }"))
    assert diagnostics[0].message == "cannot add money (CNY) and percent"


def test_closer_curve_rises_then_falls():
    text = BASE.replace(
        "supports g  unit hours  better lower  horizon long",
        "supports g  unit hours  better closer  horizon long",
    ).replace(
        "{ threshold 2 days => 50  target 36 hours => 100  otherwise => 10 }",
        "{ point 24 hours => 50  target 36 hours => 100  point 48 hours => 50 }",
    )
    # A trend has no direction for a closer-to-target indicator (E210, tested below).
    trend = "when worsening(cycle, 3 periods)"
    assert ("E210", line_of(text, trend)) in codes(text)
    text = text.replace(trend, "when previous(cycle) > cycle")
    policy, diagnostics = run(text)
    assert diagnostics == []
    curve = policy.scorecards["rep"].entries[2].scoring
    assert [(p.value, p.score) for p in curve.points] == [(24, 50), (36, 100), (48, 50)]
    broken = text.replace("point 48 hours => 50", "point 48 hours => 120")
    assert ("E502", line_of(broken, "point 48 hours")) in codes(broken)


def test_bands_with_first_hit_policy_may_overlap():
    text = mutate(
        "{ threshold 2 days => 50  target 36 hours => 100  otherwise => 10 }",
        "{ bands first { below 24 => 120  below 48 => 100  otherwise => 0 } }",
    )
    policy, diagnostics = run(text)
    assert diagnostics == []
    bands = policy.scorecards["rep"].entries[2].scoring
    assert bands.hit_policy == "first"
    assert [(b.kind, b.high, b.score) for b in bands.bands] == [
        ("below", 24, 120),
        ("below", 48, 100),
        ("otherwise", None, 0),
    ]


def test_adjacent_unique_bands_do_not_overlap():
    text = mutate(
        "{ threshold 2 days => 50  target 36 hours => 100  otherwise => 10 }",
        "{ bands unique { below 24 => 120  from 24 to 48 => 100  at least 48 => 0 } }",
    )
    assert codes(text) == []


def test_library_without_header_checks_on_its_own():
    library = BASE[BASE.index("roster employees") : BASE.index("objective grow")]
    library += "indicator revenue { unit money  better higher  = sum(orders.amount) }\n"
    policy, diagnostics = run(library)
    assert diagnostics == []
    assert policy.header is None and policy.name == "(library)"
