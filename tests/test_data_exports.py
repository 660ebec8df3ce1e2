"""Real exports in: data as HR systems and people really write it (issue 13).

Formats declared in the binding (dates, numbers, currency, percent, yes/no words), sheets
with title rows, totals rows, merged cells, hidden and blank sheets and far-away formatted
cells, files that are not what they seem, one line for undeclared columns, empty sources,
a strict YAML loader, and errors listed first. Expected values are worked out by hand.
"""

from __future__ import annotations

import csv
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl.styles import Font
from test_data import found, messages  # the findings as tuples, and their messages

from kpirules.check import check
from kpirules.cli import main
from kpirules.data import DataError, LoadedData, load_data
from kpirules.data.quality import coerce
from kpirules.parser import parse

POLICY = """\
policy "P" {
  cadence quarterly
  effective 2026-01-01 to 2026-12-31
  %s
}
roster employees {
  key employee_id
  columns { employee_id: text required  name: text  active: bool }
}
source orders {
  subject rep_id  time closed_on  key order_id
  columns { order_id: text  rep_id: text  closed_on: date  amount: money required }
}
"""
AS_OF = date(2026, 1, 10)
WIDE = {"COLUMNS": "300"}  # one finding a line in the terminal output
EMPLOYEES = "employee_id,name,active\ne1,Ann,yes\ne2,Bob,no\n"
ORDERS = "order_id,rep_id,closed_on,amount\no1,e1,2026-01-05,10\no2,e2,2026-01-06,20\n"


def make_policy(text: str = POLICY % ""):
    module, problems = parse(text, "t.kpi")
    assert not problems
    policy, diagnostics = check([module])
    assert policy is not None, diagnostics
    return policy


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    (tmp_path / ".kpirules.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def bind(project: Path, sources: str, policy=None, **files: str) -> LoadedData:
    """Write the files and a data.yaml with `sources` (YAML, indented by 2), then load."""
    for name, text in files.items():
        (project / name.replace("_", ".", 1)).write_text(text, encoding="utf-8")
    (project / "data.yaml").write_text("version: 1\nsources:\n" + sources, encoding="utf-8")
    return load_data(policy or make_policy(), project / "data.yaml", as_of=AS_OF)


def values(cells: list, type_name: str, fmt: dict) -> list:
    typed = coerce(pd.Series(cells, dtype=object), type_name, fmt)
    out = typed.values.astype(object).where(typed.values.notna(), None).tolist()
    return [v.date().isoformat() if isinstance(v, pd.Timestamp) else v for v in out]


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    ("fmt", "cells", "expected"),
    [
        # US month/day/year, with or without leading zeros; ISO is still read; day 13 is
        # not a month.
        (
            {"date": "%m/%d/%Y"},
            ["7/5/2011", "07/05/2011", "2011-07-05", "13/5/2011"],
            ["2011-07-05", "2011-07-05", "2011-07-05", None],
        ),
        # Two-digit years in 1930–2029: 83 → 1983, 65 → 1965, 05 → 2005, and 00 is 2000
        # (a leap year: 29 February exists).
        (
            {"date": "%m/%d/%y", "two_digit_years_from": 1930},
            ["07/10/83", "05/05/65", "01/02/05", "02/29/00"],
            ["1983-07-10", "1965-05-05", "2005-01-02", "2000-02-29"],
        ),
        # In 1900–1999, 00 is 1900 — not a leap year: 29 February 1900 is refused.
        ({"date": "%m/%d/%y", "two_digit_years_from": 1900}, ["02/29/00"], [None]),
        ({"date": "%Y/%m/%d"}, ["2026/01/05", "2026-01-05"], ["2026-01-05", "2026-01-05"]),
        ({"date": "%Y年%m月%d日"}, ["2026年1月5日", "2026/01/05"], ["2026-01-05", None]),
        # Excel serials: 40729 is 2011-07-05 (1899-12-30 + 40729 days); the fraction is the
        # time of day; 60 is Excel's 29 February 1900, which never was.
        (
            {"date": "excel"},
            ["40729", "40729.75", 40729, 60, "4e4"],
            ["2011-07-05", "2011-07-05", "2011-07-05", None, None],
        ),
    ],
)
def test_declared_date_formats(fmt, cells, expected):
    assert values(cells, "date", fmt) == expected


