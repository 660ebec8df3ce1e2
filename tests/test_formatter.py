"""`kpirules fmt`: canonical layout, comments, parentheses and the meaning-preserving net."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kpirules import ast, formatter
from kpirules.formatter import format_expr, format_module, format_source
from kpirules.parser import parse

ROOT = Path(__file__).resolve().parents[1]


def fmt(text: str) -> str:
    out, diagnostics = format_source(text, "t.kpi")
    assert out is not None, diagnostics
    return out


def comment_texts(text: str) -> list[str]:
    module, diagnostics = parse(text, "t.kpi")
    assert module is not None, diagnostics
    return [c.text.rstrip() for c in module.comments]


# ------------------------------------------------------------------ every construct

MESSY = """\
import   "shared/common.kpi"
policy "Sales 2025"{version "1.0" cadence monthly
  effective 2025-01-01 to 2025-12-31



  currency CNY locale "zh-CN" fiscal_year_start 4
      rounding half_up 0.01
  description "policy"
  data_quality { max_missing 5% on_missing warn }
}
source sales "Sales" {
  key order_id subject rep time month display rep_name
  columns { order_id : text required
    region: text required in ["east","west",] }
}
roster staff { department dept manager boss start hired end left role title }
objective grow "Grow" {supports mission horizon year owner company "CEO"
  target revenue >= 10000000 CNY by FY2025 description "o"}
objective bare   goal g1 { }
goal g2 { owner department target revenue reaches target by 2025-06-30 target x > 1 }
indicator revenue "Revenue" {
  supports grow ,g2 unit CNY better higher period monthly
  = sum( sales.amount where sales.region in [ "east" ] over last 3 periods )
}
benchmark peer = ((a + b) * c)
scorecard rep_card "Rep" {
  applies to staff where ( staff.role == "rep" )  applies to staff rating five
  indicator revenue weight 60% {
    threshold 80% => 60 target 100% => 100 stretch 120% => 120 point 50% => 10
    otherwise => 0 cap 150 floor 0 when missing => score 0
  }
  indicator churn weight 40%   indicator nps weight 0.2 { }
  indicator cycle weight 10 { bands first { below 10 => 0 above 90 => 100 at least 80 => 90
      at most 5 => 1 from 10 to 80 => (score - 10) * 2 otherwise => -1 } }
  gate attendance >= 90% else cap 80 gate compliant
  cap 150 floor 0 when missing => fail description "s"
}
rating five { "A" when score >= 90 "B" otherwise
  distribution { "A" at most 20% "B" at least 10% } description "r" }
incentive bonus "Bonus" for rep_card,mgr_card {
  gate rating != "C" pay base * (if score > 100 then 1.2 else score / 100)
  pay tiers on score { below 60 => 0 from 60 to 100 => 5000 CNY }
  cap 20000 CNY floor 0 CNY prorate by tenure
  when score < 60 for 2 periods => plan "Plan" owner manager within 30 days
  description "b"
}
improvement coach for rep_card { when x misses threshold => training "Skills" owner "HR" }
improvement for rep_card { when x reaches stretch => recognize "Star" description "i" }
feedback for rep_card { channel email }   feedback { channel chat }
test "basic" { description "t" period 2025-Q1
  given sales { order_id: "a", amount: 100, }
  given staff [ { emp: "e1" }, { emp: "e2", dept: "y" }, ]   given staff [ ]
  given sales from "data/sales.csv"   expect revenue == 100 }
"""

CANONICAL = """\
import "shared/common.kpi"

policy "Sales 2025" {
  version "1.0"
  cadence monthly
  effective 2025-01-01 to 2025-12-31

  currency CNY
  locale "zh-CN"
  fiscal_year_start 4
  rounding half_up 0.01
  description "policy"
  data_quality {
    max_missing 5%
    on_missing warn
  }
}

source sales "Sales" {
  key order_id
  subject rep
  time month
  display rep_name
  columns {
    order_id: text required
    region: text required in ["east", "west"]
  }
}

roster staff {
  department dept
  manager boss
  start hired
  end left
  role title
}

objective grow "Grow" {
  supports mission
  horizon year
  owner company "CEO"
  target revenue >= 10000000 CNY by FY2025
  description "o"
}

objective bare

goal g1

goal g2 {
  owner department
  target revenue reaches target by 2025-06-30
  target x > 1
}

