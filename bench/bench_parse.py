"""Benchmark: parse, check and format a generated 10,000-line policy.

Run with `make bench` (or `.venv/bin/python bench/bench_parse.py [LINES]`). The generated
policy is realistic — a header, a roster, sources, a strategy cascade, ~600 indicators with
formulas of varying shape, ~60 scorecards with curves and bands, ratings, incentives,
improvement rules and feedback — and every name in it is valid, so it checks clean. The
benchmark refuses to report figures for a policy that does not check clean: it prints the
first diagnostics and exits 1 instead.

`generate_policy(lines)` is also used by tests/test_robustness.py, so it cannot rot.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_LINES = 10_000
REPEATS = 3
GOAL_SECONDS = 1.0
DEPARTMENT_NAMES = (
    "sales support service logistics finance legal marketing product quality research "
    "procurement warehouse"
).split()
REGIONS = ("north", "south", "east", "west")
CHANNELS = ("online", "store", "partner")
WEIGHTS = ("30%", "25%", "20%", "15%", "10%")
PICKS = ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))

HEADER = """\
# Generated benchmark policy: {departments} departments, {indicators} indicators,
# {scorecards} scorecards. Every name is valid, so the policy checks clean.

policy "Benchmark KPI policy" {{
  description "A large generated policy for timing the parser and the checker."
  version "2026.1"
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  currency CNY
  locale "en"
  rounding half_even 0.01
  fiscal_year_start 1
  data_quality {{ stale_after 7 days   unknown_subject error   duplicate_key error }}
}}

roster employees "Staff (HR master data)" {{
  key employee_id   display name   department department   role role
  manager manager_id   start hired_on   end left_on
  columns {{
    employee_id: text required
    name: text required
    department: text required
    role: text required in [{roles}]
    manager_id: text
    hired_on: date required
    left_on: date
    base_salary: money required
  }}
}}

source orders "Closed orders" {{
  description "One row per closed order."
  subject rep_id   time closed_on   key order_id
  columns {{
    order_id: text required
    rep_id: text required
    customer_id: text required
    closed_on: date required
    amount: money required
    region: text required in ["north", "south", "east", "west"]
    channel: text required in ["online", "store", "partner"]
    new_customer: bool required
    processing_days: days
  }}
}}

source tickets "Support tickets" {{
  subject agent_id   time opened_on   key ticket_id
  columns {{
    ticket_id: text required
    agent_id: text required
    opened_on: date required
    resolved: bool required
    escalated: bool required
    resolution_days: days
    satisfaction: number
  }}
}}

source learning "Completed courses" {{
  subject employee_id   time completed_on   key record_id
  columns {{
    record_id: text required
    employee_id: text required
    completed_on: date required
    hours: hours required
    passed: bool required
  }}
}}

objective grow_company "Grow the company sustainably" {{
  horizon long
  description "The company strategy the department objectives support."
}}

rating five_level "Five-level rating" {{
  "Outstanding"       when score >= 120
  "Exceeds"           when score >= 105
  "Meets"             when score >= 90
  "Needs improvement" when score >= 70
  "Unsatisfactory"    otherwise
  distribution {{
    "Outstanding" at most 15%
    "Exceeds"     at most 30%
  }}
}}

