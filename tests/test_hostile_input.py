"""Hostile input: nothing leaks out (issue 13).

Each test tries the attack through the real command line — a symbolic link out of the
project, a formula in a CSV cell, an escape sequence in a roster name, a system file given
as the data binding — and checks that the secret or the escape does not come out, and
that a clear message does. Expected values are written by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli import main
from kpirules.text import neutralise, to_json

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")

SECRET = "root:x:0:0:SECRET-LINE-42:/root:/bin/bash"
TITLE = "\x1b]0;pwned\x07"  # sets the terminal's window title
POLICY = """\
policy "Tiny" {
  cadence monthly
  currency CNY
  effective 2026-01-01 to 2026-03-31
}
roster staff {
  key id
  display name
  department dept
  columns { id: text  name: text  dept: text  salary: money  months: number }
}
source tickets {
  subject id
  time opened_on
  columns { id: text  opened_on: date  minutes: minutes  channel: text }
}
indicator response "Response time" {
  unit minutes
  better lower
  = mean(tickets.minutes)
}
scorecard agent {
  applies to staff
  indicator response weight 100% { threshold 30 min => 50  target 15 min => 100 }
  rating simple
}
rating simple { "Good" when score >= 100  "Other" otherwise }
"""
STAFF = (
    "id,name,dept,salary,months\n"
    'E1,"=HYPERLINK(""http://evil.example/?x"",""click"")",+Sales,1000,2\n'
    f"E2,{TITLE}Bob\u202eevil,@ops,1000,2\n"
    'E3,"[link=http://evil.example]Cy[/link]",-cmd,1000,2\n'
)
TICKETS = (
    "id,opened_on,minutes,channel\n"
    "E1,2026-01-05,10,mail\n"
    "E2,2026-01-06,-3.5,phone\n"
    "E3,2026-01-07,12,mail\n"
    f"E2,2026-02-03,14,{TITLE}phone\n"
)
AS_OF = ("--as-of", "2026-02-10")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project (root marker .kpirules.toml) and, beside it, a folder outside the root
    holding a secret."""
    root = tmp_path / "project"
    root.mkdir()
    (root / ".kpirules.toml").write_text("")
    (root / "p.kpi").write_text(POLICY)
    (root / "staff.csv").write_text(STAFF)
    (root / "tickets.csv").write_text(TICKETS)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text(SECRET + "\n")
    monkeypatch.chdir(root)
    return root


def assert_clean(output: str) -> None:
    """No raw control character or bidi override from the data, and no internal error."""
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert "internal error" not in output and "Traceback" not in output


# ------------------------------------------------------------------ 1. symbolic links


def test_a_policy_file_linked_out_of_the_project_is_not_read(project: Path) -> None:
    folder = project / "policies"
    folder.mkdir()
    (folder / "main.kpi").write_text(POLICY)
    (folder / "evil.kpi").symlink_to(project.parent / "outside" / "passwd")
    for args in (("check", "policies"), ("check", "policies/evil.kpi"), ("lint", "policies")):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert "SECRET-LINE" not in result.output and "root:x" not in result.output
        assert (
            "policies/evil.kpi:1:1: E102 policy file 'policies/evil.kpi' leads outside the "
            "project root (.)" in result.output
        )


def test_fmt_does_not_rewrite_a_file_outside_the_project(project: Path) -> None:
    target = project.parent / "outside" / "shared.kpi"
    unformatted = 'objective   grow "Grow"   {  horizon long }\n'
    target.write_text(unformatted)
    (project / "shared.kpi").symlink_to(target)
    for args in (("fmt", "."), ("fmt", "shared.kpi"), ("fmt", "--diff", "shared.kpi")):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert "E102 policy file 'shared.kpi' leads outside the project root" in result.output
        assert "objective" not in result.output  # not even quoted in a diff
        assert target.read_text() == unformatted


def test_an_import_through_a_link_out_of_the_project_is_refused(project: Path) -> None:
    (project / "lib").symlink_to(project.parent / "outside", target_is_directory=True)
    (project / "q.kpi").write_text('import "lib/passwd.kpi"\n')
    (project.parent / "outside" / "passwd.kpi").write_text(SECRET + "\n")
    result = run("check", "q.kpi")
    assert result.exit_code == 1
    assert "E102 import 'lib/passwd.kpi' points outside the project root (.)" in result.output
    assert "SECRET-LINE" not in result.output