indicator revenue "Revenue" {
  supports grow, g2
  unit CNY
  better higher
  period monthly
  = sum(sales.amount where sales.region in ["east"] over last 3 periods)
}

benchmark peer = (a + b) * c

scorecard rep_card "Rep" {
  applies to staff where staff.role == "rep"
  applies to staff
  rating five
  indicator revenue weight 60% {
    threshold 80% => 60
    target 100% => 100
    stretch 120% => 120
    point 50% => 10
    otherwise => 0
    cap 150
    floor 0
    when missing => score 0
  }
  indicator churn weight 40%
  indicator nps weight 0.2
  indicator cycle weight 10 {
    bands first {
      below 10 => 0
      above 90 => 100
      at least 80 => 90
      at most 5 => 1
      from 10 to 80 => (score - 10) * 2
      otherwise => -1
    }
  }
  gate attendance >= 90% else cap 80
  gate compliant
  cap 150
  floor 0
  when missing => fail
  description "s"
}

rating five {
  "A" when score >= 90
  "B" otherwise
  distribution {
    "A" at most 20%
    "B" at least 10%
  }
  description "r"
}

incentive bonus "Bonus" for rep_card, mgr_card {
  gate rating != "C"
  pay base * (if score > 100 then 1.2 else score / 100)
  pay tiers on score {
    below 60 => 0
    from 60 to 100 => 5000 CNY
  }
  cap 20000 CNY
  floor 0 CNY
  prorate by tenure
  when score < 60 for 2 periods => plan "Plan" owner manager within 30 days
  description "b"
}

improvement coach for rep_card {
  when x misses threshold => training "Skills" owner "HR"
}

improvement for rep_card {
  when x reaches stretch => recognize "Star"
  description "i"
}

feedback for rep_card {
  channel email
}

feedback {
  channel chat
}

test "basic" {
  description "t"
  period 2025-Q1
  given sales { order_id: "a", amount: 100 }
  given staff [
    { emp: "e1" },
    { emp: "e2", dept: "y" },
  ]
  given staff []
  given sales from "data/sales.csv"
  expect revenue == 100
}
"""

# Every statement and declaration class the parser can build (Ident, Comment, Module and
# expression nodes aside); the messy input must exercise each of them.
STATEMENT_KINDS = {
    "Import",
    "PolicyDecl",
    "SourceDecl",
    "ObjectiveDecl",
    "GoalDecl",
    "IndicatorDecl",
    "BenchmarkDecl",
    "ScorecardDecl",
    "RatingDecl",
    "IncentiveDecl",
    "ImprovementDecl",
    "FeedbackDecl",
    "TestDecl",
    "Description",
    "Version",
    "Cadence",
    "Effective",
    "Currency",
    "Locale",
    "FiscalYearStart",
    "Rounding",
    "Setting",
    "DataQuality",
    "FieldRole",
    "Column",
    "Columns",
    "Supports",
    "Horizon",
    "Owner",
    "Target",
    "UnitStmt",
    "Better",
    "PeriodStmt",
    "Formula",
    "AppliesTo",
    "Point",
    "OtherwiseScore",
    "BandRange",
    "Band",
    "Bands",
    "Missing",
    "Cap",
    "Floor",
    "Entry",
    "UseRating",
    "Gate",
    "RatingBand",
    "DistributionRule",
    "Distribution",
    "PayExpr",
    "PayTiers",
    "Prorate",
    "ActionRule",
    "FieldValue",
    "Record",
    "GivenRecords",
    "GivenFile",
    "Expect",
    "TestPeriod",
}


def test_messy_input_covers_every_statement_kind():
    module, diagnostics = parse(MESSY, "t.kpi")
    assert module is not None, diagnostics
    seen = {type(node).__name__ for node in ast.nodes(module)}
    assert seen >= STATEMENT_KINDS, STATEMENT_KINDS - seen
    ranges = {node.kind for node in ast.nodes(module) if isinstance(node, ast.BandRange)}
    assert ranges == {"below", "above", "at_least", "at_most", "between", "otherwise"}


def test_canonical_layout():
    assert fmt(MESSY) == CANONICAL


def test_canonical_text_is_a_fixed_point():
    assert fmt(CANONICAL) == CANONICAL
    assert fmt(fmt(MESSY)) == fmt(MESSY)


def test_tree_is_unchanged():
    before, _ = parse(MESSY, "t.kpi")
    after, _ = parse(fmt(MESSY), "t.kpi")
    assert before is not None and after is not None
    assert before == after
    assert before.items == after.items


def test_format_module_matches_format_source():
    module, _ = parse(MESSY, "t.kpi")
    assert module is not None
    assert format_module(module) == CANONICAL


# ------------------------------------------------------------------ comments

COMMENTED = """\
   # leading of policy
