"""The command line: output format, JSON schema, exit codes; the API and imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import kpirules
from kpirules.cli import main
from kpirules.resources import schema

REPO = Path(__file__).resolve().parent.parent

GOOD = """\
policy "Tiny" {
  cadence monthly
  currency CNY
}
roster staff {
  key id
  columns { id: text }
}
source tickets {
  subject id
  time opened_on
  columns { id: text  opened_on: date  minutes: minutes }
}
indicator response "Response time" {
  unit minutes
  better lower
  = mean(tickets.minutes)
}
scorecard agent {
  applies to staff
  indicator response weight 100% { threshold 30 min => 50  target 15 min => 100 }
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_clean_policy_exits_0(project):
    (project / "p.kpi").write_text(GOOD)
    result = invoke("check", str(project / "p.kpi"))
    assert result.exit_code == 0, result.output
    assert "1 policy checked: no problems" in result.output


def test_check_reports_location_source_line_caret_and_hint(project):
    path = project / "p.kpi"
    path.write_text(GOOD.replace("mean(tickets.minutes)", "mean(tickets.minute)"))
    result = invoke("check", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if " E203 " in line)
    assert re.fullmatch(
        r".*p\.kpi:17:10: E203 source 'tickets' has no column 'minute'", lines[header]
    )
    assert lines[header + 1] == "   17 | " + "  = mean(tickets.minute)"
    # The caret sits under `tickets.minute`, counted in display cells.
    assert lines[header + 2] == " " * len("   17 | ") + " " * 9 + "^" * len("tickets.minute")
    assert lines[header + 3] == "  hint: did you mean 'minutes'?"


def test_caret_is_aligned_under_chinese_text(project):
    path = project / "p.kpi"
    path.write_text('indicator 指标 "中文标签" { unit count better higher = 未知 }\n')
    result = invoke("check", str(path))
    lines = result.output.splitlines()
    source = next(line for line in lines if line.startswith("    1 | "))
    caret = lines[lines.index(source) + 1]
    # 指标 and 中文标签 are two cells per character wide.
    prefix = 'indicator 指标 "中文标签" { unit count better higher = '
    width = len(prefix) + sum(1 for ch in prefix if ord(ch) > 0x2E80)
    assert caret == " " * (len("    1 | ") + width) + "^^"


def test_check_json_validates_against_schema(project):
    path = project / "p.kpi"
    path.write_text(GOOD.replace("weight 100%", "weight 90%"))
    result = invoke("check", "--format", "json", str(path))
    assert result.exit_code == 1
    payload = json.loads(result.output)
    jsonschema.validate(payload, schema("check.schema.json"))
    assert payload["summary"] == {"errors": 1, "warnings": 0, "units": 1}
    (diagnostic,) = payload["diagnostics"]
    assert diagnostic["code"] == "E501"
    assert (diagnostic["line"], diagnostic["column"]) == (19, 11)


def test_usage_errors_exit_2(project):
    assert invoke("check", str(project / "missing.kpi")).exit_code == 2
    assert invoke("check").exit_code == 2
    assert invoke("check", "--format", "yaml", str(project)).exit_code == 2
    assert invoke("nonsense").exit_code == 2


def test_warnings_fail_only_with_strict(project):
    path = project / "p.kpi"
    percent = (
        GOOD.replace("unit minutes", "unit percent")
        .replace(
            "{ threshold 30 min => 50  target 15 min => 100 }",
            "{ threshold 30 => 50  target 15 => 100 }",
        )
        .replace("mean(tickets.minutes)", "count(tickets) / count(tickets)")
    )
    path.write_text(percent)
    result = invoke("check", str(path))
    assert result.exit_code == 0 and "W301" in result.output
    assert invoke("check", "--strict", str(path)).exit_code == 1


def test_folder_is_one_policy_and_imports_are_followed(project):
    shared = project / "shared"
    shared.mkdir()
    (shared / "catalogue.kpi").write_text(GOOD[GOOD.index("roster") : GOOD.index("scorecard")])
    team = project / "team"
    team.mkdir()
    (team / "header.kpi").write_text(
        'import "../shared/catalogue.kpi"\n' + GOOD[: GOOD.index("roster")]
    )
    (team / "cards.kpi").write_text(GOOD[GOOD.index("scorecard") :])
    policy = kpirules.load(team)
    assert policy.name == "Tiny"
    assert set(policy.indicators) == {"response"}
    assert sorted(Path(f).name for f in policy.files) == [
        "cards.kpi",
        "catalogue.kpi",
        "header.kpi",
    ]
    result = invoke("check", str(project))  # two units: shared (a library) and team
    assert result.exit_code == 0, result.output
    assert "2 policies checked: no problems" in result.output


def test_import_problems(project):
    (project / "a.kpi").write_text(
        'import "b.kpi"\nimport "missing.kpi"\nimport "../../etc/x.kpi"\n'
    )
    (project / "b.kpi").write_text('import "a.kpi"\n')
    with pytest.raises(kpirules.KpiError) as caught:
        kpirules.load(project / "a.kpi")
    found = {(d.code, d.span.line) for d in caught.value.diagnostics}
    assert found == {("E103", 1), ("E101", 2), ("E102", 3)}
    cycle = next(d for d in caught.value.diagnostics if d.code == "E103")
    assert re.fullmatch(r"import cycle: \S*a\.kpi → \S*b\.kpi → \S*a\.kpi", cycle.message)


def test_load_raises_with_all_diagnostics(project):
    path = project / "p.kpi"
    path.write_text(GOOD.replace("cadence monthly", "cadence daily").replace("100%", "90%"))
    with pytest.raises(kpirules.KpiError) as caught:
        kpirules.load(path)
    assert [d.code for d in caught.value.diagnostics] == ["E208", "E501"]
    assert "E208 unknown cadence 'daily' (and 1 more)" in str(caught.value)


def test_examples_check_clean_and_are_formatted():
    result = invoke("check", str(REPO / "policies"))
    assert result.exit_code == 0, result.output
    units = re.search(r"(\d+) policies checked: no problems", result.output)
    assert units and int(units.group(1)) >= 7
    result = invoke("fmt", "--check", str(REPO / "policies"))
    assert result.exit_code == 0, result.output


def test_fmt_rewrites_and_check_mode_reports(project):
    path = project / "p.kpi"
    path.write_text("indicator   x{unit count better higher =count(t)}\n")
    result = invoke("fmt", "--check", str(path))
    assert result.exit_code == 1 and "would reformat" in result.output
    result = invoke("fmt", "--diff", str(path))
    assert result.exit_code == 1 and "+++ b/" in result.output
    assert path.read_text() == "indicator   x{unit count better higher =count(t)}\n"
    result = invoke("fmt", str(path))
    assert result.exit_code == 0
    formatted = path.read_text()
    assert formatted.startswith("indicator x {\n")
    assert invoke("fmt", "--check", str(path)).exit_code == 0


def test_fmt_of_broken_file_reports_and_exits_1(project):
    path = project / "p.kpi"
    path.write_text("indicator x { = 1 + }\n")
    result = invoke("fmt", str(path))
    assert result.exit_code == 1
    assert re.search(r"p\.kpi:1:21: E001 unexpected '}'", result.output)
    assert path.read_text() == "indicator x { = 1 + }\n"


def test_summary_prints_cascade_and_scorecards():
    result = invoke("summary", str(REPO / "policies" / "sales"))
    assert result.exit_code == 0, result.output
    assert "objective" in result.output and "Scorecard" in result.output


def test_api_evaluate_takes_a_path_or_a_model(project):
    import pandas as pd

    path = project / "p.kpi"
    path.write_text(
        GOOD.replace("cadence monthly", "cadence monthly\n  effective 2026-01-01 to 2026-01-31")
    )
    data = {
        "staff": pd.DataFrame({"id": ["s1"]}),
        "tickets": pd.DataFrame(
            {"id": ["s1", "s1"], "opened_on": ["2026-01-02", "2026-01-03"], "minutes": ["10", "20"]}
        ),
    }
    by_path = kpirules.evaluate(path, data)
    by_model = kpirules.evaluate(kpirules.load(path), data)
    # mean 15 min = target → 100.
    assert by_path.totals["total"].tolist() == [100.0]
    assert by_path.to_json() == by_model.to_json()


@pytest.mark.parametrize("width", [80, 120])
def test_the_eval_table_fits_the_terminal_with_every_number_whole(width: int) -> None:
    """At 80 columns the names shorten (and the department goes), never a rating or a
    payout: `make demo` is read in a standard terminal."""
    sales = REPO / "policies" / "sales"
    args = ["eval", str(sales), "--data", str(sales / "data.yaml"), "--as-of", "2027-01-04"]
    table = CliRunner(env={"COLUMNS": str(width)}).invoke(main, [*args, "--period", "2026-Q4"])
    document = json.loads(
        CliRunner().invoke(main, [*args, "--period", "2026-Q4", "--format", "json"]).output
    )
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert all(len(line) <= width for line in lines)
    rows = {line.split()[0]: line for line in lines if line.strip().startswith("E1")}
    paid = {}
    for payout in document["payouts"]:
        paid[payout["subject"]] = paid.get(payout["subject"], 0) + (payout["amount"] or 0)
    for total in document["totals"]:
        line = rows[total["subject"]]
        assert f"{total['total']:.1f}" in line
        if total["rating"]:
            assert f" {total['rating']} " in line  # whole, not "Outst…"
        assert f"{paid.get(total['subject'], 0):,.2f}" in line
    assert "2026-Q4 " not in "".join(rows.values())  # one period: in the title only


def test_eval_parquet_writes_each_result_table_as_the_json_reports_it(tmp_path) -> None:
    import json as json_module

    import pyarrow.parquet as pq

    sales = REPO / "policies" / "sales"
    common = ["eval", str(sales), "--data", str(sales / "data.yaml"), "--as-of", "2027-01-04"]
    folder = tmp_path / "results"
    written = CliRunner().invoke(main, [*common, "--format", "parquet", "-o", str(folder)])
    assert written.exit_code == 0, written.output
    assert "wrote 12 files into" in written.output
    document = json_module.loads(CliRunner().invoke(main, [*common, "--format", "json"]).output)
    sections = {
        **{name: document[name] for name in ("indicators", "scores", "totals", "payouts")},
        **{name: document[name] for name in ("actions", "goals", "objectives", "notes")},
        "distribution": document["distribution"],
        "data_quality": document["data_quality"]["findings"],
        "row_accounting": document["data_quality"]["accounting"],
    }
    for name, rows in sections.items():
        table = pq.read_table(folder / f"{name}.parquet").to_pylist()
        assert len(table) == len(rows), name
        for stored, reported in zip(table, rows, strict=True):
            assert stored.keys() == reported.keys(), name
            for column, value in reported.items():
                assert stored[column] == value or (
                    value is None and stored[column] != stored[column]  # NaN
                ), (name, column, stored[column], value)
    assert sum(row["amount"] for row in pq.read_table(folder / "payouts.parquet").to_pylist()) > 0
    run = json_module.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["summary"] == document["summary"] and run["periods"] == document["periods"]
    into_file = CliRunner().invoke(
        main, [*common, "--format", "parquet", "-o", str(folder / "totals.parquet")]
    )
    assert into_file.exit_code == 2 and "is a file" in into_file.output


def test_a_person_whose_payout_came_out_missing_has_no_payout_not_zero() -> None:
    """people_frame (the table and CSV outputs): the sum of a person's payouts, missing
    when any of them is missing (a `pay` divided by zero), worked out by hand here."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from kpirules.export import people_frame

    keys = {"period": "2026-Q1", "scorecard": "s"}
    totals = pd.DataFrame([{"subject": p, **keys, "total": 80.0} for p in ("a", "b", "c")])
    payouts = pd.DataFrame(
        [
            {"subject": "a", **keys, "incentive": "x", "amount": 10.0},
            {"subject": "a", **keys, "incentive": "y", "amount": np.nan},
            {"subject": "b", **keys, "incentive": "x", "amount": 5.0},
            {"subject": "b", **keys, "incentive": "y", "amount": 7.25},
        ]
    )
    empty = pd.DataFrame()
    frame = people_frame(
        SimpleNamespace(totals=totals, payouts=payouts, actions=empty, scores=empty)
    )
    paid = dict(zip(frame["subject"], frame["payout"], strict=True))
    assert np.isnan(paid["a"]) and paid["b"] == 12.25 and np.isnan(paid["c"])