@pytest.mark.parametrize(
    ("type_name", "fmt", "cells", "expected"),
    [
        # A decimal comma with dots between thousands: "1.5" is not how this file writes.
        (
            "money",
            {"decimal": ",", "thousands": "."},
            ["1.234,50", "1234,5", "-3", "1.5", "12.34.5", "1,2,3"],
            [1234.5, 1234.5, -3.0, None, None, None],
        ),
        # A decimal comma with no thousands separator: "1.234,5" is refused.
        ("number", {"decimal": ","}, ["1234,5", "1.234,5"], [1234.5, None]),
        # Spaces between thousands (and the no-break spaces French exports write).
        (
            "number",
            {"decimal": ",", "thousands": " "},
            ["1 234,5", "1\u00a0234,5", "12 34"],
            [1234.5, 1234.5, None],
        ),
        # No thousands separator at all: "1,234" is not a number.
        ("number", {"thousands": ""}, ["1234.5", "1,234"], [1234.5, None]),
        # A currency symbol or code before or after, with the sign either side of it.
        (
            "money",
            {"currency": ["¥", "CNY"]},
            ["¥1,234.50", "1,234 CNY", "-¥12", "¥-12", "12 USD", "¥"],
            [1234.5, 1234.0, -12.0, -12.0, None, None],
        ),
        # Percent points: 30 is 30%; "30%" is too; 0.3 is 0.3%.
        ("percent", {"percent": "points"}, ["30", "30%", "0.3"], [0.3, 0.3, 0.003]),
        ("percent", {}, ["30", "30%", "0.3"], [30.0, 0.3, 0.3]),  # the default: fractions
        # Declared words replace the default ones (so "yes" is no longer a yes).
        (
            "bool",
            {"true_words": ["Active", "Y"], "false_words": ["Terminated", "N"]},
            ["active", " Y ", "N", "yes"],
            [True, True, False, None],
        ),
    ],
)
def test_declared_number_percent_and_bool_formats(type_name, fmt, cells, expected):
    got = values(cells, type_name, fmt)
    assert [None if v is None else round(v, 9) if isinstance(v, float) else v for v in got] == [
        None if v is None else v for v in expected
    ]


def test_without_formats_the_old_spellings_are_still_refused():
    assert values(["07/05/11", "2011/07/05", "2011-07-05"], "date", {}) == [
        None,
        None,
        "2011-07-05",
    ]
    assert values(["¥12", "1,5", "1,234.5"], "money", {}) == [None, None, 1234.5]


def test_a_format_mismatch_names_file_row_column_and_the_format(project):
    result = bind(
        project,
        "  employees: { path: e.csv }\n"
        '  orders: { path: o.csv, formats: { date: "%d.%m.%Y", decimal: "," } }\n',
        e_csv=EMPLOYEES,
        o_csv="order_id,rep_id,closed_on,amount\n"
        'o1,e1,05.01.2026,"10,5"\no2,e2,2026-01-06,20.5\no3,e1,1/5/2026,7\n',
    )
    assert found(result, "type_mismatch") == [
        ("orders", 3, "amount", "type_mismatch", "warning"),
        ("orders", 4, "closed_on", "type_mismatch", "warning"),
    ]
    assert messages(result, "type_mismatch") == [
        "amount: '20.5' is not an amount written as 1234,5",
        "closed_on: '1/5/2026' is not a date (%d.%m.%Y, or YYYY-MM-DD)",
    ]
    orders = result.frames["orders"]
    assert orders["closed_on"].dt.strftime("%Y-%m-%d").tolist() == ["2026-01-05"]
    assert orders["amount"].tolist() == [10.5]


def test_column_formats_override_the_source_formats(project):
    result = bind(
        project,
        "  employees: { path: e.csv }\n"
        "  orders:\n"
        "    path: o.csv\n"
        '    formats: { date: "%m/%d/%Y", currency: "$" }\n'
        '    columns: { closed_on: { date: "%Y年%m月%d日" } }\n',
        e_csv=EMPLOYEES,
        o_csv="order_id,rep_id,closed_on,amount\no1,e1,2026年1月5日,$1.50\n",
    )
    assert result.findings.empty
    assert result.frames["orders"]["closed_on"].iloc[0] == pd.Timestamp("2026-01-05")
    assert result.frames["orders"]["amount"].iloc[0] == 1.5