def test_a_lint_configuration_linked_out_of_the_project_is_refused(project: Path) -> None:
    (project / ".kpirules.toml").unlink()
    (project / ".kpirules.toml").symlink_to(project.parent / "outside" / "passwd")
    result = run("lint", "p.kpi")
    assert result.exit_code == 2, result.output
    assert "configuration: " in result.output
    assert "leads outside the project root" in result.output
    assert "SECRET-LINE" not in result.output


def test_a_data_binding_linked_out_of_the_project_is_refused(project: Path) -> None:
    (project / "data.yaml").symlink_to(project.parent / "outside" / "passwd")
    result = run("eval", "p.kpi", "--data", ".", *AS_OF)
    assert result.exit_code == 1, result.output
    assert "the binding leads outside the project root; not read" in result.output
    assert "SECRET-LINE" not in result.output and "root:x" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("eval", "p.kpi", "--data", ".", "--format", "csv", "-o", "out.csv"),
        ("eval", "p.kpi", "--data", ".", "-o", "out.csv"),
        ("lint", "p.kpi", "-o", "out.csv"),
        ("analyze", "p.kpi", "--data", ".", "--format", "md", "-o", "out.csv"),
        ("report", "p.kpi", "--data", ".", "-o", "out.xlsx"),
    ],
    ids=["eval-csv", "eval-table", "lint", "analyze", "report"],
)
def test_an_output_linked_out_of_the_project_is_not_written(project: Path, args) -> None:
    victim = project.parent / "outside" / "passwd"
    (project / args[-1]).symlink_to(victim)
    result = run(*args, *(AS_OF if "--data" in args else ()))
    assert result.exit_code == 2, result.output
    assert f"{args[-1]}: refusing to write there" in result.output
    assert "leads outside the project root (.)" in result.output
    assert victim.read_text() == SECRET + "\n"


def test_feedback_into_a_folder_linked_out_of_the_project_writes_nothing(project: Path) -> None:
    (project / "sheets").symlink_to(project.parent / "outside", target_is_directory=True)
    result = run("feedback", "p.kpi", "--data", ".", "-o", "sheets", *AS_OF)
    assert result.exit_code == 2, result.output
    assert "sheets: refusing to write there" in result.output
    assert sorted(p.name for p in (project.parent / "outside").iterdir()) == ["passwd"]


# ------------------------------------------------------------------ 2. CSV formulas


def test_csv_cells_that_would_start_a_formula_are_quoted(project: Path) -> None:
    result = run("eval", "p.kpi", "--data", ".", "--format", "csv", "--period", "2026-01", *AS_OF)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Text from data: prefixed with a single quote. Numbers stay numbers (-3.5).
    assert lines[1].startswith(
        'E1,"\'=HYPERLINK(""http://evil.example/?x"",""click"")",\'+Sales,,,2026-01,agent,'
    )
    assert lines[2].startswith("E2,\\x1b]0;pwned\\x07Bob\\u202eevil,'@ops,,,2026-01,agent,")
    assert lines[2].endswith(",-3.5,100.0")
    assert lines[3].startswith("E3,[link=http://evil.example]Cy[/link],'-cmd,")


def test_csv_to_a_file_is_quoted_the_same_way(project: Path) -> None:
    result = run("eval", "p.kpi", "--data", ".", "--format", "csv", "-o", "out.csv", *AS_OF)
    assert result.exit_code == 0, result.output
    text = (project / "out.csv").read_text()
    assert "'=HYPERLINK" in text and "'+Sales" in text and "'@ops" in text
    assert ",=" not in text and ",+" not in text and ",@" not in text


# ------------------------------------------------------------------ 3. terminal escapes


@pytest.mark.parametrize(
    "args",
    [
        ("eval", "p.kpi", "--data", "."),
        ("explain", "p.kpi", "--data", ".", "--subject", "E2"),
        ("explain", "p.kpi", "--data", ".", "--subject", "E2", "--format", "md"),
        ("feedback", "p.kpi", "--data", ".", "--subject", "E2"),
        ("feedback", "p.kpi", "--data", ".", "--subject", "E2", "--format", "html"),
        ("analyze", "p.kpi", "--data", ".", "--drill", "response", "--by", "tickets.channel"),
        (
            "analyze",
            "p.kpi",
            "--data",
            ".",
            "--drill",
            "response",
            "--by",
            "tickets.channel",
            "--format",
            "md",
        ),
    ],
    ids=["eval", "explain", "explain-md", "feedback-md", "feedback-html", "analyze", "analyze-md"],
)
def test_escape_sequences_in_data_reach_no_terminal(project: Path, args) -> None:
    result = run(*args, *AS_OF)
    assert result.exit_code == 0, result.output
    assert_clean(result.output)
    assert "\\x1b" in result.output  # shown, as a visible escape