policy "p" {   # after policy head
  # before version


  # second before version
  version "1" # trailing version
  cadence
    # inside a statement
    monthly   # end of cadence
  # end of block 1

  # end of block 2
}   # after close
indicator x { unit pct # after unit
  = 1 +   # inside expr
    2 *
    3 # after expr
  # last in x
}
objective o { # head of an empty block
}
goal g {
  # alone in a block
}
goal h { # a
} # b
test "t" {
  given s [ # head of list
    # before first record
    { a: 1 }, # after first record
    { a: 2,
      # inside record
      b: 3 }
    # end of list
  ] # after list
}
# end of file 1

# end of file 2
"""

COMMENTED_CANONICAL = """\
# leading of policy
policy "p" {  # after policy head
  # before version

  # second before version
  version "1"  # trailing version
  # inside a statement
  cadence monthly  # end of cadence
  # end of block 1

  # end of block 2
}  # after close

indicator x {
  unit pct  # after unit
  # inside expr
  = 1 + 2 * 3  # after expr
  # last in x
}

objective o  # head of an empty block

goal g {
  # alone in a block
}

goal h {  # a
}  # b

test "t" {
  given s [  # head of list
    # before first record
    { a: 1 },  # after first record
    # inside record
    { a: 2, b: 3 },
    # end of list
  ]  # after list
}

# end of file 1