@pytest.mark.parametrize(
    ("formats", "problem"),
    [
        (
            '{ date: "%m/%d/%y" }',
            "data.yaml: sources.orders.formats: date '%m/%d/%y' writes years with two digits",
        ),
        ('{ date: "%m/%Y" }', "must name the year, the month and the day"),
        ('{ date: "mm/dd/yyyy" }', "has no % codes"),
        ('{ decimal: ",", thousands: "," }', "'decimal' and 'thousands' are both ','"),
        ("{ true_words: [Y], false_words: [y] }", "'y' is given for both true and false"),
        ("{ true_words: [Y] }", "'false_words' is a dependency of 'true_words'"),
        ('{ decimal: ";" }', "sources.orders.formats.decimal: ';' is not one of"),
    ],
)
def test_bad_formats_are_binding_errors(project, formats, problem):
    with pytest.raises(DataError) as error:
        bind(
            project,
            f"  employees: {{ path: e.csv }}\n  orders: {{ path: o.csv, formats: {formats} }}\n",
            e_csv=EMPLOYEES,
            o_csv=ORDERS,
        )
    assert any(problem in p for p in error.value.problems), error.value.problems


def test_formats_for_an_undeclared_column_are_an_error(project):
    with pytest.raises(DataError) as error:
        bind(
            project,
            "  employees: { path: e.csv }\n"
            '  orders: { path: o.csv, columns: { closed: { date: "%Y/%m/%d" } } }\n',
            e_csv=EMPLOYEES,
            o_csv=ORDERS,
        )
    assert error.value.problems == [
        "data.yaml: sources.orders.columns: source 'orders' declares no column 'closed' "
        "(did you mean 'closed_on'?)"
    ]


# ------------------------------------------------------------------ the real HRIS export

HR_COLUMNS = (
    "Employee_Name,EmpID,MarriedID,MaritalStatusID,GenderID,EmpStatusID,DeptID,PerfScoreID,"
    "FromDiversityJobFairID,Salary,Termd,PositionID,Position,State,Zip,DOB,Sex,MaritalDesc,"
    "CitizenDesc,HispanicLatino,RaceDesc,DateofHire,DateofTermination,TermReason,"
    "EmploymentStatus,Department,ManagerName,ManagerID,RecruitmentSource,PerformanceScore,"
    "EngagementSurvey,EmpSatisfaction,SpecialProjectsCount,LastPerformanceReview_Date,"
    "DaysLateLast30,Absences"
).split(",")
# Shaped like the public "Human Resources Data Set" (HRDataset_v14.csv): one row per
# employee, dates as the US writes them, two-digit birth years.
HR_ROWS = [
    ["Adinolfi, Wilson  K", 10026, 0, 0, 1, 1, 5, 4, 0, 62506, 0, 19,
     "Production Technician I", "MA", 1960, "07/10/83", "M ", "Single", "US Citizen", "No",
     "White", "7/5/2011", "", "N/A-StillEmployed", "Active", "Production       ",
     "Michael Albert", 22, "LinkedIn", "Exceeds", 4.6, 5, 0, "1/17/2019", 0, 1],
    ["Ait Sidi, Karthikeyan   ", 10084, 1, 1, 1, 5, 3, 3, 0, 104437, 1, 27, "Sr. DBA", "MA",
     2148, "05/05/65", "M ", "Married", "US Citizen", "No", "White", "3/30/2015",
     "6/16/2019", "career change", "Voluntarily Terminated", "IT/IS", "Simon Roup", 4,
     "Indeed", "Fully Meets", 4.96, 3, 6, "2/24/2019", 0, 17],
    ["Alagbe,Trina", 10088, 1, 1, 0, 1, 5, 3, 0, 64991, 0, 19, "Production Technician I",
     "MA", 1886, "09/27/88", "F", "Married", "US Citizen", "No", "White", "1/7/2008", "",
     "N/A-StillEmployed", "Active", "Production       ", "Elijiah Gray", 16, "Indeed",
     "Fully Meets", 2.84, 5, 0, "1/3/2019", 0, 15],
]  # fmt: skip
HR_POLICY = """\
policy "HR 2019" {
  cadence yearly
  effective 2019-01-01 to 2019-12-31
  data_quality { stale_after 400 days }
}
roster staff {
  key EmpID
  display Employee_Name
  department Department
  start DateofHire
  end DateofTermination
  columns {
    EmpID: text required
    Employee_Name: text required
    Department: text required
    ManagerName: text
    DOB: date
    DateofHire: date required
    DateofTermination: date
  }
}
source reviews {
  subject EmpID
  time LastPerformanceReview_Date
  key EmpID
  columns {
    EmpID: text required
    LastPerformanceReview_Date: date required
    EngagementSurvey: number required
    PerfScoreID: integer
  }
}
indicator engagement "Engagement" {
  unit number
  better higher
  = mean(reviews.EngagementSurvey)
}
scorecard all "All" {
  applies to staff
  indicator engagement weight 100% {
    threshold 3 => 50
    target 4 => 100
    stretch 5 => 120
  }
  rating r
}
rating r "R" {
  "Good" when score >= 90
  "Low" otherwise
}
"""
HR_BINDING = """\
version: 1
sources:
  staff: { path: HRDataset_v14.csv%s }
  reviews: { path: HRDataset_v14.csv%s }
"""