rating four_level "Four-level rating" {{
  "Exceeds"         when score >= 110
  "Meets"           when score >= 90
  "Partially meets" when score >= 70
  "Does not meet"   otherwise
  distribution {{ "Exceeds" at most 20% }}
}}
"""

# The indicator shapes: (unit, better, formula, scorecard curve). `{p}` is the department
# prefix, `{k}` varies the literals so no two formulas are the same.
SHAPES = (
    (
        "count",
        "higher",
        'count_distinct(orders.customer_id where orders.new_customer and orders.region == "{r}")',
        "threshold {a} => 50   target {b} => 100   stretch {c} => 150   otherwise => 0",
    ),
    (
        "money",
        "higher",
        'sum(orders.amount where orders.channel == "{ch}")',
        "threshold {a}00_000 CNY => 50   target {b}00_000 CNY => 100   "
        "stretch {c}00_000 CNY => 150",
    ),
    (
        "percent",
        "higher",
        "count(tickets where tickets.resolved) / count(tickets)",
        "threshold 6{k}% => 50   target 8{k}% => 100   stretch 9{k}% => 120",
    ),
    (
        "days",
        "lower",
        "mean(tickets.resolution_days where not tickets.escalated)",
        "threshold {c} days => 50   target {b} days => 100   stretch {a} days => 120",
    ),
    (
        "hours",
        "higher",
        "sum(learning.hours where learning.passed over last 4 periods)",
        "threshold {a}0 hours => 50   target {b}0 hours => 100   stretch {c}0 hours => 120\n"
        "    when missing => score 0",
    ),
    (
        "money",
        "higher",
        "if count(orders) > 0 then sum(orders.amount) / count(orders) else 0 CNY",
        "threshold {a}_000 CNY => 50   target {b}_000 CNY => 100   stretch {c}_000 CNY => 150",
    ),
    (
        "percent",
        "lower",
        'count(orders where orders.region in ["{r}", "{r2}"] and orders.processing_days > 5 days)'
        " / max(count(orders), 1)",
        "bands first {{ at most {k}% => 100   at most 1{k}% => 75   at most 3{k}% => 50"
        "   otherwise => 0 }}",
    ),
    (
        "number",
        "higher",
        "round(mean(tickets.satisfaction where tickets.resolved), 2)",
        "threshold 3.{k} => 50   target 4.{k} => 100   stretch 5.{k} => 120",
    ),
    (
        "days",
        "lower",
        "abs(mean(orders.processing_days) - median(orders.processing_days)) + 1 days",
        "threshold {c} days => 50   target {b} days => 100   stretch {a} days => 110",
    ),
    (
        "count",
        "higher",
        "count(orders where orders.amount >= {k}_000 CNY) + count(tickets where tickets.resolved)",
        "threshold 1{a} => 50   target 2{b} => 100   stretch 3{c} => 150",
    ),
)


def _department(index: int) -> tuple[str, int]:
    """The text of one department block and the number of indicators in it."""
    base = DEPARTMENT_NAMES[index % len(DEPARTMENT_NAMES)]
    p = f"{base}_{index}"
    k = index % 10
    out = [
        f"# {'-' * 66} department {p}",
        "",
        f'objective {p}_objective "{base.title()} {index}: grow the department" {{',
        "  horizon short",
        "  supports grow_company",
        "}",
        "",
        f'goal {p}_results "{base.title()} {index} delivers its results" {{',
        f"  supports {p}_objective",
        f'  owner department "{base.title()}"',
        f"  target {p}_ind0 >= {20 + k} by 2026-Q4",
        "}",
        "",
        f'goal {p}_capability "{base.title()} {index} keeps learning" {{',
        f"  supports {p}_results",
        f'  owner department "{base.title()}"',
        f"  target {p}_ind4 >= {100 + k} hours by 2026-Q4",
        "}",
        "",
    ]
    for j, (unit, better, formula, _) in enumerate(SHAPES):
        horizon = "long" if unit == "hours" else "short"
        goal = f"{p}_capability" if unit == "hours" else f"{p}_results"
        text = formula.format(
            r=REGIONS[(index + j) % 4],
            r2=REGIONS[(index + j + 1) % 4],
            ch=CHANNELS[(index + j) % 3],
            k=k + 1,
        )
        out += [
            f"# Indicator {j} of {p}: a {unit} measure, {better} is better.",
            f'indicator {p}_ind{j} "{base.title()} {index} indicator {j}" {{',
            f"  supports {goal}",
            f"  unit {unit}   better {better}   horizon {horizon}",
            f'  description "Generated indicator {j} of department {p}."',
            f"  = {text}",
            "}",
            "",
        ]
    # One scorecard per department, on five of its ten indicators (the first five or the
    # last five, alternately); the other five are watched by improvement rules.
    picks = PICKS[index % 2]
    others = PICKS[(index + 1) % 2]
    card = f"{p}_card"
    out += [
        f'scorecard {card} "{base.title()} {index} scorecard" {{',
        f'  description "The scorecard of department {p}."',
        f'  applies to employees where role == "{card}"',
    ]
    for weight, j in zip(WEIGHTS, picks):
        curve = SHAPES[j][3].format(a=k + 2, b=k + 4, c=k + 6, k=k)
        out += [f"  indicator {p}_ind{j} weight {weight} {{", f"    {curve}", "  }"]
    out += [
        "  when missing => reweight",
        f"  gate {p}_ind{picks[0]} reaches threshold else cap 100",
        "  cap 150",
        "  floor 0",
        f"  rating {'five_level' if index % 3 else 'four_level'}",
        "}",
        "",
        f'incentive {card}_bonus "{base.title()} {index} bonus" for {card} {{',
        f"  gate {p}_ind{picks[2]} reaches threshold",
        "  pay employees.base_salary * 50% * min(score, 150) / 100",
        f"  cap {20 + k}_000 CNY",
        "  prorate by days_employed",
        f'  when score >= 120 => recognize "{base.title()} star of the quarter"',
        "}",
        "",
        f"improvement {card}_development for {card} {{",
        f'  description "Development actions for {p}"',
        f"  when {p}_ind{picks[0]} misses threshold => training "
        f'"Fundamentals {index}" owner manager within 30 days',
        *(
            f"  when worsening({p}_ind{j}, 3 periods) => coaching "
            f'"Trend review {index}.{j}" owner manager within 14 days'
            for j in others
        ),
        "  when score < 70 for 2 periods => plan "
        '"Performance improvement plan" owner manager within 60 days',
        "}",
        "",
        f"feedback for {card} {{",
        "  one_on_one monthly",
        "  review quarterly",
        "}",
        "",
    ]
    return "\n".join(out), len(SHAPES)


def generate_policy(lines: int = DEFAULT_LINES) -> str:
    """A policy of about `lines` lines (at least one department) that checks clean."""
    blocks: list[str] = []
    total = HEADER.count("\n") + 1
    while True:
        block, _ = _department(len(blocks))
        blocks.append(block)
        total += block.count("\n") + 1
        if total >= lines:
            break
    roles = ", ".join(
        f'"{DEPARTMENT_NAMES[i % len(DEPARTMENT_NAMES)]}_{i}_card"' for i in range(len(blocks))
    )
    header = HEADER.format(
        departments=len(blocks),
        indicators=len(blocks) * len(SHAPES),
        scorecards=len(blocks),
        roles=roles,
    )
    return header + "\n" + "\n".join(blocks)


def best_of(repeats: int, func: Callable[[], object]) -> tuple[float, object]:
    """The fastest of `repeats` runs, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str]) -> int:
    from kpirules.check import check
    from kpirules.diagnostics import Severity, has_errors
    from kpirules.loader import read_text
    from kpirules.parser import parse

    lines = int(argv[1]) if len(argv) > 1 else DEFAULT_LINES
    text = generate_policy(lines)
    with tempfile.TemporaryDirectory(prefix="kpirules-bench-") as folder:
        path = Path(folder) / "policy.kpi"
        path.write_text(text, encoding="utf-8")
        shown = "policy.kpi"
        source, problem = read_text(path, shown)
        if problem is not None:
            print(f"cannot read the generated policy: {problem.code} {problem.message}")
            return 1

        parse(source, shown)  # build the Lark parser once, outside the timings
        parse_seconds, (module, parse_diagnostics) = best_of(REPEATS, lambda: parse(source, shown))
        if module is None:
            _print_problems(parse_diagnostics)
            return 1
        check_seconds, (policy, check_diagnostics) = best_of(
            REPEATS, lambda: check([module], folder)
        )
        diagnostics = parse_diagnostics + check_diagnostics
        if policy is None or has_errors(diagnostics):
            _print_problems(diagnostics)
            return 1
        warnings = sum(d.severity == Severity.WARNING for d in diagnostics)

        print(f"lines: {source.count(chr(10))}")
        print(f"bytes: {len(source.encode('utf-8'))}")
        print(f"indicators: {len(policy.indicators)}   scorecards: {len(policy.scorecards)}")
        print(f"diagnostics: 0 errors, {warnings} warnings")
        print(f"parse: {parse_seconds:.2f} s")
        print(f"check: {check_seconds:.2f} s")
        total = parse_seconds + check_seconds
        print(f"parse + check: {total:.2f} s (goal < {GOAL_SECONDS:g} s)")

        try:
            from kpirules.formatter import format_source
        except ImportError:
            print("format: skipped (kpirules.formatter is not available)")
        else:
            format_seconds, (formatted, format_diagnostics) = best_of(
                REPEATS, lambda: format_source(source, shown)
            )
            if formatted is None:
                print("format: FAILED")
                _print_problems(format_diagnostics)
                return 1
            print(f"format: {format_seconds:.2f} s")
    return 0


def _print_problems(diagnostics) -> None:
    print("the generated policy does not check clean; first diagnostics:")
    for diagnostic in diagnostics[:10]:
        print(f"  {diagnostic.span}: {diagnostic.code} {diagnostic.message}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
