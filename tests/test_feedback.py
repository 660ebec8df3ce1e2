"""Feedback sheets: the sheet model against the results, labels, rendering, files, the CLI.

Expected values are worked out here from the results frames and the policy with plain
pandas, never read back from the sheet code.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import kpirules
from kpirules.cli import main
from kpirules.engine import evaluate
from kpirules.feedback import (
    FeedbackError,
    Labels,
    OutputError,
    build_sheets,
    charts,
    everyone,
    language_for,
    one,
    render,
    safe_name,
    team,
    write_sheets,
)
from kpirules.feedback.display import Formatter
from kpirules.feedback.files import write
from kpirules.feedback.labels import CATALOGUE
from kpirules.feedback.render import _markdown_text

ROOT = Path(__file__).resolve().parent.parent
SALES = ROOT / "policies" / "sales"
RETAIL = ROOT / "policies" / "zh_retail"
AS_OF = date(2027, 1, 4)
CLI_DATES = ["--as-of", AS_OF.isoformat()]


@pytest.fixture(scope="module")
def sales():
    policy = kpirules.load(str(SALES))
    return policy, evaluate(policy, str(SALES / "data.yaml"), None, as_of=AS_OF)


@pytest.fixture(scope="module")
def sales_sheets(sales):
    _, results = sales
    return {sheet.person.subject: sheet for sheet in build_sheets(results, everyone(results))}


@pytest.fixture(scope="module")
def retail():
    policy = kpirules.load(str(RETAIL))
    return policy, evaluate(policy, str(RETAIL / "data.yaml"), None, as_of=AS_OF)


def cli(*args: str):
    return CliRunner().invoke(main, ["feedback", *args], catch_exceptions=False)


def curve_targets(policy, scorecard: str) -> dict[str, float]:
    card = policy.scorecards[scorecard]
    return {
        e.indicator: float(next(p.value for p in e.scoring.points if p.kind == "target"))
        for e in card.entries
    }


# ------------------------------------------------------------------ the sheet model


@pytest.mark.parametrize("subject", ["E1017", "E1010", "E1004", "E1003"])
def test_strengths_and_gaps_follow_the_curve_targets(sales, sales_sheets, subject):
    policy, results = sales
    sheet = sales_sheets[subject]
    assert sheet.period == "2026-Q4"
    scores = results.scores[
        (results.scores["subject"] == subject) & (results.scores["period"] == "2026-Q4")
    ]
    card = scores["scorecard"].iloc[0]
    targets = curve_targets(policy, card)
    expected_strengths, expected_gaps = set(), set()
    for row in scores.itertuples():
        better = policy.indicators[row.indicator].better
        met = row.value >= targets[row.indicator] if better == "higher" else None
        if better == "lower":
            met = row.value <= targets[row.indicator]
        (expected_strengths if met else expected_gaps).add(row.indicator)
    assert {line.indicator for line in sheet.strengths} == expected_strengths
    assert {line.indicator for line in sheet.gaps} == expected_gaps


def test_gaps_carry_the_numbers_and_the_points_lost(sales, sales_sheets):
    policy, results = sales
    sheet = sales_sheets["E1017"]
    scores = results.scores[
        (results.scores["subject"] == "E1017") & (results.scores["period"] == "2026-Q4")
    ].set_index("indicator")
    targets = curve_targets(policy, "sales_rep")
    assert len(sheet.gaps) == 4
    for line in sheet.gaps:
        row = scores.loc[line.indicator]
        assert line.value == pytest.approx(row["value"])
        assert line.target == targets[line.indicator]
        assert line.target_gap == pytest.approx(row["value"] - targets[line.indicator])
        # every sales_rep curve scores 100 at its target point
        assert line.points_lost == pytest.approx(row["effective_weight"] * (100 - row["score"]))
    lost = [line.points_lost for line in sheet.gaps]
    assert lost == sorted(lost, reverse=True)  # largest first


def test_actions_and_payouts_match_the_results(sales, sales_sheets):
    _, results = sales
    for subject in ("E1017", "E1028", "E1002", "E1006"):
        sheet = sales_sheets[subject]
        acts = results.actions[
            (results.actions["subject"] == subject) & (results.actions["period"] == "2026-Q4")
        ]
        support = acts[~acts["kind"].isin(["recognize", "nominate"])]
        praise = acts[acts["kind"].isin(["recognize", "nominate"])]
        assert sorted((a.kind, a.title, a.owner, a.due) for a in sheet.actions) == sorted(
            zip(support["kind"], support["title"], support["owner"], support["due"])
        )
        assert sorted(a.title for a in sheet.recognition) == sorted(praise["title"])
        pays = results.payouts[
            (results.payouts["subject"] == subject) & (results.payouts["period"] == "2026-Q4")
        ]
        assert [p.amount for p in sheet.payouts] == pytest.approx(list(pays["amount"]))
        assert [p.gate_passed for p in sheet.payouts] == list(pays["gate_passed"])


def test_action_owners_are_resolved_to_people(sales_sheets):
    sheet = sales_sheets["E1017"]
    by_kind = {a.kind: a for a in sheet.actions}
    assert by_kind["plan"].owner == "E1012"  # `owner manager`: the roster manager
    assert by_kind["plan"].owner_is == "manager"
    assert by_kind["plan"].owner_name == sheet.person.manager_name
    assert by_kind["training"].owner == "E1017"  # `owner employee`
    assert by_kind["training"].owner_is == "employee"


def test_default_period_is_each_persons_latest_evaluated(sales, sales_sheets):
    _, results = sales
    totals = results.totals.dropna(subset=["total"])
    latest = totals.groupby("subject")["period"].max()  # labels sort in time order
    assert {s: sheet.period for s, sheet in sales_sheets.items()} == latest.to_dict()
    assert sales_sheets["E1025"].period == "2026-Q3"  # left during Q3


def test_prorated_payout_of_a_leaver_is_noted(sales_sheets):
    sheet = sales_sheets["E1025"]
    (payout,) = sheet.payouts
    assert payout.prorate_factor < 1
    text = render([sheet], "md", Labels("en"))
    share = f"{payout.prorate_factor * 100:.1f}".rstrip("0").rstrip(".")
    assert f"prorated to {share}% of the period" in text


def test_trend_and_peers_come_from_the_population(sales, sales_sheets):
    _, results = sales
    sheet = sales_sheets["E1010"]
    card = sheet.cards[0]
    scores = results.scores[results.scores["scorecard"] == card.scorecard]
    for line in card.lines:
        own = scores[(scores["subject"] == "E1010") & (scores["indicator"] == line.indicator)]
        by_period = dict(zip(own["period"], own["value"]))
        expected = [by_period.get(p, math.nan) for p in results.periods]
        assert line.trend.values == pytest.approx(expected, nan_ok=True)
        peers = scores[(scores["period"] == "2026-Q4") & (scores["indicator"] == line.indicator)][
            "value"
        ].dropna()
        assert line.peers.count == len(peers)
        assert line.peers.median == pytest.approx(peers.median())


def test_an_earlier_period_reads_only_the_periods_up_to_it(sales):
    _, results = sales
    (sheet,) = build_sheets(results, one(results, "E1010", "2026-Q2"))
    assert sheet.period == "2026-Q2"
    assert sheet.cards[0].history.periods == ("2026-Q1", "2026-Q2")
    totals = results.totals[results.totals["subject"] == "E1010"].set_index("period")["total"]
    assert sheet.cards[0].history.values == pytest.approx([totals["2026-Q1"], totals["2026-Q2"]])


def test_missing_indicator_is_listed_apart(sales_sheets):
    card = sales_sheets["E1039"].cards[0]
    assert card.status == "filled"
    assert [line.indicator for line in card.missing] == ["skill_growth"]
    assert card.missing[0].score == 0  # `when missing => score 0`


def test_cadence_comes_from_the_feedback_blocks(sales_sheets):
    rep = sales_sheets["E1017"].cards[0].cadence
    assert [(c.meeting, c.every) for c in rep] == [
        ("check_in", "weekly"),
        ("one_on_one", "monthly"),
        ("review", "quarterly"),
    ]
    manager = sales_sheets["E1012"].cards[0].cadence
    assert [(c.meeting, c.every) for c in manager] == [
        ("one_on_one", "monthly"),
        ("review", "quarterly"),
    ]


def test_agenda_is_constructive(sales_sheets):
    sheet = sales_sheets["E1010"]
    topics = [item.topic for item in sheet.agenda]
    assert topics[0] == "open"
    assert topics.index("keep") < topics.index("work_on")  # strengths before gaps
    worked = [item.line.indicator for item in sheet.agenda if item.topic == "work_on"]
    assert worked == [line.indicator for line in sheet.gaps]
    supported = [item.action.title for item in sheet.agenda if item.topic == "support"]
    assert supported == [a.title for a in sheet.actions]
    assert topics[-1] == "next"


def test_selection_errors(sales):
    _, results = sales
    with pytest.raises(FeedbackError, match="no one with id 'E9999'"):
        one(results, "E9999")
    with pytest.raises(FeedbackError, match="'E1025' was not evaluated in 2026-Q4"):
        one(results, "E1025", "2026-Q4")
    with pytest.raises(FeedbackError, match="reports to manager 'E1002'"):
        team(results, "E1002")
    with pytest.raises(FeedbackError, match="'E1025' was not evaluated in 2026-Q4"):
        build_sheets(results, {"E1025": "2026-Q4"})  # a hand-made selection is checked too
    period, wanted = team(results, "E1001")
    expected = results.totals[
        (results.totals["manager"] == "E1001") & (results.totals["period"] == "2026-Q4")
    ]
    assert period == "2026-Q4"
    assert set(wanted) == set(expected["subject"])
    names = [expected.set_index("subject").loc[s, "name"] for s in wanted]
    assert names == sorted(names)


# ------------------------------------------------------------------ labels and rendering


def test_every_label_exists_in_both_languages():
    separators = {"sentence_join", "trend_join"}  # Chinese joins sentences without a space
    for key, (english, chinese) in CATALOGUE.items():
        assert key in separators or (english.strip() and chinese.strip()), key
        # the same placeholders, so a format never fails in one language only
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", chinese)), key


def test_a_count_of_one_reads_in_the_singular():
    en, zh = Labels("en"), Labels("zh")
    assert en.format("sheets_count", count=1) == "1 sheet"
    assert en.format("sheets_count", count=3) == "3 sheets"
    assert zh.format("sheets_count", count=1) == "共 1 份"
    assert en.format("agenda_more_gaps", n=1).startswith("One more gap:")
    assert en.format("agenda_more_gaps", n=2).startswith("The other 2 gaps:")


def test_templates_and_renderer_use_only_catalogued_labels():
    package = ROOT / "kpirules" / "feedback"
    used = set()
    for template in (package / "templates").glob("*.j2"):
        used |= set(re.findall(r"\bL\.(?!format\b|html_lang\b)(\w+)", template.read_text("utf-8")))
    code = (package / "render.py").read_text("utf-8")
    used |= set(re.findall(r"L\[\"(\w+)\"\]", code))
    used |= set(re.findall(r"format\(\s*\"(\w+)\"", code))
    assert used, "the scan found nothing: the pattern is wrong"
    assert used <= CATALOGUE.keys(), used - CATALOGUE.keys()


def test_language_from_locale():
    assert language_for("zh-CN") == "zh"
    assert language_for("zh") == "zh"
    assert language_for("en") == "en"
    assert language_for(None) == "en"


def test_formats_by_unit():
    en, zh = Formatter(Labels("en"), "CNY"), Formatter(Labels("zh"), "CNY")
    assert en.value(0.215961276, "percent") == "21.6%"
    assert en.value(1611400.0, "money") == "CNY 1,611,400"
    assert zh.value(1611400.0, "money") == "1,611,400 元"
    assert en.money(9392.78) == "CNY 9,392.78"
    assert en.value(1.666666667, "days") == "1.67 days"
    assert zh.value(3.0, "days") == "3 天"
    assert en.value(56.0, "hours") == "56 h"
    assert en.value(6.0, "count") == "6"
    assert en.value(math.nan, "count") == "—"
    assert en.change(-0.017, "percent") == "−1.7 pp"
    assert zh.change(0.017, "percent") == "+1.7 个百分点"
    assert en.change(2.67, "days") == "+2.67 days"


def test_markdown_sheet_in_english(sales_sheets):
    text = render([sales_sheets["E1017"]], "md", Labels("en"))
    assert "\n\n\n" not in text and text.endswith(".\n")
    for heading in ("Strengths", "Gaps", "Trend", "Peer comparison", "Improvement actions"):
        assert f"## {heading}" in text
    for heading in ("Incentives", "Feedback cadence", "Suggested agenda"):
        assert f"## {heading}" in text
    assert "| Performance improvement plan |" in text


def test_chinese_policy_gets_chinese_labels(retail):
    policy, results = retail
    labels = Labels(language_for(policy.header.locale))
    subject = sorted(results.totals["subject"])[0]
    sheets = build_sheets(results, one(results, subject))
    text = render(sheets, "md", labels)
    for word in ("优势", "差距", "趋势", "同岗对比", "改进行动", "激励", "反馈节奏", "每周"):
        assert word in text
    assert "Strengths" not in text and "Peer comparison" not in text
    english = render(sheets, "md", Labels("en"))
    assert "## Strengths" in english and "优势" not in english
    assert "导购" in english  # the policy's own words stay as written


def test_html_is_self_contained_and_printable(sales_sheets):
    html = render([sales_sheets["E1017"], sales_sheets["E1010"]], "html", Labels("en"))
    assert "http" not in html
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "<svg" in html and "@media print" in html
    assert "page-break-before: always" in html
    assert "Microsoft YaHei" in html  # a CJK font in the stack
    assert html.count('<article class="sheet">') == 2


def test_names_and_titles_from_data_are_escaped(sales, sales_sheets):
    sheet = sales_sheets["E1017"]
    evil = "<script>alert(1)</script>"
    person = replace(sheet.person, name=evil)
    action = replace(sheet.actions[0], title="Plan | <b>now</b> [x](javascript:y)")
    sheet = replace(sheet, person=person, actions=(action, *sheet.actions[1:]))
    html = render([sheet], "html", Labels("en"))
    assert evil not in html and "<b>now" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render([sheet], "md", Labels("en"))
    assert "<script>" not in md and "<b>" not in md
    assert "&lt;script&gt;" in md
    assert r"Plan \| &lt;b&gt;now&lt;/b&gt; \[x\](javascript:y)" in md


def test_markdown_escaping():
    assert _markdown_text("a|b") == r"a\|b"
    assert _markdown_text("<i>") == "&lt;i&gt;"
    assert _markdown_text("two\nlines") == "two lines"


def test_bundle_has_an_overview_and_every_sheet(sales):
    _, results = sales
    _, wanted = team(results, "E1001")
    sheets = build_sheets(results, wanted)
    md = render(sheets, "md", Labels("en"), manager="Zhu Ming (E1001)")
    assert md.startswith("# Team feedback sheets — Zhu Ming (E1001)")
    assert md.count("## One-on-one feedback sheet") == len(wanted) == 10
    html = render(sheets, "html", Labels("en"), manager="Zhu Ming (E1001)")
    assert html.count('<article class="sheet">') == 10
    assert '<section class="overview">' in html


def test_rendering_is_deterministic(sales):
    _, results = sales
    first = build_sheets(results, everyone(results))
    second = build_sheets(results, everyone(results))
    for output_format in ("md", "html"):
        assert render(first, output_format, Labels("zh")) == render(
            second, output_format, Labels("zh")
        )


# ------------------------------------------------------------------ charts


def test_sparkline_is_fixed_and_leaves_gaps():
    svg = charts.sparkline([1.0, 3.0, math.nan, 2.0], "higher")
    assert svg == charts.sparkline([1.0, 3.0, math.nan, 2.0], "higher")
    assert svg.count("<polyline") == 1  # the gap splits the line; a lone point has none
    assert svg.count("<circle") == 3
    assert all(len(x.split(".")[1]) == 1 for x in re.findall(r"\d+\.\d+", svg))
    assert charts.text_sparkline([1.0, 2.0, math.nan, 8.0]) == "▁▂ █"


def _bar_width(svg: str) -> float:
    return float(re.findall(r'<rect x="[\d.]+" y="5" width="([\d.]+)"', svg)[0])


def test_bullet_puts_better_to_the_right_for_either_direction():
    # order cycle, lower is better: 2 days is better than 5 days, so its bar is longer
    fast = charts.bullet(2.0, 5.0, 3.0, 2.0, "lower", "good")
    slow = charts.bullet(5.0, 5.0, 3.0, 2.0, "lower", "poor")
    assert _bar_width(fast) > _bar_width(slow)
    many = charts.bullet(9.0, 3.0, 6.0, 9.0, "higher", "good")
    few = charts.bullet(3.0, 3.0, 6.0, 9.0, "higher", "middle")
    assert _bar_width(many) > _bar_width(few)


# ------------------------------------------------------------------ files


def test_safe_names_stay_inside_and_never_clash():
    assert safe_name("E1001", "md") == "E1001.md"
    assert safe_name("HC0102", "html") == "HC0102.html"
    assert safe_name("导购01", "md") == "导购01.md"
    escaped = safe_name("../x", "md")
    assert "/" not in escaped and ".." not in escaped and escaped.endswith(".md")
    assert safe_name("a/b", "md") != safe_name("a_b", "md")
    assert safe_name("index", "md") != "index.md"
    assert safe_name("CON", "md") != "CON.md"
    assert safe_name("", "md") not in ("", ".md")
    assert safe_name("..", "md") != "...md"


def test_write_refuses_paths_and_symlinks(tmp_path):
    with pytest.raises(OutputError):
        write(tmp_path, "../escape.md", "x")
    outside = tmp_path / "outside.md"
    outside.write_text("keep", encoding="utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    os.symlink(outside, folder / "E1.md")
    with pytest.raises(OutputError, match="symbolic link"):
        write(folder, "E1.md", "overwritten")
    assert outside.read_text(encoding="utf-8") == "keep"


def test_write_sheets_makes_one_file_per_person_and_an_index(sales, sales_sheets, tmp_path):
    sheets = [sales_sheets[s] for s in ("E1002", "E1003")]
    evil = replace(sheets[1], person=replace(sheets[1].person, subject="../../evil"))
    written = write_sheets(tmp_path / "out", [sheets[0], evil], "md", Labels("en"))
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(p.name for p in written)
    assert "E1002.md" in names and "index.md" in names and len(names) == 3
    assert all(p.resolve().parent == (tmp_path / "out").resolve() for p in written)
    index = (tmp_path / "out" / "index.md").read_text(encoding="utf-8")
    assert "[E1002.md](E1002.md)" in index


def test_write_sheets_for_a_manager_writes_the_bundle_and_each_person(sales_sheets, tmp_path):
    sheets = [sales_sheets[s] for s in ("E1002", "E1003")]
    labels = Labels("en")
    manager = ("E1001", "Zhu Ming (E1001)")
    written = write_sheets(tmp_path / "out", sheets, "md", labels, manager=manager)
    assert [p.name for p in written] == ["E1001.md", "E1002.md", "E1003.md", "index.md"]
    folder = tmp_path / "out"
    bundle = render(sheets, "md", labels, manager="Zhu Ming (E1001)")
    assert (folder / "E1001.md").read_text(encoding="utf-8") == bundle
    assert (folder / "E1003.md").read_text(encoding="utf-8") == render([sheets[1]], "md", labels)
    index = (folder / "index.md").read_text(encoding="utf-8")
    links = [line.split("|")[1].strip() for line in index.splitlines() if "](" in line]
    assert links == ["[E1001.md](E1001.md)", "[E1002.md](E1002.md)", "[E1003.md](E1003.md)"]
    assert "2 sheets" in index  # the bundle is no sheet of its own


def test_write_sheets_names_the_bundle_apart_from_a_person(sales_sheets, tmp_path):
    sheet = sales_sheets["E1002"]
    written = write_sheets(tmp_path, [sheet], "md", Labels("en"), manager=("E1002", "x"))
    names = [p.name for p in written]
    assert len(set(names)) == 3 and "E1002.md" in names
    bundle = names[0]
    assert bundle != "E1002.md" and (tmp_path / bundle).read_text(encoding="utf-8").count("E1002")


# ------------------------------------------------------------------ the command


def test_cli_one_subject_to_stdout(sales_sheets):
    result = cli(str(SALES), "--data", str(SALES / "data.yaml"), "--subject", "E1017", *CLI_DATES)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render([sales_sheets["E1017"]], "md", Labels("en"), as_of="2027-01-04")
    assert "Data as of 2027-01-04." in result.stdout


def test_cli_manager_bundle_is_byte_identical_twice(sales, tmp_path):
    _, results = sales
    totals = results.totals
    team = totals[(totals["manager"] == "E1001") & (totals["period"] == "2026-Q4")]
    files = ["E1001.html", *sorted(f"{s}.html" for s in set(team["subject"]))]
    assert len(files) >= 6  # the bundle and a page per person
    outputs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        args = ["--manager", "E1001", "--format", "html", "--lang", "zh", "-o", str(folder)]
        result = cli(str(SALES), "--data", str(SALES / "data.yaml"), *args, *CLI_DATES)
        assert result.exit_code == 0, result.stderr
        people = len(files) - 1  # each person's sheet besides the bundle, counted by hand
        assert f"wrote a team bundle, {people} sheets and an index: {people + 2} files" in (
            result.stderr
        )
        assert sorted(p.name for p in folder.iterdir()) == [*files, "index.html"]
        outputs.append([(folder / name).read_bytes() for name in files])
    assert outputs[0] == outputs[1]
    index = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert [name for name in files if f'<a href="{name}">' in index] == files
    outputs = [bundle for bundle, *_ in outputs]
    text = outputs[0].decode("utf-8")
    assert '<html lang="zh-CN">' in text and "团队绩效反馈表 —— Zhu Ming(E1001)" in text


def test_cli_everyone_into_a_folder(sales, tmp_path):
    _, results = sales
    folder = tmp_path / "sheets"
    result = cli(str(SALES), "--data", str(SALES / "data.yaml"), "-o", str(folder), *CLI_DATES)
    assert result.exit_code == 0, result.stderr
    people = sorted(results.totals["subject"].unique())
    expected = sorted([f"{p}.md" for p in people] + ["index.md"])
    assert sorted(p.name for p in folder.iterdir()) == expected
    assert f"wrote {len(people)} sheets and an index" in result.stderr


def test_cli_chinese_policy_defaults_to_chinese_and_names_the_manager(retail):
    _, results = retail
    subject = sorted(results.totals["subject"])[0]
    data = str(RETAIL / "data.yaml")
    zh = cli(str(RETAIL), "--data", data, "--subject", subject, *CLI_DATES)
    assert zh.exit_code == 0, zh.stderr
    assert "## 优势" in zh.stdout and "## 反馈节奏" in zh.stdout
    # The store manager is on no scorecard: the name comes from the roster file itself.
    roster = pd.read_excel(RETAIL / "data" / "huacai_roster.xlsx", sheet_name="花名册", dtype=str)
    manager = results.totals.loc[results.totals["subject"] == subject, "manager"].iloc[0]
    name = roster.set_index("工号").loc[manager, "姓名"]
    assert manager not in set(results.totals["subject"])
    assert f"| 直属上级 | {name}({manager}) |" in zh.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subject", "E9999"], "no one with id 'E9999'"),
        (["--manager", "E9999"], "no one evaluated reports to manager 'E9999'"),
        (["--subject", "E1025", "--period", "2026-Q4"], "'E1025' was not evaluated in 2026-Q4"),
        (["--subject", "E1001", "--period", "2027-Q1"], "outside the policy's range"),
    ],
)
def test_cli_bad_subject_manager_or_period_exits_1(args, message):
    result = cli(str(SALES), "--data", str(SALES / "data.yaml"), *args, *CLI_DATES)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--subject", "E1001", "--manager", "E1001"],
        [],  # everyone, but nowhere to put several files
        ["--subject", "E1001", "--format", "pdf"],
        ["--subject", "E1001", "--lang", "fr"],
    ],
)
def test_cli_usage_errors_exit_2(args):
    result = cli(str(SALES), "--data", str(SALES / "data.yaml"), *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_cli_output_onto_a_file_is_a_usage_error(tmp_path):
    existing = tmp_path / "file.md"
    existing.write_text("x", encoding="utf-8")
    args = ["--subject", "E1001", "-o", str(existing)]
    result = cli(str(SALES), "--data", str(SALES / "data.yaml"), *args)
    assert result.exit_code == 2
    assert existing.read_text(encoding="utf-8") == "x"


def test_cli_unwritable_folder_or_missing_data_exits_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    args = ["--subject", "E1001", "-o", str(blocker / "sub"), *CLI_DATES]
    result = cli(str(SALES), "--data", str(SALES / "data.yaml"), *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("kpirules: cannot create")
    missing = cli(str(SALES), "--data", str(tmp_path / "none.yaml"), "--subject", "E1001")
    assert missing.exit_code == 1
    assert "none.yaml" in missing.stderr and "Traceback" not in missing.output


def test_copies_of_the_population_get_the_same_sheets(sales):
    """Sheets for 20× the flagship population, built in one pass over the frames: each
    copy of a person gets their sheet, with the same gaps and the same peer medians."""
    _, results = sales

    def blown(frame: pd.DataFrame, copies: int, columns=("subject", "manager", "owner")):
        parts = []
        for i in range(copies):
            part = frame.copy()
            for column in columns:
                if column in part:
                    known = part[column].notna()
                    part[column] = part[column].astype(object)
                    part.loc[known, column] = part.loc[known, column].astype(str) + f"-{i}"
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    copies = 20
    big = replace(
        results,
        indicators=blown(results.indicators, copies),
        scores=blown(results.scores, copies),
        totals=blown(results.totals, copies),
        actions=blown(results.actions, copies),
        payouts=blown(results.payouts, copies),
    )
    small = build_sheets(results, everyone(results))
    sheets = build_sheets(big, everyone(big))
    assert len(sheets) == copies * len(small)
    # the same person in copy 7 has the same sheet numbers (peers: 20 copies of each peer)
    twin = next(s for s in sheets if s.person.subject == "E1017-7")
    original = next(s for s in small if s.person.subject == "E1017")
    assert [g.indicator for g in twin.gaps] == [g.indicator for g in original.gaps]
    assert [g.peers.median for g in twin.gaps] == [g.peers.median for g in original.gaps]


def test_html_keeps_dates_whole_and_text_escaped(sales_sheets):
    from kpirules.feedback.render import _keep_dates

    out = str(_keep_dates("<b>due 2027-03-01</b>, 2026-Q4; 2026-2027"))
    assert out == (
        '&lt;b&gt;due <span class="date">2027-03-01</span>&lt;/b&gt;, '
        '<span class="date">2026-Q4</span>; 2026-2027'
    )
    sheet = sales_sheets["E1017"]
    html = render([sheet], "html", Labels("en"))
    due = [a.due for a in sheet.actions if a.due]
    assert due and all(f'<td class="date">{d}</td>' in html for d in due)
    assert ".date { white-space: nowrap; }" in html
    assert "div.part" in html and html.count('<div class="part">') >= 4