def hr_project(project: Path, staff: str = "", reviews: str = "") -> None:
    (project / "policy.kpi").write_text(HR_POLICY, encoding="utf-8")
    with open(project / "HRDataset_v14.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HR_COLUMNS)
        writer.writerows(HR_ROWS)
    (project / "data.yaml").write_text(HR_BINDING % (staff, reviews), encoding="utf-8")


def test_the_hris_export_without_formats_gives_findings_not_a_crash(project):
    hr_project(project)
    result = CliRunner().invoke(main, ["eval", ".", "--data", "data.yaml"], env=WIDE)
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.exit_code == 1  # every row has an unreadable date: nothing to score
    assert "Data quality findings stopped the run." in result.output
    lines = [line.strip() for line in result.output.splitlines()]
    # Errors first: both sources have no usable row.
    quality = lines[lines.index("Data quality") + 1 :]
    assert quality[0].startswith("error HRDataset_v14.csv empty_source none of the 3 rows")
    assert quality[1].startswith("error HRDataset_v14.csv empty_source none of the 3 rows")
    # Each date that does not parse names the file, the row and the column.
    loaded = load_data(make_policy(HR_POLICY), project / "data.yaml", as_of=date(2019, 12, 31))
    staff = loaded.findings[loaded.findings["source"] == "staff"]
    mismatches = staff[staff["check"] == "type_mismatch"]
    # 3 rows × (DOB, DateofHire) + the one DateofTermination that is filled in.
    assert len(mismatches) == 7
    first = mismatches.iloc[0]
    assert (first["file"], first["row"], first["column"]) == ("HRDataset_v14.csv", 2, "DOB")
    assert first["message"] == "DOB: '07/10/83' is not a date (YYYY-MM-DD)"
    # 36 columns, 7 declared for staff: the other 29 are one finding, not 29.
    extra = messages(loaded, "extra_column")
    assert len(extra) == 2
    assert extra[0].startswith("32 columns are not declared in source 'reviews': 'Employee_Name'")
    assert extra[1].startswith("29 columns are not declared in source 'staff': 'MarriedID'")
    assert "and 19 more" in extra[1]


def test_the_hris_export_evaluates_once_its_date_format_is_declared(project):
    us = ', formats: { date: "%m/%d/%Y" }, extra_columns: ignore'
    dob = ', columns: { DOB: { date: "%m/%d/%y", two_digit_years_from: 1930 } }'
    hr_project(project, staff=us + dob, reviews=us)
    loaded = load_data(make_policy(HR_POLICY), project / "data.yaml", as_of=date(2019, 12, 31))
    assert loaded.findings.empty, loaded.findings.to_dict("records")
    people = loaded.frames["staff"]
    assert people["DOB"].dt.strftime("%Y-%m-%d").tolist() == [
        "1983-07-10",
        "1965-05-05",  # not 2065: the binding says two-digit years are 1930–2029
        "1988-09-27",
    ]
    assert people["DateofHire"].dt.strftime("%Y-%m-%d").tolist() == [
        "2011-07-05",
        "2015-03-30",
        "2008-01-07",
    ]
    result = CliRunner().invoke(
        main, ["eval", ".", "--data", "data.yaml", "--format", "csv", "--as-of", "2019-12-31"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["subject"]: r for r in csv.DictReader(result.output.splitlines())}
    assert set(rows) == {"10026", "10084", "10088"}
    # Engagement 4.6 lies between target 4 (100) and stretch 5 (120): 100 + 0.6 × 20 = 112;
    # 2.84 is below the threshold 3.
    assert float(rows["10026"]["total"]) == pytest.approx(112.0)
    assert rows["10026"]["rating"] == "Good"
    assert rows["10088"]["rating"] == "Low"


# ------------------------------------------------------------------ sheets as people make them


def staff_book(path: Path, build) -> None:
    book = openpyxl.Workbook()
    build(book)
    book.save(path)


def test_a_title_row_above_the_header(project):
    def build(book):
        sheet = book.active
        sheet.append(["Staff list, exported 2026-01-08"])
        sheet.append([])
        sheet.append(["employee_id", "name", "active"])
        sheet.append(["e1", "Ann", "yes"])
        sheet.append(["e2", "Bob", "no"])

    staff_book(project / "e.xlsx", build)
    (project / "o.csv").write_text(ORDERS, encoding="utf-8")
    sources = "  employees: { path: e.xlsx%s }\n  orders: { path: o.csv }\n"
    result = bind(project, sources % "")
    assert result.blocked
    missing = messages(result, "missing_column")
    assert missing[0] == (
        "declared column 'active' (bool) is not in the data; the declared columns are named "
        "on row 3: set `header_row: 3` in the binding"
    )
    result = bind(project, sources % ", header_row: 3")
    assert result.findings.empty
    assert result.frames["employees"]["_row"].tolist() == [4, 5]  # the sheet's row numbers


def test_header_row_in_a_csv(project):
    result = bind(
        project,
        "  employees: { path: e.csv, header_row: 2 }\n  orders: { path: o.csv }\n",
        e_csv="Exported by HRIS;;\n" + EMPLOYEES,
        o_csv=ORDERS,
    )
    assert result.findings.empty
    assert result.frames["employees"]["_row"].tolist() == [3, 4]
    assert result.frames["employees"]["name"].tolist() == ["Ann", "Bob"]


def test_a_totals_row_is_reported_or_left_out_when_declared(project):
    orders = ORDERS + "Total,,,30\n"
    result = bind(
        project, "  employees: { path: e.csv }\n  orders: { path: o.csv }\n", e_csv=EMPLOYEES,
        o_csv=orders,
    )  # fmt: skip
    assert found(result, "totals_row") == [("orders", 4, None, "totals_row", "warning")]
    assert messages(result, "totals_row") == [
        "row 4 looks like a totals row ('Total') but is read as data; if it holds totals, "
        "set `totals_row: true` in the binding"
    ]
    assert result.accounting.set_index("source").loc["orders", "rows_read"] == 3
    result = bind(
        project,
        "  employees: { path: e.csv }\n  orders: { path: o.csv, totals_row: true }\n",
        e_csv=EMPLOYEES,
        o_csv=orders,
    )
    assert found(result) == [("orders", 4, None, "totals_row", "info")]
    assert result.accounting.set_index("source").loc["orders", "rows_read"] == 2
    assert result.frames["orders"]["amount"].tolist() == [10.0, 20.0]


def test_merged_cells_are_reported_or_filled(project):
    def build(book):
        sheet = book.active
        sheet.append(["employee_id", "name", "active"])
        sheet.append(["e1", "Ann", "yes"])
        sheet.append(["e2", "Bob", None])
        sheet.merge_cells("C2:C3")  # "yes" for both

    staff_book(project / "e.xlsx", build)
    (project / "o.csv").write_text(ORDERS, encoding="utf-8")
    sources = "  employees: { path: e.xlsx%s }\n  orders: { path: o.csv }\n"
    result = bind(project, sources % "")
    assert found(result, "merged_cells") == [("employees", 2, None, "merged_cells", "warning")]
    assert messages(result, "merged_cells") == [
        "cells C2:C3 are merged: only C2 holds the value, the other cells read as empty; "
        "set `merged: fill` in the binding to copy the value into every cell"
    ]
    assert result.frames["employees"]["active"].tolist() == [True, pd.NA]
    result = bind(project, sources % ", merged: fill")
    assert result.findings.empty
    assert result.frames["employees"]["active"].tolist() == [True, True]


def test_a_hidden_sheet_is_skipped_and_the_sheet_read_is_named(project):
    def build(book):
        old = book.active
        old.title = "Old"
        old.append(["employee_id", "name", "active"])
        old.append(["x9", "Former", "yes"])
        old.sheet_state = "hidden"
        new = book.create_sheet("Staff")
        new.append(["employee_id", "name", "active"])
        new.append(["e1", "Ann", "yes"])
        new.append(["e2", "Bob", "no"])

    staff_book(project / "e.xlsx", build)
    (project / "o.csv").write_text(ORDERS, encoding="utf-8")
    result = bind(project, "  employees: { path: e.xlsx }\n  orders: { path: o.csv }\n")
    assert result.frames["employees"]["employee_id"].tolist() == ["e1", "e2"]
    assert found(result) == [("employees", None, None, "sheet", "warning")]
    assert messages(result, "sheet") == [
        "read sheet 'Staff', the first visible one of 2; hidden sheets are not read: 'Old'; "
        "name another with `sheet:` in the binding"
    ]
    named = bind(project, "  employees: { path: e.xlsx, sheet: Old }\n  orders: { path: o.csv }\n")
    assert named.frames["employees"]["employee_id"].tolist() == ["x9"]
    assert found(named, "sheet") == []


def test_a_blank_first_sheet_names_the_sheet_and_suggests_sheet(project):
    def build(book):
        book.active.title = "Sheet1"
        data = book.create_sheet("Staff")
        data.append(["employee_id", "name", "active"])

    staff_book(project / "e.xlsx", build)
    (project / "o.csv").write_text(ORDERS, encoding="utf-8")
    with pytest.raises(DataError) as error:
        bind(project, "  employees: { path: e.xlsx }\n  orders: { path: o.csv }\n")
    assert error.value.problems == [
        "e.xlsx: sheet 'Sheet1' is empty; row 1 must name the columns; the workbook also has "
        "'Staff': name one with `sheet:`"
    ]


@pytest.mark.parametrize("far", ["XFD2", "XFD1048576"])
def test_one_formatted_cell_far_away_reads_only_the_used_cells(project, far):
    def build(book):
        sheet = book.active
        sheet.append(["employee_id", "name", "active"])
        sheet.append(["e1", "Ann", "yes"])
        sheet[far].font = Font(bold=True)  # formatting, no value

    staff_book(project / "e.xlsx", build)
    with zipfile.ZipFile(project / "e.xlsx") as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert f'<dimension ref="A1:{far}"' in xml  # the file claims a huge used range
    assert (project / "e.xlsx").stat().st_size < 10_000
    (project / "o.csv").write_text(ORDERS, encoding="utf-8")
    start = time.perf_counter()
    result = bind(project, "  employees: { path: e.xlsx }\n  orders: { path: o.csv }\n")
    assert time.perf_counter() - start < 5  # was 65–99 s (XFD2) or out of memory
    assert list(result.frames["employees"].columns) == ["employee_id", "name", "active", "_row"]
    assert found(result, "extra_column") == []


# ------------------------------------------------------------------ not what it seems


def test_a_semicolon_csv_read_as_one_column_suggests_the_delimiter(project):
    result = bind(
        project,
        "  employees: { path: e.csv }\n  orders: { path: o.csv }\n",
        e_csv=EMPLOYEES.replace(",", ";"),
        o_csv=ORDERS,
    )
    assert result.blocked
    assert messages(result, "missing_column")[0] == (
        "declared column 'active' (bool) is not in the data; the file was read as one column "
        "named 'employee_id;name;active' — it looks separated by ';': set `delimiter: \";\"` "
        "in the binding"
    )


def test_an_invisible_character_in_an_id_is_shown(project):
    orders = "order_id,rep_id,closed_on,amount\no1,e1\u200b,2026-01-05,10\n"
    result = bind(
        project,
        "  employees: { path: e.csv }\n  orders: { path: o.csv }\n",
        e_csv=EMPLOYEES,
        o_csv=orders,
    )
    assert messages(result, "unknown_subject") == [
        "rep_id 'e1\\u200b' is not in the roster 'employees'"
    ]


def test_a_folder_named_like_a_file_is_a_folder_not_a_missing_file(project):
    (project / "e.csv").write_text(EMPLOYEES, encoding="utf-8")
    (project / "orders.csv").mkdir()
    (project / "data.yaml").write_text(
        "version: 1\nsources:\n  employees: { path: e.csv }\n  orders: { path: orders.csv }\n"
    )
    with pytest.raises(DataError) as error:
        load_data(make_policy(), project / "data.yaml")
    assert error.value.problems == ["data.yaml: sources.orders: orders.csv is a folder, not a file"]
    (project / "data.yaml").unlink()
    (project / "employees.csv").write_text(EMPLOYEES, encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_data(make_policy(), project)
    assert error.value.problems == [
        "./orders.csv is a folder, not a file; source 'orders' needs a file"
    ]


# ------------------------------------------------------------ quiet about what does not matter


def test_undeclared_columns_are_one_line_per_source_or_none(project):
    extra = [f"x{i}" for i in range(12)]
    employees = ",".join(["employee_id", "name", "active", *extra]) + "\n"
    employees += ",".join(["e1", "Ann", "yes", *"abcdefghijkl"]) + "\n"
    employees += ",".join(["e2", "Bob", "no", *"abcdefghijkl"]) + "\n"
    sources = "  employees: { path: e.csv%s }\n  orders: { path: o.csv }\n"
    result = bind(project, sources % "", e_csv=employees, o_csv=ORDERS)
    assert found(result) == [("employees", None, None, "extra_column", "warning")]
    assert messages(result, "extra_column") == [
        "12 columns are not declared in source 'employees': 'x0', 'x1', 'x2', 'x3', 'x4', "
        "'x5', 'x6', 'x7', 'x8', 'x9' and 2 more; they are left out (`extra_columns: ignore` "
        "in the binding stops this message)"
    ]
    quiet = bind(project, sources % ", extra_columns: ignore")
    assert quiet.findings.empty
    assert list(quiet.frames["employees"].columns) == ["employee_id", "name", "active", "_row"]


# ------------------------------------------------------------------ the binding file


def test_a_key_given_twice_in_the_binding_is_an_error(project):
    (project / "data.yaml").write_text(
        "version: 1\nsources:\n  employees: { path: e.csv }\n"
        "  orders: { path: a.csv }\n  orders: { path: b.csv }\n"
    )
    with pytest.raises(DataError) as error:
        load_data(make_policy(), project / "data.yaml")
    assert error.value.problems == [
        "data.yaml: refused at line 5, column 3: the key 'orders' appears twice in one mapping "
        "(first at line 4); keep one"
    ]


def test_an_alias_bomb_is_refused_before_it_expands(project):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    (project / "data.yaml").write_text("version: 1\n" + "\n".join(lines) + "\nsources: {}\n")
    start = time.perf_counter()
    with pytest.raises(DataError) as error:
        load_data(make_policy(), project / "data.yaml")
    assert time.perf_counter() - start < 2
    assert error.value.problems == [
        "data.yaml: refused at line 2, column 4: anchors (&a) are not allowed in a binding "
        "file; write the value out in full"
    ]


def test_an_alias_without_an_anchor_is_refused_too(project):
    (project / "data.yaml").write_text("version: 1\nsources: *x\n")
    with pytest.raises(DataError) as error:
        load_data(make_policy(), project / "data.yaml")
    assert error.value.problems == [
        "data.yaml: refused at line 2, column 10: aliases (*x) are not allowed in a binding "
        "file; write the value out in full"
    ]


# ------------------------------------------------------------------ empty sources


def test_a_header_only_source_is_an_error_unless_allowed(project):
    header_only = "order_id,rep_id,closed_on,amount\n"
    sources = "  employees: { path: e.csv }\n  orders: { path: o.csv%s }\n"
    result = bind(project, sources % "", e_csv=EMPLOYEES, o_csv=header_only)
    assert result.blocked
    assert found(result, "empty_source") == [("orders", None, None, "empty_source", "error")]
    assert messages(result, "empty_source") == [
        "the file has no data rows (only the header); if that is expected, set "
        "`allow_empty: true` in the binding"
    ]
    allowed = bind(project, sources % ", allow_empty: true")
    assert not allowed.blocked
    assert found(allowed, "empty_source") == []


def test_an_empty_dataframe_is_how_code_says_no_data(project):
    from kpirules.data import empty_frame

    policy = make_policy()
    frames = {
        "employees": pd.DataFrame({"employee_id": ["e1"], "name": ["Ann"], "active": [True]}),
        "orders": empty_frame(policy.sources["orders"]),
    }
    result = load_data(policy, frames, as_of=AS_OF)
    assert not result.blocked
    assert found(result, "empty_source") == []


# ------------------------------------------------------------------ errors first


def test_errors_are_listed_first_and_all_of_them(project):
    (project / "policy.kpi").write_text(POLICY % "", encoding="utf-8")
    (project / "e.csv").write_text(EMPLOYEES, encoding="utf-8")
    # 25 orders of an unknown rep (warnings, early rows) and no `amount` column (an error).
    rows = "".join(f"o{i},e9,2026-01-05\n" for i in range(25)) + "o99,e1,2026-01-06\n"
    (project / "o.csv").write_text("order_id,rep_id,closed_on\n" + rows, encoding="utf-8")
    (project / "data.yaml").write_text(
        "version: 1\nsources:\n  employees: { path: e.csv }\n  orders: { path: o.csv }\n"
    )
    result = CliRunner().invoke(
        main, ["eval", ".", "--data", "data.yaml", "--as-of", "2026-01-10"], env=WIDE
    )
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    listed = lines[lines.index("Data quality") + 1 :]
    assert listed[0].startswith("error o.csv missing_column declared column 'amount'")
    assert sum(line.startswith("warning ") for line in listed) == 19  # 20 lines in all
    assert listed[-1].startswith("… 6 more findings (6 warning)")


def test_the_documented_formats_example_is_a_valid_binding():
    import json
    import re

    import jsonschema
    import yaml

    from kpirules.data.binding import BindingLoader, check_formats
    from kpirules.resources import schema

    text = (Path(__file__).parent.parent / "docs" / "data.md").read_text(encoding="utf-8")
    section = text.split("### 3.1 Formats declared in the binding")[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    document = yaml.load(example, Loader=BindingLoader)  # a SafeLoader subclass
    jsonschema.Draft202012Validator(schema("binding.schema.json")).validate(document)
    staff = document["sources"]["staff"]
    assert staff["columns"]["DOB"] == {"date": "%m/%d/%y", "two_digit_years_from": 1930}
    for entry in document["sources"].values():
        assert check_formats(entry.get("formats", {})) == [], json.dumps(entry)


def test_the_binding_loader_is_still_a_safe_loader(project):
    (project / "data.yaml").write_text(
        'version: 1\nsources: !!python/object/apply:os.system ["echo owned"]\n'
    )
    with pytest.raises(DataError) as error:
        load_data(make_policy(), project / "data.yaml")
    assert error.value.problems[0].startswith("data.yaml: not valid YAML at line 2")
    assert "could not determine a constructor" in error.value.problems[0]


def test_a_run_record_keeps_the_formats_and_verifies(project):
    import json

    us = ', formats: { date: "%m/%d/%Y" }, extra_columns: ignore'
    dob = ', columns: { DOB: { date: "%m/%d/%y", two_digit_years_from: 1930 } }'
    hr_project(project, staff=us + dob, reviews=us)
    record = project / "run"
    args = ["eval", ".", "--data", "data.yaml", "--as-of", "2019-12-31", "--record", str(record)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((record / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"]["staff"]["options"] == {
        "extra_columns": "ignore",
        "formats": {"date": "%m/%d/%Y"},
        "columns": {"DOB": {"date": "%m/%d/%y", "two_digit_years_from": 1930}},
    }
    verified = CliRunner().invoke(main, ["verify", str(record)])
    assert verified.exit_code == 0, verified.output


# ------------------------------------------------------------------ no end date

TENURE = POLICY.replace(
    "columns { employee_id: text required  name: text  active: bool }",
    "end left_on\n"
    "  columns { employee_id: text required  name: text  active: bool  left_on: date }",
)


def test_an_open_end_date_is_a_mismatch_that_says_how_to_declare_it(project):
    employees = "employee_id,name,active,left_on\ne1,Ann,yes,9999-12-31\ne2,Bob,no,2026-03-31\n"
    result = bind(
        project,
        "  employees: { path: employees.csv }\n  orders: { path: orders.csv }\n",
        make_policy(TENURE % ""),
        employees_csv=employees,
        orders_csv=ORDERS,
    )
    assert found(result, "type_mismatch") == [
        ("employees", 2, "left_on", "type_mismatch", "warning")
    ]
    (message,) = messages(result, "type_mismatch")
    assert "left_on: '9999-12-31' is not a date" in message
    assert 'formats: { no_date: ["9999-12-31"] }' in message
    # Declared, it is an empty cell: no finding, and Ann is still employed (no end date).
    result = bind(
        project,
        '  employees: { path: employees.csv, formats: { no_date: ["9999-12-31"] } }\n'
        "  orders: { path: orders.csv }\n",
        make_policy(TENURE % ""),
    )
    assert found(result, "type_mismatch") == []
    left = result.frames["employees"].set_index("employee_id")["left_on"]
    assert pd.isna(left["e1"]) and left["e2"] == pd.Timestamp("2026-03-31")
