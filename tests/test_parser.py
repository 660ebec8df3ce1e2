"""Grammar and parser: no LALR conflicts, literals, spans, comments, syntax errors."""

from __future__ import annotations

import logging
from decimal import Decimal

import lark
import pytest

from kpirules import ast
from kpirules.parser import grammar_text, parse


def parse_ok(text: str) -> ast.Module:
    module, diagnostics = parse(text, "t.kpi")
    assert module is not None, diagnostics
    assert diagnostics == []
    return module


def formula(text: str) -> ast.Expr:
    module = parse_ok(f"indicator x {{ = {text} }}")
    (stmt,) = module.items[0].body
    return stmt.expr


def test_grammar_has_no_lalr_conflicts(caplog):
    # strict=True turns shift/reduce conflicts and terminal collisions into errors;
    # debug=True logs any conflict Lark resolves silently, which we also refuse.
    with caplog.at_level(logging.DEBUG, logger="lark"):
        lark.Lark(grammar_text(), parser="lalr", lexer="contextual", strict=True, debug=True)
    conflicts = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage().lower()]
    assert conflicts == []


def test_percent_quantity_money_and_underscores():
    expr = formula("30% + 3 days + 20_000 CNY + 15 min + 1.5")
    literals = [n for n in ast.walk(expr) if isinstance(n, (ast.Percent, ast.Quantity, ast.Number))]
    assert [type(n).__name__ for n in literals] == [
        "Percent",
        "Quantity",
        "Quantity",
        "Quantity",
        "Number",
    ]
    assert literals[0].value == Decimal("0.3")
    assert (literals[1].number, literals[1].unit) == ("3", "days")
    assert literals[2].value == Decimal(20000) and literals[2].unit == "CNY"
    assert (literals[3].number, literals[3].unit) == ("15", "min")
    assert literals[4].value == Decimal("1.5")


@pytest.mark.parametrize("text", ["2026-Q1", "2026-03", "FY2026"])
def test_period_literals(text):
    module = parse_ok(f'test "t" {{ period {text} expect score("e1") == 1 }}')
    assert module.items[0].body[0].period.text == text


def test_date_and_period_are_not_subtraction():
    expr = formula("if x > 2026-01-31 then 1 else 2")
    assert isinstance(expr.condition.right, ast.DateLit)
    assert expr.condition.right.text == "2026-01-31"


def test_operator_precedence_and_associativity():
    expr = formula("a - b - c * d")
    # (a - b) - (c * d)
    assert expr.op == "-" and expr.left.op == "-" and expr.right.op == "*"
    cond = formula("not a and b or c == d")
    # ((not a) and b) or (c == d)
    assert cond.op == "or" and cond.left.op == "and" and isinstance(cond.left.left, ast.Not)
    assert cond.right.op == "=="


def test_aggregate_with_filter_and_window():
    expr = formula('sum(orders.amount where orders.market == "new" over last 3 periods)')
    assert isinstance(expr, ast.Call) and expr.func == "sum"
    assert expr.args == (ast.Attribute("orders", "amount"),)
    assert expr.where.op == "=="
    assert expr.window == ast.Quantity("3", "periods")


def test_unicode_identifiers_strings_and_comments():
    module = parse_ok(
        '# 销售政策\nindicator 新客户数 "新客户数量" {  # 行尾注释\n'
        "  unit count\n  = count_distinct(订单.客户编号)\n}\n"
    )
    decl = module.items[0]
    assert decl.name.text == "新客户数"
    assert decl.label.value == "新客户数量"
    assert decl.body[1].expr.args[0] == ast.Attribute("订单", "客户编号")
    assert [c.text for c in module.comments] == ["# 销售政策", "# 行尾注释"]
    assert module.comments[1].span.line == 2


def test_keywords_are_contextual():
    # `target`, `period` and `key` are keywords only where the grammar expects them.
    module = parse_ok("source s { key target columns { target: number period: text key: text } }")
    columns = module.items[0].body[1].columns
    assert [c.name.text for c in columns] == ["target", "period", "key"]