def test_the_eval_table_shows_markup_from_data_as_text(project: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = run("eval", "p.kpi", "--data", ".", *AS_OF)
    assert result.exit_code == 0, result.output
    assert "[link=http://evil.example]Cy[/link]" in result.output
    assert "\\x1b]0;pwned\\x07Bob\\u202eevil" in result.output


def test_json_output_escapes_every_control_character(project: Path) -> None:
    result = run("eval", "p.kpi", "--data", ".", "--format", "json", *AS_OF)
    assert result.exit_code == 0, result.output
    assert_clean(result.output)
    assert '"name": "\\u001b]0;pwned\\u0007Bob\\u202eevil"' in result.stdout
    names = {row["subject"]: row["name"] for row in json.loads(result.stdout)["totals"]}
    assert names["E2"] == f"{TITLE}Bob\u202eevil"  # the same value, only escaped


def test_feedback_files_hold_no_raw_escape(project: Path) -> None:
    for fmt in ("md", "html"):
        result = run("feedback", "p.kpi", "--data", ".", "--format", fmt, "-o", fmt, *AS_OF)
        assert result.exit_code == 0, result.output
        sheet = (project / fmt / f"E2.{fmt}").read_text()
        assert_clean(sheet)
        assert "\\x1b" in sheet and "pwned" in sheet


def test_lint_and_eval_quote_bad_cells_without_their_escapes(project: Path) -> None:
    (project / "tickets.csv").write_text(TICKETS + "E1,2026-01-09,\x1b[2J12,mail\n")
    result = run("lint", "p.kpi", "--data", ".", *AS_OF)
    assert_clean(result.output)
    assert "\\x1b[2J12" in result.output
    result = run("eval", "p.kpi", "--data", ".", *AS_OF)
    assert_clean(result.output)
    assert "\\x1b[2J12" in result.output


def test_escape_sequences_in_policy_text_are_shown_as_escapes(project: Path) -> None:
    (project / "p.kpi").write_text(f'objective gr{TITLE}ow "x"\n')
    result = run("check", "p.kpi")
    assert result.exit_code == 1
    assert_clean(result.output)
    assert "p.kpi:1:13: E002 unexpected character U+001B" in result.output
    # The caret sits under the escape, four columns wide.
    assert '    1 | objective gr\\x1b]0;pwned\\x07ow "x"\n' + " " * 20 + "^^^^\n" in result.output


def test_neutralise_and_to_json_by_hand() -> None:
    assert neutralise("a\x1b[2Jb\tc\nd\x7f\x9b\u202e\u2066") == (
        "a\\x1b[2Jb\tc\nd\\x7f\\x9b\\u202e\\u2066"
    )
    assert neutralise("a\tb\nc", keep="") == "a\\x09b\\x0ac"
    assert neutralise("Zoë 张三 \u200d") == "Zoë 张三 \u200d"  # letters and the ZWJ stay
    assert to_json({"k": "\x1b\x85\u202e"}) == '{"k": "\\u001b\\u0085\\u202e"}'


# ------------------------------------------------------------------ 4. a file as a binding


def test_a_system_file_as_binding_is_quoted_by_forty_characters_at_most(project: Path) -> None:
    passwd = project.parent / "outside" / "passwd"
    passwd.write_text(
        SECRET + "\n" + "".join(f"user{n}:x:{n}:{n}::/home:/bin/sh\n" for n in range(50))
    )
    result = run("eval", "p.kpi", "--data", str(passwd), *AS_OF)
    assert result.exit_code == 1, result.output
    assert (
        "'root:x:0:0:SECRET-LINE-42:/root:/bin/ba… is not of type 'object'; a binding is a "
        "mapping with `version: 1` and `sources:`" in result.output
    )
    assert "user1" not in result.output


# ------------------------------------------------------------------ 5. every binding problem


def test_a_schema_error_is_reported_with_the_other_problems(project: Path) -> None:
    (project / "data.yaml").write_text(
        "version: 1\n"
        "sources:\n"
        "  staff: {path: staff.csv, encoding: klingon, sheet: First}\n"
        "  tickets: {path: tickets.csv, colour: red}\n"
    )
    result = run("eval", "p.kpi", "--data", "data.yaml", *AS_OF)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "kpirules: data.yaml: sources.tickets: Additional properties are not allowed "
        "('colour' was unexpected)",
        "kpirules: data.yaml: sources.staff: 'sheet' applies to xlsx files only, not csv",
        "kpirules: data.yaml: sources.staff: unknown encoding 'klingon'",
    ]


