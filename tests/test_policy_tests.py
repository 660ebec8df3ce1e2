"""`kpirules test`: fixtures, expectations, PASS/FAIL/ERROR, the closing line, coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli import main

POLICY = """\
policy "T" {
  cadence monthly
  effective 2026-01-01 to 2026-03-31
  currency CNY
}
roster people {
  key id
  columns { id: text  salary: money }
}
source calls {
  subject id
  time day
  columns { id: text  day: date  minutes: minutes  solved: bool }
}
indicator handle_time { unit minutes  better lower  = mean(calls.minutes) }
indicator solved { unit percent  better higher  = count(calls where calls.solved) / count(calls) }
scorecard agent {
  applies to people
  indicator handle_time weight 50% { threshold 20 min => 50  target 10 min => 100 }
  indicator solved weight 50% { threshold 50% => 50  target 100% => 100 }
  rating scale
}
rating scale { "Good" when score >= 90  "Poor" otherwise }
incentive bonus for agent { pay people.salary * score / 1000 }
improvement for agent { when solved misses threshold => training "Solving" owner hr }
"""

TESTS = """\
test "good agent" {
  period 2026-02
  given people { id: "a1", salary: 5000 }
  given calls [
    { id: "a1", day: 2026-02-03, minutes: 10, solved: true },
    { id: "a1", day: 2026-02-04, minutes: 10, solved: true },
  ]
  expect value(handle_time, "a1") == 10 min
  expect value(solved, "a1") == 100%
  expect score("a1") == 100
  expect rating("a1") == "Good"
  expect payout(bonus, "a1") == 500 CNY
  expect not ("Solving" in actions("a1"))
}

test "weak agent" {
  period 2026-02
  given people { id: "a2", salary: 4000 }
  given calls [
    { id: "a2", day: 2026-02-03, minutes: 20, solved: false },
    { id: "a2", day: 2026-02-04, minutes: 20, solved: true },
    { id: "a2", day: 2026-02-05, minutes: 20, solved: false },
  ]
  expect score(handle_time, "a2") == 50
  expect rating("a2") == "Poor"
  expect "Solving" in actions("a2")
  expect score("a2") == 60
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


def run(project: Path, tests: str, *args: str):
    (project / "policy.kpi").write_text(POLICY, encoding="utf-8")
    (project / "tests.kpi").write_text(tests, encoding="utf-8")
    return CliRunner().invoke(main, ["test", str(project), *args], catch_exceptions=False)


def test_passing_and_failing_tests(project):
    result = run(project, TESTS)
    lines = result.output.splitlines()
    assert lines[0].startswith("PASS  good agent  [")
    assert lines[1].startswith("FAIL  weak agent  [")
    # Handle time 20 min is the threshold (50); 1 of 3 solved (33%) is below the
    # threshold (0): the total is 25, not 60.
    assert lines[2].endswith(
        'expected score("a2") == 60, but the left side is 25 and the right side 60'
    )
    assert lines[-1] == "1 passed, 1 failed"
    assert result.exit_code == 1


def test_durations_in_fixtures_convert_to_the_column_unit(project):
    good = TESTS.split('test "weak agent"')[0]
    result = run(
        project,
        good.replace("minutes: 10, solved: true },\n  ]", "minutes: 1 hours, solved: true },\n  ]"),
    )
    # 10 and 60 minutes: the mean is 35 minutes, not the 10 expected.
    assert 'expected value(handle_time, "a1") == 10 min, but the left side is 35' in (result.output)
    assert result.output.splitlines()[-1] == "0 passed, 1 failed"


def test_errors_are_reported_and_counted(project):
    good = TESTS.split('test "weak agent"')[0].replace('score("a1") == 100', 'score("b9") == 100')
    result = run(project, good)
    assert "ERROR good agent" in result.output
    assert "no result for subject 'b9' in 2026-02" in result.output
    assert result.output.splitlines()[-1] == "0 passed, 0 failed, 1 errors"
    assert result.exit_code == 1


def test_run_filter_json_and_coverage(project):
    tests = TESTS.replace('expect score("a2") == 60', 'expect score("a2") == 25')
    result = run(project, tests, "--run", "^good")
    assert result.output.splitlines()[-1] == "1 passed, 0 failed"
    result = run(project, tests, "--format", "json", "--coverage")
    payload = json.loads(result.output[: result.output.rindex("}") + 1])
    (policy,) = payload["policies"]
    assert [t["status"] for t in policy["tests"]] == ["pass", "pass"]
    covered = {item["item"]: item["covered"] for item in policy["coverage"]["items"]}
    assert covered["scorecard agent: rating 'Good'"] is True
    assert covered["scorecard agent: rating 'Poor'"] is True
    # Handle times of 10 min (the target, last point) and 20 min (the threshold): the
    # segment between the points is exercised, slower than 20 min is not.
    assert covered["scorecard agent: handle_time between 20 and 10"] is True
    assert covered["scorecard agent: handle_time below the first point"] is False
    (solving,) = [k for k in covered if k.startswith("action training 'Solving'")]
    assert covered[solving] is True
    result = run(project, tests, "--coverage-threshold", "100")
    assert result.exit_code == 1
    assert "coverage below the threshold of 100%" in result.output


def test_bad_regex_is_a_usage_error(project):
    assert run(project, TESTS, "--run", "(").exit_code == 2


def test_examples_pass_their_tests():
    repo = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(main, ["test", str(repo / "policies")])
    assert result.exit_code == 0, result.output
    passed = int(result.output.splitlines()[-1].split()[0])
    assert passed >= 14
