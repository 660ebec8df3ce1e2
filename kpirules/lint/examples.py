"""The small policy every rule example is added to, and its data.

A rule's bad or good example is a file `x.kpi` next to `base.kpi` (this policy) in one
folder; the base lints clean on its own, with and without its data. The tests run every
example this way and docs/rules.md shows each example with the output of its bad one.
"""

from __future__ import annotations

from pathlib import Path

from kpirules.lint.registry import Rule

BASE = """\
policy "Lint examples" {
  cadence quarterly
  effective 2026-01-01 to 2026-03-31
  currency CNY
}

roster staff {
  key id
  role role
  manager manager_id
  columns {
    id: text required
    role: text required in ["rep", "lead"]
    manager_id: text
    salary: money required
  }
}

source orders {
  subject rep_id
  time closed_on
  key order_id
  columns {
    order_id: text required
    rep_id: text required
    closed_on: date required
    amount: money required
    new_customer: bool required
  }
}

source courses {
  subject person_id
  time completed_on
  key course_id
  columns {
    course_id: text required
    person_id: text required
    completed_on: date required
    hours: hours required
  }
}

objective growth "Grow revenue" {
  horizon long
}

goal revenue_plan "Reach the revenue plan" {
  supports growth
  target revenue >= 1_000_000 CNY by 2026-Q1
}

indicator revenue "Revenue" {
  supports revenue_plan
  unit money
  better higher
  = sum(orders.amount)
}

indicator new_customers "New customers" {
  supports revenue_plan
  unit count
  better higher
  = count(orders where orders.new_customer)
}

indicator learning "Training hours" {
  supports revenue_plan
  unit hours
  better higher
  horizon long
  = sum(courses.hours)
}

scorecard rep "Sales rep" {
  applies to staff where role == "rep"
  indicator revenue weight 50% {
    threshold 100_000 CNY => 50
    target 200_000 CNY => 100
    stretch 300_000 CNY => 120
  }
  indicator new_customers weight 30% {
    threshold 2 => 50
    target 4 => 100
    stretch 6 => 120
  }
  indicator learning weight 20% {
    threshold 4 hours => 50
    target 8 hours => 100
    stretch 16 hours => 120
  }
  when missing => reweight
  cap 120
  rating grades
}

rating grades "Grades" {
  "Exceeds" when score >= 110
  "Meets" when score >= 90
  "Below" otherwise
}

incentive bonus "Quarterly bonus" for rep {
  pay staff.salary * 10% * min(score, 120) / 100
  cap 5_000 CNY
}

improvement rep_support for rep {
  when revenue misses threshold => coaching "Pipeline review" owner manager within 30 days
}

feedback for rep {
  one_on_one monthly
  review quarterly
}
"""


def lead_card(*lines: str) -> str:
    """A second scorecard for the examples: team leads, three indicators (one of them
    long-term); `lines` are added at its end (a rating, a cap)."""
    extra = "".join(f"  {line}\n" for line in lines)
    return f"""\
scorecard lead "Team lead" {{
  applies to staff where role == "lead"
  indicator revenue weight 50% {{
    threshold 400_000 CNY => 50
    target 800_000 CNY => 100
    stretch 1_000_000 CNY => 120
  }}
  indicator new_customers weight 30% {{
    threshold 5 => 50
    target 10 => 100
    stretch 15 => 120
  }}
  indicator learning weight 20% {{
    threshold 4 hours => 50
    target 8 hours => 100
    stretch 16 hours => 120
  }}
{extra}}}
"""


LEAD = lead_card()
LEAD_IMPROVEMENT = """
improvement lead_support for lead {
  when revenue misses threshold => review "Territory review" owner hr within 30 days
}
"""
LEAD_FEEDBACK = """
feedback for lead {
  one_on_one monthly
}
"""

# Four reps with mixed results, every source present and clean: no data rule fires.
STAFF = """\
id,role,manager_id,salary
r1,rep,l1,20000
r2,rep,l1,20000
r3,rep,l1,20000
r4,rep,l1,20000
l1,lead,,30000
"""
ORDERS = """\
order_id,rep_id,closed_on,amount,new_customer
o1,r1,2026-03-25,50000,true
o2,r2,2026-03-25,150000,true
o3,r2,2026-03-26,10000,true
o4,r3,2026-03-27,250000,true
o5,r3,2026-03-27,10000,true
o6,r3,2026-03-28,10000,false
o7,r4,2026-03-30,350000,true
"""
COURSES = """\
course_id,person_id,completed_on,hours
c1,r1,2026-03-25,2
c2,r2,2026-03-26,6
c3,r3,2026-03-27,10
c4,r4,2026-03-30,4
"""
BASE_DATA = {"staff": STAFF, "orders": ORDERS, "courses": COURSES}
AS_OF = "2026-04-01"  # the data are fresh on this day


def write_example(folder: Path, rule: Rule, which: str) -> Path | None:
    """Write the bad or good example of `rule` into `folder` (base.kpi, x.kpi, and for
    data rules a data/ folder with one CSV per source). Returns the data folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".kpirules.toml").write_text("[lint]\n", encoding="utf-8")  # the project root
    (folder / "base.kpi").write_text(BASE, encoding="utf-8")
    (folder / "x.kpi").write_text(rule.bad if which == "bad" else rule.good, encoding="utf-8")
    if not rule.needs_data:
        return None
    data = folder / "data"
    data.mkdir(exist_ok=True)
    override = rule.bad_data if which == "bad" else rule.good_data
    for source, text in {**BASE_DATA, **(override or {})}.items():
        (data / f"{source}.csv").write_text(text, encoding="utf-8")
    return data