# ------------------------------------------------------------------ 6. drill on nothing


def test_drill_down_on_an_empty_source_is_an_empty_result(project: Path) -> None:
    (project / "tickets.csv").write_text("id,opened_on,minutes,channel\n")
    # An empty source is an error unless the binding accepts it: this one does.
    (project / "data.yaml").write_text(
        "version: 1\nsources:\n  staff: { path: staff.csv }\n"
        "  tickets: { path: tickets.csv, allow_empty: true }\n"
    )
    result = run(
        "analyze", "p.kpi", "--data", "data.yaml", "--drill", "response", "--by", "tickets.channel"
    )
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "Drill-down: response by tickets.channel: nothing to show" in result.output


# ------------------------------------------------------------------ 7. division by zero


@pytest.mark.parametrize(
    ("divisor", "column", "width"),
    [
        ("0", 29, 1),
        ("(2 - 2)", 30, 5),
        ("zero", 29, 4),
        ("0 min", 29, 5),
        ("(0 * sum(tickets.minutes))", 30, 24),
    ],
)
def test_division_by_a_constant_zero_is_an_error(project, divisor, column, width) -> None:
    text = POLICY.replace("= mean(tickets.minutes)", f"= mean(tickets.minutes) / {divisor}")
    (project / "p.kpi").write_text(text + "benchmark zero = 0\n")
    for command in ("check", "lint"):
        result = run(command, "p.kpi")
        assert result.exit_code == 1, result.output
        assert (
            f"p.kpi:20:{column}: E318 division by zero: the divisor is always 0, so the "
            "result is never a number" in result.output
        )
        assert " " * (8 + column - 1) + "^" * width + "\n" in result.output


def test_a_pay_expression_dividing_by_zero_is_noted_under_its_incentive(
    project: Path, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    (project / "p.kpi").write_text(
        POLICY + 'incentive bonus "Bonus" for agent {\n  pay staff.salary / staff.months\n}\n'
    )
    (project / "staff.csv").write_text(
        "id,name,dept,salary,months\nE1,Ann,Sales,1000,0\nE2,Bob,Sales,1000,2\n"
    )
    result = run("eval", "p.kpi", "--data", ".", "--period", "2026-01", "--format", "json", *AS_OF)
    document = json.loads(result.stdout)
    assert document["notes"] == [
        {"where": "incentive bonus", "note": "division by zero (value is missing)", "count": 1}
    ]
    pay = {p["subject"]: p["amount"] for p in document["payouts"]}
    assert pay == {"E1": None, "E2": 500}
    table = run("eval", "p.kpi", "--data", ".", "--period", "2026-01", *AS_OF)
    assert "  incentive bonus: division by zero (value is missing) (1×)" in table.output
    assert "indicator response" not in table.output


def test_a_gate_dividing_by_zero_is_noted_under_its_scorecard(project: Path) -> None:
    (project / "p.kpi").write_text(
        POLICY.replace(
            "  rating simple\n}",
            "  gate staff.salary / staff.months > 100 else cap 50\n  rating simple\n}",
        )
    )
    (project / "staff.csv").write_text(
        "id,name,dept,salary,months\nE1,Ann,Sales,1000,0\nE2,Bob,Sales,1000,2\n"
    )
    result = run("eval", "p.kpi", "--data", ".", "--period", "2026-01", "--format", "json", *AS_OF)
    notes = json.loads(result.stdout)["notes"]
    assert {"where": "scorecard agent: gate", "note": "division by zero (value is missing)"} in [
        {"where": n["where"], "note": n["note"]} for n in notes
    ]
    assert not any(n["where"].startswith("indicator") for n in notes)


def test_the_tui_draws_no_escape_from_the_data(project: Path) -> None:
    """The review UI draws names and cells itself: a roster name holding ESC ] 0 ; … BEL
    and U+202E reaches no screen raw (checked line by line as the widgets render)."""
    import asyncio
    from datetime import date

    from kpirules.tui.app import ReviewApp
    from kpirules.tui.session import open_session

    session = open_session("p.kpi", ".", as_of=date(2026, 2, 10))
    app = ReviewApp.from_session(session)
    drawn: list[str] = []

    def lines() -> None:
        for widget in app.screen.query("*"):
            for y in range(widget.size.height):
                drawn.append("".join(segment.text for segment in widget.render_line(y)))

    async def scenario() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            for key in ("3", "down", "enter"):  # the people list, then E2's own screen
                await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause(0.2)
                lines()

    asyncio.run(scenario())
    text = "\n".join(drawn)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b]0;pwned\\x07Bob" in text  # shown, as a visible escape