# end of file 2
"""


def test_comments_are_placed_canonically():
    assert fmt(COMMENTED) == COMMENTED_CANONICAL


def test_every_comment_is_kept_in_order():
    assert comment_texts(fmt(COMMENTED)) == comment_texts(COMMENTED)
    assert len(comment_texts(COMMENTED)) == 26


def test_commented_output_is_idempotent_and_same_tree():
    once = fmt(COMMENTED)
    assert fmt(once) == once
    assert parse(once, "t.kpi")[0] == parse(COMMENTED, "t.kpi")[0]


def test_trailing_comment_follows_the_code_it_was_after():
    source = "scorecard s { cap 1 floor 2 # about floor\n}\n"
    assert fmt(source) == "scorecard s {\n  cap 1\n  floor 2  # about floor\n}\n"
    source = "indicator i { unit pct } # after the block\n"
    assert fmt(source) == "indicator i {\n  unit pct\n}  # after the block\n"


def test_comment_before_first_declaration_and_comment_only_file():
    assert fmt("\n\n# just a note\n\n\n# another\n") == "# just a note\n\n# another\n"
    assert fmt("") == ""


def test_trailing_whitespace_in_comments_is_dropped():
    assert fmt("objective o   # note   \n") == "objective o  # note\n"


def test_comment_between_declarations_gets_one_blank_line_before_it():
    source = "objective a\n# about b\nobjective b\n"
    assert fmt(source) == "objective a\n\n# about b\nobjective b\n"


# ------------------------------------------------------------------ blank lines


def test_blank_lines_collapse_and_are_kept_inside_blocks():
    source = "\n\n\nindicator i {\n\n  unit pct\n\n\n\n  better higher\n  period monthly\n\n}\n"
    source += "\n\n\n\nobjective o\nobjective p\n\n\n"
    assert fmt(source) == (
        "indicator i {\n  unit pct\n\n  better higher\n  period monthly\n}\n"
        "\nobjective o\n\nobjective p\n"
    )


# ------------------------------------------------------------------ expressions


def formula(expr_text: str) -> str:
    out = fmt(f"indicator i {{ = {expr_text} }}")
    prefix, suffix = "indicator i {\n  = ", "\n}\n"
    assert out.startswith(prefix) and out.endswith(suffix), out
    return out[len(prefix) : -len(suffix)]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a / (b / c)", "a / (b / c)"),
        ("(a / b) * c", "a / b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("a + (b * c)", "a + b * c"),
        ("-(a + b)", "-(a + b)"),
        ("-(1)", "-1"),
        ("- (-a)", "--a"),
        ("(-a) * b", "-a * b"),
        ("a * (-b)", "a * -b"),
        ("a - (-1)", "a - -1"),
        ("-(3 days)", "-3 days"),
        ("not (a and b)", "not (a and b)"),
        ("not (a == b)", "not (a == b)"),
        ("not a == b", "not (a == b)"),
        ("(not a) == b", "(not a) == b"),
        ("not (not a)", "not not a"),
        ("(a == b) == c", "(a == b) == c"),
        ("a == (b == c)", "a == (b == c)"),
        ("(a in b) in c", "(a in b) in c"),
        ("(a + b) misses target", "a + b misses target"),
        ("(a misses target) == true", "(a misses target) == true"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("(a or b) or c", "a or b or c"),
        ("a or (b or c)", "a or (b or c)"),
        ("(if a then b else c) + 1", "(if a then b else c) + 1"),
        ("1 + (if a then b else c)", "1 + (if a then b else c)"),
        ("not (if a then b else c)", "not (if a then b else c)"),
        (
            "if (a or b) then (c + 1) else (if d then e else f)",
            "if a or b then c + 1 else if d then e else f",
        ),
        (
            "f((a), [ (b) ,c, ], x where (y) over last 3 periods)",
            "f(a, [b, c], x where y over last 3 periods)",
        ),
        ("g( )", "g()"),
        ("2024 - 12", "2024 - 12"),
        ("t.x-2025-Q1", "t.x - 2025-Q1"),
        ("1_000.50*30%", "1_000.50 * 30%"),
    ],
)
def test_minimal_parentheses(written: str, canonical: str):
    assert formula(written) == canonical
    before, _ = parse(f"indicator i {{ = {written} }}", "t.kpi")
    after, _ = parse(f"indicator i {{ = {canonical} }}", "t.kpi")
    assert before is not None and before == after


def test_long_chains_format():
    chain = " + ".join(["1"] * 150)
    assert formula(chain) == chain
    deep = "not " * 150 + "-" * 30 + "a"
    assert formula(deep) == deep


def test_expression_printer_does_not_recurse():
    tree: ast.Expr = ast.Number("1")
    for _ in range(5000):
        tree = ast.Binary("-", tree, ast.Not(ast.Name("a")))
    assert format_expr(tree) == "1" + " - (not a)" * 5000


def test_too_deep_chain_is_a_diagnostic_not_a_traceback():
    out, diagnostics = format_source("indicator i { = " + " + ".join(["1"] * 3000) + " }", "t")
    assert out is None
    assert [d.code for d in diagnostics] == ["E005"]


def test_brackets_nested_too_deep_are_refused_with_a_diagnostic():
    out, diagnostics = format_source("indicator i { = " + "(" * 70 + "a" + ")" * 70 + " }", "t")
    assert out is None
    assert [d.code for d in diagnostics] == ["E005"]


# ------------------------------------------------------------------ input encodings, scripts


def test_crlf_and_bom_input():
    source = "\ufeffindicator i {\r\n  unit pct   # 注释\r\n\r\n\r\n  = a+b\r\n}\r\n"
    assert fmt(source) == "indicator i {\n  unit pct  # 注释\n\n  = a + b\n}\n"


def test_chinese_identifiers_and_strings():
    source = 'indicator 销售额 "本季度销售额" {= sum(订单.金额 where 订单.区域=="华东")}\n'
    expected = (
        'indicator 销售额 "本季度销售额" {\n  = sum(订单.金额 where 订单.区域 == "华东")\n}\n'
    )
    assert fmt(source) == expected
    assert fmt(expected) == expected


def test_literals_are_printed_as_written():
    record = '{ a: 1_000, b: 12.50%, c: 3 days, d: "a\\"b\\u4e2d", e: FY2025, f: 2025-06 }'
    assert fmt(f'test "t" {{ given s {record.replace(", ", ",")} }}') == (
        f'test "t" {{\n  given s {record}\n}}\n'
    )


# ------------------------------------------------------------------ failures and the safety net


def test_parse_errors_are_returned_not_formatted():
    out, diagnostics = format_source("indicator i { unit }", "bad.kpi")
    assert out is None
    assert diagnostics and diagnostics[0].code == "E001"


def test_safety_net_refuses_output_that_changes_meaning(monkeypatch):
    monkeypatch.setattr(formatter, "format_module", lambda module: "objective other\n")
    out, diagnostics = format_source("objective o\n", "t.kpi")
    assert out is None
    assert [d.code for d in diagnostics] == ["E009"]
    assert diagnostics[0].span.line == 1


def test_safety_net_refuses_output_that_drops_a_comment(monkeypatch):
    monkeypatch.setattr(formatter, "format_module", lambda module: "objective o\n")
    out, diagnostics = format_source("objective o  # keep me\n", "t.kpi")
    assert out is None
    assert [d.code for d in diagnostics] == ["E009"]


# ------------------------------------------------------------------ random expressions

NAMES = st.sampled_from(["a", "b", "sales", "销售额", "x_1"])
WINDOWS = st.one_of(
    st.sampled_from(["3", "12"]).map(ast.Number),
    st.builds(ast.Quantity, st.sampled_from(["3", "2"]), st.sampled_from(["periods", "days"])),
)
ATOMS = st.one_of(
    st.sampled_from(["1", "2.5", "1_000"]).map(ast.Number),
    st.sampled_from(["30%", "12.5%"]).map(ast.Percent),
    st.builds(ast.Quantity, st.sampled_from(["3", "20_000"]), st.sampled_from(["days", "CNY"])),
    st.sampled_from(['"x"', '"中文"', '"a\\"b"']).map(ast.String),
    st.booleans().map(ast.Bool),
    st.just(ast.DateLit("2025-01-31")),
    st.just(ast.PeriodLit("2025-Q1")),
    NAMES.map(ast.Name),
    st.builds(ast.Attribute, NAMES, NAMES),
)
OPERATORS = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"]


def _compound(children: st.SearchStrategy) -> st.SearchStrategy:
    args = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.Binary, st.sampled_from(OPERATORS), children, children),
        st.builds(ast.Negate, children),
        st.builds(ast.Not, children),
        st.builds(ast.In, children, children),
        st.builds(
            ast.LevelTest,
            children,
            st.sampled_from(["misses", "reaches"]),
            st.sampled_from(["threshold", "target", "stretch"]),
        ),
        st.builds(ast.If, children, children, children),
        st.builds(ast.ListLit, st.lists(children, max_size=3).map(tuple)),
        st.builds(ast.Call, NAMES, st.just(())),
        st.builds(ast.Call, NAMES, args, st.none() | children, st.none() | WINDOWS),
    )


EXPRESSIONS = st.recursive(ATOMS, _compound, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS)
def test_random_expressions_survive_a_round_trip(expr: ast.Expr):
    text = f"indicator i {{\n  = {format_expr(expr)}\n}}\n"
    module, diagnostics = parse(text, "t.kpi")
    assert module is not None, (text, diagnostics)
    assert module.items[0].body[0].expr == expr
    assert fmt(text) == text


COMMENT_TEXTS = st.sampled_from([" # trailing\n", "\n# own line\n", "\n\n  # spaced\n\n"])
GAPS = [i for i, ch in enumerate(MESSY) if ch in " \n"]  # between tokens (mostly)
INSERTIONS = st.tuples(st.sampled_from(GAPS), COMMENT_TEXTS)


@settings(max_examples=50, deadline=None)
@given(st.lists(INSERTIONS, min_size=1, max_size=4))
def test_comments_anywhere_are_kept_and_stable(insertions: list[tuple[int, str]]):
    text = MESSY
    for position, comment in sorted(insertions, reverse=True):
        text = text[:position] + comment + text[position:]
    module, _ = parse(text, "t.kpi")
    assume(module is not None)
    once = fmt(text)  # fails on E009: the tree or the comments would have changed
    assert fmt(once) == once
    assert comment_texts(once) == comment_texts(text)


# ------------------------------------------------------------------ the shipped policies

POLICY_FILES = sorted((ROOT / "policies").glob("**/*.kpi"))


def test_policy_glob_found_files_when_there_are_any():
    folder = ROOT / "policies"
    has_files = folder.is_dir() and any(p.suffix == ".kpi" for p in folder.rglob("*"))
    assert bool(POLICY_FILES) == has_files


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_policy_files_format_stably(path: Path):
    source = path.read_text(encoding="utf-8")
    once = fmt(source)
    assert fmt(once) == once
    assert parse(once, str(path))[0] == parse(source, str(path))[0]
    assert comment_texts(once) == comment_texts(source)