def test_spans_point_at_source():
    module = parse_ok('policy "P" {\n  cadence quarterly\n}\n\nindicator x {\n  = 1 + y\n}\n')
    cadence = module.items[0].body[0]
    assert (cadence.span.line, cadence.span.column) == (2, 3)
    assert (cadence.name.span.line, cadence.name.span.column) == (2, 11)
    indicator = module.items[1]
    assert (indicator.span.line, indicator.span.end_line) == (5, 7)
    y = indicator.body[0].expr.right
    assert (y.span.line, y.span.column, y.span.end_column) == (6, 9, 10)


def test_bom_and_crlf_are_accepted():
    module = parse_ok('\ufeffpolicy "P" {\r\n  cadence monthly\r\n}\r\n')
    assert module.items[0].body[0].name.text == "monthly"
    assert module.items[0].body[0].span.line == 2


def test_spans_are_ignored_by_equality():
    a = parse_ok("indicator x { = 1 + 2 }")
    b = parse_ok("\n\n  indicator   x {\n = 1+2\n}")
    assert a.items == b.items


def test_every_broken_declaration_is_reported():
    text = "indicator a { = 1 + }\nindicator b { unit count }\nscorecard c { weight }\n"
    module, diagnostics = parse(text, "t.kpi")
    assert module is None
    assert [(d.code, d.span.line) for d in diagnostics] == [("E001", 1), ("E001", 3)]
    assert diagnostics[0].message == "unexpected '}'"
    assert diagnostics[1].message == "unexpected 'weight'"


def test_unexpected_character_and_unclosed_string():
    _, diagnostics = parse('policy "P" { version "1 }\n', "t.kpi")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E003", 1, 22)]
    _, diagnostics = parse("indicator x { = 1 $ 2 }", "t.kpi")
    assert diagnostics[0].code == "E002"
    assert diagnostics[0].message == "unexpected character '$'"
    assert diagnostics[0].span.column == 19


def test_unexpected_end_of_file_points_after_last_character():
    _, diagnostics = parse('policy "P" {\n  cadence monthly\n', "t.kpi")
    assert diagnostics[0].code == "E001"
    assert diagnostics[0].message == "unexpected end of file"
    assert (diagnostics[0].span.line, diagnostics[0].span.column) == (2, 18)


def test_deep_nesting_is_refused_before_parsing():
    _, diagnostics = parse("indicator x { = " + "(" * 10_000 + "1" + ")" * 10_000 + " }", "t.kpi")
    assert [d.code for d in diagnostics] == ["E005"]


def test_unknown_escape_is_reported():
    _, diagnostics = parse('indicator x "a\\qb" { = 1 }', "t.kpi")
    assert [(d.code, d.span.column) for d in diagnostics] == [("E008", 15)]
    ok = parse_ok('indicator x "tab\\tquote\\" \\u4e2d" { = 1 }')
    assert ok.items[0].label.value == 'tab\tquote" 中'


def test_very_long_operator_chain_is_refused_not_crashed():
    text = "indicator x { = " + " + ".join(["1"] * 10_000) + " }"
    module, diagnostics = parse(text, "t.kpi")
    assert module is None
    assert [d.code for d in diagnostics] == ["E005"]
    shallow, diagnostics = parse("indicator x { = " + " + ".join(["1"] * 150) + " }", "t.kpi")
    assert diagnostics == [] and shallow is not None


def test_curve_points_and_band_bounds_may_be_negative_or_benchmarks():
    module = parse_ok(
        "scorecard s { indicator growth weight 100% {\n"
        "  threshold -5% => 50  target 0% => 100  stretch peer_growth => 150 } }\n"
        "scorecard t { indicator growth weight 100% {\n"
        "  bands first { below -10% => 0  from -10% to peer_growth => 80  otherwise => 100 } } }"
    )
    points = module.items[0].body[0].items
    assert points[0].value == ast.Negate(ast.Percent("5%"))
    assert points[2].value == ast.Name("peer_growth")
    bands = module.items[1].body[0].items[0].bands
    assert bands[1].range.low == ast.Negate(ast.Percent("10%"))
    assert bands[1].range.high == ast.Name("peer_growth")
