"""`kpirules report`: the HR workbook, opened with openpyxl and checked cell by cell
against values worked out independently with plain pandas."""

from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import kpirules
from kpirules import xlsx
from kpirules.cli import main
from kpirules.engine import evaluate

ROOT = Path(__file__).resolve().parent.parent
SALES = ROOT / "policies" / "sales"
ZH = ROOT / "policies" / "zh_retail"
AS_OF = "2027-01-04"
SHEETS = ["Summary", "Sales representative", "Sales manager", "Actions", "Goals", "Data quality"]
HEADER_ROW = 4  # title, subtitle, blank, header


def _report(tmp: Path, policy: Path, *extra: str) -> tuple[object, Path]:
    out = tmp / f"{policy.name}{'-'.join(extra)}.xlsx"
    args = ["report", str(policy), "--data", str(policy / "data.yaml"), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--as-of", AS_OF, *extra])
    return result, out


@pytest.fixture(scope="module")
def sales(tmp_path_factory):
    result, out = _report(tmp_path_factory.mktemp("report"), SALES)
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(out), out


@pytest.fixture(scope="module")
def results():
    policy = kpirules.load(SALES)
    return evaluate(policy, SALES / "data.yaml", as_of=date(2027, 1, 4))


def _table(sheet, header_row: int) -> pd.DataFrame:
    """The rows under a header row, up to the first empty row."""
    rows = sheet.iter_rows(min_row=header_row, values_only=True)
    header = [h for h in next(rows) if h is not None]
    body = []
    for row in rows:
        if all(v is None for v in row):
            break
        body.append(row[: len(header)])
    return pd.DataFrame(body, columns=header)


def _header_row(sheet, caption: str) -> int:
    """The header row of the table under a caption in column A."""
    for (cell,) in sheet.iter_rows(min_col=1, max_col=1):
        if cell.value == caption:
            return cell.row + 1
    raise AssertionError(f"no caption {caption!r}")


# ------------------------------------------------------------------ structure


def test_sheet_names_in_order(sales):
    book, _ = sales
    assert book.sheetnames == SHEETS


def test_scorecard_header_row(sales):
    sheet = sales[0]["Sales representative"]
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header[:7] == ["ID", "Name", "Department", "Role", "Manager", "Manager name", "Period"]
    assert header[7] == "New customers won"
    assert header[8] == "New customers won: score (30%)"
    assert header[-5:] == ["Total", "Rating", "Status", "Payout", "Actions"]
    assert sheet["A1"].value == "Sales representative"
    assert sheet["A4"].font.b  # header style: bold on a fill
    assert sheet["A4"].fill.fgColor.rgb == "FF1F4E78"


def test_frozen_headers_and_filters(sales):
    book, _ = sales
    assert book["Sales representative"].freeze_panes == "C5"  # header + id and name
    assert book["Actions"].freeze_panes == "C5"
    assert book["Summary"].freeze_panes is None
    rows = book["Sales representative"].max_row
    assert book["Sales representative"].auto_filter.ref == f"A4:V{rows}"


def test_column_widths_follow_content(sales):
    sheet = sales[0]["Actions"]
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    titles = [c.value for c in sheet["G"][HEADER_ROW:]]
    assert widths["G"] >= max(len(t) for t in titles)  # the longest action title fits
    assert widths["A"] < widths["G"]


# ------------------------------------------------------------------ values


def test_person_payout_matches_the_payouts(sales, results):
    frame = _table(sales[0]["Sales representative"], HEADER_ROW)
    mine = frame[frame["ID"] == "E1002"]
    expected = results.payouts.loc[results.payouts["subject"] == "E1002", "amount"].sum()
    assert len(mine) == 4
    assert mine["Payout"].sum() == pytest.approx(expected, abs=0.005)
    assert list(mine["Period"]) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def test_indicator_value_matches_the_raw_orders(sales):
    """E1002's Q1 revenue, summed from the CRM export with pandas alone; rows whose
    amount, market, customer or date do not pass the data checks are left out."""
    orders = pd.read_csv(SALES / "data" / "crm_closed_orders.csv", dtype=str)
    amount = pd.to_numeric(orders["amount"], errors="coerce")
    closed = pd.to_datetime(orders["closed_on"], errors="coerce", format="%Y-%m-%d")
    valid = (
        amount.notna()
        & orders["market"].isin(["core", "new"])
        & orders["customer_id"].notna()
        & (
            pd.to_numeric(orders["processing_days"], errors="coerce").notna()
            | orders["processing_days"].isna()
        )
    )
    quarter = (closed >= "2026-01-01") & (closed <= "2026-03-31")
    expected = amount[valid & quarter & (orders["rep_id"] == "E1002")].sum()
    frame = _table(sales[0]["Sales representative"], HEADER_ROW)
    row = frame[(frame["ID"] == "E1002") & (frame["Period"] == "2026-Q1")].iloc[0]
    assert row["Quarterly revenue"] == pytest.approx(expected)


def test_actions_sheet_lists_every_action(sales, results):
    book, _ = sales
    frame = _table(book["Actions"], HEADER_ROW)
    assert len(frame) == len(results.actions)
    kinds = _table(book["Summary"], _header_row(book["Summary"], "Actions by kind"))
    plan = kinds.loc[kinds["Kind"] == "plan", "Actions"].iloc[0]
    assert plan == (results.actions["kind"] == "plan").sum()
    assert (frame["Kind"] == "plan").sum() == plan
    # Scorecards by their labels, as on the summary and the sheet names.
    assert set(frame["Scorecard"]) == {"Sales representative", "Sales manager"}
    # Owners are named: a person from the roster, HR as the function it is.
    hr = frame[frame["Owner"] == "hr"]
    assert len(hr) == (results.actions["owner"] == "hr").sum() > 0
    assert set(hr["Owner name"]) == {"HR"}
    assert frame.loc[frame["Owner"] == "E1012", "Owner name"].eq("Sun Zhen").all()


def test_distribution_count_and_breach_fill(sales, results):
    sheet = sales[0]["Summary"]
    row = _header_row(sheet, "Rating distribution against the guidance")
    frame = _table(sheet, row)
    totals = results.totals
    reps_q1 = totals[(totals["scorecard"] == "sales_rep") & (totals["period"] == "2026-Q1")]
    outstanding = (reps_q1["rating"] == "Outstanding").sum()
    hit = frame[
        (frame["Scorecard"] == "Sales representative")
        & (frame["Period"] == "2026-Q1")
        & (frame["Rating"] == "Outstanding")
    ]
    assert hit["People"].iloc[0] == outstanding
    assert hit["Share"].iloc[0] == pytest.approx(outstanding / len(reps_q1), abs=1e-6)
    # The guidance is "at most 15%": a breach is flagged and filled red.
    assert outstanding / len(reps_q1) > 0.15
    assert hit["Outside guidance"].iloc[0] == "Yes"
    excel_row = row + 1 + hit.index[0]
    assert sheet.cell(excel_row, 7).fill.fgColor.rgb == "FFFFC7CE"


def test_payout_total_on_the_summary(sales, results):
    sheet = sales[0]["Summary"]
    frame = _table(sheet, _header_row(sheet, "Key figures"))
    value = frame.loc[frame["Measure"] == "Payout total", "Value"].iloc[0]
    assert value == pytest.approx(results.payouts["amount"].sum(), abs=0.005)
    people = frame.loc[frame["Measure"] == "People", "Value"].iloc[0]
    assert people == results.totals["subject"].nunique()


def test_data_quality_sheet_counts(sales, results):
    sheet = sales[0]["Data quality"]
    frame = _table(sheet, _header_row(sheet, sheet["A1"].value and _findings_caption(sheet)))
    assert len(frame) == len(results.quality)
    assert set(frame["Severity"]) <= {"error", "warning", "info"}
    # The row accounting is on the summary: above the findings it would be frozen too.
    assert not any(
        isinstance(c.value, str) and c.value.startswith("Row accounting") for c in sheet["A"]
    )
    summary = sales[0]["Summary"]
    accounting = _table(summary, _header_row(summary, _caption_starting(summary, "Row accounting")))
    orders = accounting[accounting["Source"] == "orders"].iloc[0]
    raw = len(pd.read_csv(SALES / "data" / "crm_closed_orders.csv", dtype=str))
    assert orders["Rows read"] == raw
    assert orders["Rows used"] + orders["Rows excluded"] == raw


def _caption_starting(sheet, prefix: str) -> str:
    for (cell,) in sheet.iter_rows(min_col=1, max_col=1):
        if isinstance(cell.value, str) and cell.value.startswith(prefix):
            return cell.value
    raise AssertionError(prefix)


def _findings_caption(sheet) -> str:
    return _caption_starting(sheet, "Findings")


def test_goals_sheet_attainment(sales, results):
    sheet = sales[0]["Goals"]
    frame = _table(sheet, _header_row(sheet, "Goals: attainment at the owner's level"))
    goals = results.goals
    row = goals[(goals["goal"] == "fast_fulfilment") & (goals["period"] == "2026-Q1")].iloc[0]
    mine = frame[(frame["Goal"] == "fast_fulfilment") & (frame["Period"] == "2026-Q1")].iloc[0]
    # attainment of a "<=" goal: target / value
    assert mine["Attainment"] == pytest.approx(row["target"] / row["value"], rel=1e-6)
    assert mine["Met"] == ("Yes" if row["value"] <= row["target"] else "No")


# ------------------------------------------------------------------ formats and types


def _column_cells(sheet, header: str) -> list:
    headers = [c.value for c in sheet[HEADER_ROW]]
    column = headers.index(header) + 1
    return [sheet.cell(r, column) for r in range(HEADER_ROW + 1, sheet.max_row + 1)]


def test_number_formats_by_unit(sales):
    sheet = sales[0]["Sales representative"]
    share = _column_cells(sheet, "Revenue share from new markets")[0]
    money = _column_cells(sheet, "Quarterly revenue")[0]
    days = _column_cells(sheet, "Average order processing time")[0]
    payout = _column_cells(sheet, "Payout")[0]
    total = _column_cells(sheet, "Total")[0]
    assert share.number_format == "0.0%"
    assert money.number_format == '#,##0.00 "CNY"'
    assert payout.number_format == '#,##0.00 "CNY"'
    assert days.number_format == '0.0 "days"'
    assert total.number_format == "0.0"
    assert 0 < share.value < 1  # a share stored as a fraction, shown as a percentage


def test_numbers_are_numbers_and_missing_is_empty(sales):
    sheet = sales[0]["Sales representative"]
    for header in ("Total", "Payout", "Quarterly revenue"):
        values = [c.value for c in _column_cells(sheet, header)]
        assert all(isinstance(v, int | float) for v in values if v is not None)
        assert not any(isinstance(v, str) for v in values)
    actions = sales[0]["Actions"]
    due = _column_cells(actions, "Due")
    dated = [c for c in due if c.value is not None]
    assert dated and all(isinstance(c.value, dt.datetime) for c in dated)
    assert dated[0].number_format == "yyyy-mm-dd"
    # Recognitions have no due date: an empty cell, not "None" or "".
    assert any(c.value is None for c in due)


def test_rating_cells_coloured_by_level(sales):
    sheet = sales[0]["Sales representative"]
    fills = {}
    for cell in _column_cells(sheet, "Rating"):
        fills.setdefault(cell.value, cell.fill.fgColor.rgb)
    assert fills["Outstanding"] == "FFC6EFCE"  # best: green
    assert fills["Unsatisfactory"] == "FFFFC7CE"  # worst: red


# ------------------------------------------------------------------ other inputs


@pytest.fixture(scope="module")
def zh_book(tmp_path_factory):
    """zh_retail's workbook with no --lang: its locale, zh-CN, makes it Chinese."""
    result, out = _report(tmp_path_factory.mktemp("zh"), ZH)
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(out)


@pytest.fixture(scope="module")
def zh_results():
    policy = kpirules.load(ZH)
    return evaluate(policy, ZH / "data.yaml", as_of=date(2027, 1, 4))


def test_zh_retail_keeps_chinese_labels(zh_book):
    book = zh_book
    assert book.sheetnames[1] == "门店导购"
    sheet = book["门店导购"]
    header = [c.value for c in sheet[HEADER_ROW]]
    assert "月度销售额" in header
    names = [c.value for c in sheet["B"][HEADER_ROW:]]
    assert "韩春梅" in names
    # Chinese characters are two columns wide each.
    assert sheet.column_dimensions["B"].width >= 2 * max(len(n) for n in names if n)
    assert book["汇总"]["A1"].value == "KPI 绩效报告:华彩服饰门店 KPI 2026"
    assert book.properties.title == "KPI 绩效报告:华彩服饰门店 KPI 2026"


# ------------------------------------------------------------------ language

ZH_SHEETS = ["汇总", "门店导购", "行动清单", "目标达成", "数据质量"]


def test_zh_locale_gives_chinese_sheet_names_and_headers(zh_book):
    assert zh_book.sheetnames == ZH_SHEETS
    header = [c.value for c in zh_book["门店导购"][HEADER_ROW]]
    assert header[:7] == [
        "员工编号",
        "姓名",
        "部门",
        "岗位",
        "直属上级编号",
        "直属上级姓名",
        "考核期",
    ]
    # 销售额 weighs 35% in policy.kpi; its label, 月度销售额, comes from the policy.
    assert header[7:9] == ["月度销售额", "月度销售额:得分(权重 35%)"]
    assert header[-5:] == ["总分", "评级", "状态", "奖金", "行动数"]
    actions = [c.value for c in zh_book["行动清单"][HEADER_ROW]]
    assert actions[:3] == ["员工编号", "姓名", "直属上级编号"]
    assert "完成期限" in actions and "负责人" in actions
    summary = zh_book["汇总"]
    for caption in ("方案信息", "关键数据", "评级分布与指导比例对照", "各考核表奖金(全部考核期)"):
        _header_row(summary, caption)  # each caption is there
    quality = zh_book["数据质量"]
    findings = _table(quality, _header_row(quality, _caption_starting(quality, "问题明细")))
    assert list(findings.columns) == ["数据源", "文件", "行号", "列", "检查项", "严重程度", "说明"]


def test_zh_workbook_names_durations_in_chinese(zh_book):
    """技能成长 is in hours: its cells read 小时 in a Chinese workbook."""
    sheet = zh_book["门店导购"]
    header = [c.value for c in sheet[HEADER_ROW]]
    column = header.index("认证培训学时(近六个月)") + 1
    cell = next(
        c
        for c in sheet.iter_rows(min_row=HEADER_ROW + 1, min_col=column, max_col=column)
        if c[0].value is not None
    )[0]
    assert cell.number_format == '0.0 "小时"'
    assert isinstance(cell.value, (int, float))


def test_zh_workbook_numbers_are_numbers(zh_book, zh_results):
    sheet = zh_book["门店导购"]
    frame = _table(sheet, HEADER_ROW)
    for header in ("月度销售额", "总分", "奖金", "行动数"):
        values = [v for v in frame[header] if v is not None]
        assert values and all(isinstance(v, int | float) for v in values), header
    # The same number formats as in English: CNY amounts, one-decimal scores.
    assert _column_cells(sheet, "奖金")[0].number_format == '#,##0.00 "CNY"'
    assert _column_cells(sheet, "月度销售额")[0].number_format == '#,##0.00 "CNY"'
    assert _column_cells(sheet, "总分")[0].number_format == "0.0"
    pays = zh_results.payouts
    assert frame["奖金"].sum() == pytest.approx(pays["amount"].sum(), abs=0.01)
    figures = _table(zh_book["汇总"], _header_row(zh_book["汇总"], "关键数据"))
    total = figures.loc[figures["统计项"] == "奖金总额", "数值"].iloc[0]
    assert total == pytest.approx(pays["amount"].sum(), abs=0.005)
    people = figures.loc[figures["统计项"] == "考核人数", "数值"].iloc[0]
    assert people == zh_results.totals["subject"].nunique()


def test_zh_workbook_translates_the_products_own_words(zh_book, zh_results):
    """Yes, statuses, kinds and severities are the product's words: in Chinese. Ratings
    and action titles come from the policy and stay as they are."""
    totals, actions = zh_results.totals, zh_results.actions
    frame = _table(zh_book["门店导购"], HEADER_ROW)
    assert (frame["状态"] == "数据完整").sum() == (totals["status"] == "complete").sum() > 0
    assert (frame["状态"] == "缺数据按规则计分").sum() == (totals["status"] == "filled").sum()
    assert set(frame["评级"]) <= {"优秀", "良好", "合格", "待改进", "不合格"}
    listed = _table(zh_book["行动清单"], HEADER_ROW)
    assert (listed["类型"] == "改进计划").sum() == (actions["kind"] == "plan").sum() > 0
    assert (listed["类型"] == "表彰").sum() == (actions["kind"] == "recognize").sum() > 0
    assert "月度销售之星" in set(listed["行动内容"])
    assert set(listed["来源"]) == {"激励方案:月度提成", "改进方案:导购改进"}
    # 优秀 is guided "at most 15%": a month above that is marked 是, the others empty.
    summary = zh_book["汇总"]
    dist = _table(summary, _header_row(summary, "评级分布与指导比例对照"))
    best = dist[dist["评级"] == "优秀"]
    share = (
        totals[totals["rating"] == "优秀"].groupby("period").size()
        / totals.groupby("period").size().reindex(best["考核期"]).to_numpy()
    )
    above = set(share[share > 0.15].index)
    assert above and set(best.loc[best["超出指导比例"] == "是", "考核期"]) == above
    assert set(best["指导比例"]) == {"不超过 15%"}
    assert set(dist["超出指导比例"].dropna()) == {"是"}
    quality = zh_book["数据质量"]
    findings = _table(quality, _header_row(quality, _caption_starting(quality, "问题明细")))
    assert len(findings) == len(zh_results.quality)
    expected = zh_results.quality["severity"].map({"error": "错误", "warning": "警告"})
    assert sorted(findings["严重程度"]) == sorted(expected)


def test_zh_headers_are_not_cut(zh_book):
    """Headers wrap: a short one fits on one line, a long one gets at least 12 columns
    (6 Chinese characters) a line. Widths counted here with unicodedata: wide and
    full-width characters take two columns."""
    checked = 0
    for sheet in zh_book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.fill.fgColor.rgb != "FF1F4E78":  # the header style's fill
                    continue
                text = str(cell.value)
                wide = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
                width = _column_width(sheet, cell.column)
                assert width >= min(wide, 12) + 2, (sheet.title, text, width)
                assert cell.alignment.wrap_text, (sheet.title, text)
                checked += 1
    assert checked > 60


def _column_width(sheet, column: int) -> float:
    """A column's width; openpyxl files neighbours of one width under the first of them."""
    for dimension in sheet.column_dimensions.values():
        if dimension.min <= column <= dimension.max:
            return dimension.width
    raise AssertionError(f"no width set for column {column}")


def test_lang_en_on_a_chinese_policy(tmp_path):
    result, out = _report(tmp_path, ZH, "--lang", "en")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "门店导购", "Actions", "Goals", "Data quality"]
    header = [c.value for c in book["门店导购"][HEADER_ROW]]
    assert header[:3] == ["ID", "Name", "Department"]
    assert header[8] == "月度销售额: score (35%)"  # the policy's label, English around it
    assert book["Summary"]["A1"].value == "KPI report: 华彩服饰门店 KPI 2026"
    frame = _table(book["Actions"], HEADER_ROW)
    assert "plan" in set(frame["Kind"])


def test_api_lang_zh_on_an_english_policy(tmp_path, results):
    from kpirules.report import write_report

    write_report(results, tmp_path / "zh.xlsx", as_of=date(2027, 1, 4), lang="zh")
    book = openpyxl.load_workbook(tmp_path / "zh.xlsx")
    assert book.sheetnames == ["汇总", "Sales representative", "Sales manager", *ZH_SHEETS[2:]]
    header = [c.value for c in book["Sales representative"][HEADER_ROW]]
    assert header[8] == "New customers won:得分(权重 30%)"
    with pytest.raises(ValueError, match="xx"):
        write_report(results, tmp_path / "xx.xlsx", lang="xx")
    assert not (tmp_path / "xx.xlsx").exists()


def test_bad_lang_is_a_usage_error(tmp_path):
    result, out = _report(tmp_path, SALES, "--lang", "xx")
    assert result.exit_code == 2
    assert "--lang" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_both_catalogues_have_the_same_keys_and_placeholders():
    from kpirules.report_labels import REPORT_LABELS

    en, zh = REPORT_LABELS["en"], REPORT_LABELS["zh"]
    assert en.keys() == zh.keys()
    fields = string.Formatter()
    for key in en:
        assert en[key].strip() and zh[key].strip(), key
        names = [{f for _, f, _, _ in fields.parse(text) if f} for text in (en[key], zh[key])]
        assert names[0] == names[1], key


def test_every_label_the_report_uses_is_in_the_catalogue():
    """report.py takes its words from the catalogue: every key it names exists, and no
    column, sheet or caption is a bare string literal."""
    from kpirules.report_labels import REPORT_LABELS

    code = (ROOT / "kpirules" / "report.py").read_text("utf-8")
    used = set(re.findall(r"\bL\[\"(\w+)\"\]", code))
    used |= set(re.findall(r"\bL\.format\(\s*\"(\w+)\"", code))
    assert len(used) > 50, "the scan found too little: the pattern is wrong"
    assert used <= REPORT_LABELS["en"].keys(), used - REPORT_LABELS["en"].keys()
    assert not re.findall(r"_column\(\s*\"", code)  # a header written as a literal
    assert not re.findall(r"Sheet\(\s*\"", code)


def test_language_is_chosen_in_one_place():
    from kpirules import i18n
    from kpirules.feedback import labels

    assert labels.language_for is i18n.language_for
    assert i18n.language_for("zh-TW") == "zh" and i18n.language_for("en-GB") == "en"


def test_one_period(tmp_path_factory):
    result, out = _report(tmp_path_factory.mktemp("period"), SALES, "--period", "2026-Q2")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    frame = _table(book["Sales representative"], HEADER_ROW)
    assert set(frame["Period"]) == {"2026-Q2"}
    policy = kpirules.load(SALES)
    only = evaluate(policy, SALES / "data.yaml", "2026-Q2", as_of=date(2027, 1, 4))
    reps = only.payouts[only.payouts["scorecard"] == "sales_rep"]
    assert frame["Payout"].sum() == pytest.approx(reps["amount"].sum(), abs=0.01)
    # `for 2 periods` rules still see Q1: a plan in Q2 needs a low rating in Q1 too.
    actions = _table(book["Actions"], HEADER_ROW)
    assert (actions["Kind"] == "plan").sum() == (only.actions["kind"] == "plan").sum() > 0


def test_output_must_be_xlsx():
    bad = CliRunner().invoke(
        main, ["report", str(SALES), "--data", str(SALES / "data.yaml"), "-o", "x.csv"]
    )
    assert bad.exit_code == 2
    assert "xlsx" in bad.output


def test_bad_period_is_one_line(tmp_path):
    result, out = _report(tmp_path, SALES, "--period", "2026-Q9")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "Traceback" not in result.output
    assert not out.exists()


def test_same_results_same_bytes_whatever_the_row_order(tmp_path, results):
    from kpirules.report import write_report

    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_report(results, first, as_of=date(2027, 1, 4))
    shuffled = results.__class__(**{**results.__dict__})
    rng = np.random.default_rng(7)
    for part in ("totals", "scores", "payouts", "actions", "goals", "quality", "accounting"):
        frame = getattr(results, part)
        setattr(shuffled, part, frame.iloc[rng.permutation(len(frame))].reset_index(drop=True))
    write_report(shuffled, second, as_of=date(2027, 1, 4))
    assert first.read_bytes() == second.read_bytes()


def test_blocked_results_still_give_a_workbook(tmp_path):
    """Data-quality errors stop scoring: the workbook says so and lists the findings."""
    from kpirules.report import write_report
    from kpirules.results import Results

    quality = pd.DataFrame(
        [["orders", "o.csv", 7, "order_id", "duplicate_key", "error", "duplicate"]],
        columns=["source", "file", "row", "column", "check", "severity", "message"],
    )
    write_report(Results(kpirules.load(SALES), quality=quality, blocked=True), tmp_path / "b.xlsx")
    book = openpyxl.load_workbook(tmp_path / "b.xlsx")
    assert book.sheetnames == SHEETS
    about = _table(book["Summary"], _header_row(book["Summary"], "Policy"))
    status = about.loc[about["Item"] == "Status", "Value"].iloc[0]
    assert status.startswith("stopped: data-quality errors")
    assert book["Sales representative"].max_row == HEADER_ROW  # a header, no rows
    findings = _table(
        book["Data quality"],
        _header_row(book["Data quality"], _findings_caption(book["Data quality"])),
    )
    assert findings["Row"].tolist() == [7] and findings["Severity"].tolist() == ["error"]


# ------------------------------------------------------------------ the writer


def test_sheet_names_are_sanitised_and_unique():
    assert xlsx.sheet_name("Q1/Q2: [draft]*?", []) == "Q1_Q2_ _draft___"
    long = "x" * 40
    first = xlsx.sheet_name(long, [])
    second = xlsx.sheet_name(long, [first])
    assert len(first) == len(second) == 31
    assert first != second and second.endswith("(2)")
    assert xlsx.sheet_name("summary", ["Summary"]) == "summary (2)"  # Excel ignores case


def test_writer_escapes_text_and_never_writes_formulas(tmp_path):
    values = pd.Series(["=1+1", "a & b <c>", "bell\x07", None], dtype=object)
    sheet = xlsx.Sheet("T", xlsx.Table((xlsx.Column("text", values),)))
    xlsx.write_workbook(tmp_path / "t.xlsx", [sheet])
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    cells = [c.value for c in book["T"]["A"]]
    assert cells == ["text", "=1+1", "a & b <c>", "bell"]  # the missing value: no cell
    assert book["T"]["A2"].data_type == "s"  # text, not a formula


def test_writer_continues_long_tables_on_further_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 12)
    values = pd.Series(np.arange(25, dtype="float64"))
    sheet = xlsx.Sheet("Long", xlsx.Table((xlsx.Column("n", values),)))
    xlsx.write_workbook(tmp_path / "long.xlsx", [sheet])
    book = openpyxl.load_workbook(tmp_path / "long.xlsx")
    assert book.sheetnames == ["Long", "Long (2)", "Long (3)"]
    numbers = [
        c.value for name in book.sheetnames for c in book[name]["A"] if isinstance(c.value, int)
    ]
    assert numbers == list(range(25))
    assert all(book[name].max_row <= 12 for name in book.sheetnames)


def test_writer_keeps_text_that_looks_like_a_formula_url_number_or_markup(tmp_path):
    texts = ["=1+1", "http://x", "mailto:a@b", "007", "1e5", "<r><t>x</t></r>", "_x0041_"]
    styles = pd.Series([None, xlsx.Style(fill="FFC7CE"), *[None] * 5], dtype=object)
    columns = (
        xlsx.Column("text", pd.Series(texts, dtype=object), styles=styles),
        xlsx.Column("n", pd.Series(np.arange(len(texts), dtype="float64"))),
    )
    sheet = xlsx.Sheet("T", xlsx.Table(columns), context=(xlsx.Table(columns[:1], "Again"),))
    xlsx.write_workbook(tmp_path / "t.xlsx", [sheet])
    book = openpyxl.load_workbook(tmp_path / "t.xlsx", rich_text=True)
    cells = [c for c in book["T"]["A"] if c.value is not None]
    # the context table (caption, header, rows), then the main table (header, rows)
    assert [str(c.value) for c in cells] == ["Again", "text", *texts, "text", *texts]
    assert all(c.data_type == "s" for c in cells)
    assert cells[-6].value == "http://x" and cells[-6].fill.fgColor.rgb == "FFFFC7CE"
    assert [c.value for c in book["T"]["B"] if isinstance(c.value, int)] == list(range(7))


def test_writer_fixes_the_creation_date(tmp_path):
    sheet = xlsx.Sheet("T", xlsx.Table((xlsx.Column("n", pd.Series([1.0])),)))
    xlsx.write_workbook(tmp_path / "t.xlsx", [sheet], title="KPI")
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert book.properties.created == xlsx.CREATED.replace(tzinfo=None)
    assert book.properties.title == "KPI"


def test_eval_format_xlsx_writes_typed_tables_with_frozen_headers(tmp_path, results):
    out = tmp_path / "eval.xlsx"
    args = ["eval", str(SALES), "--data", str(SALES / "data.yaml"), "--as-of", AS_OF]
    result = CliRunner().invoke(main, [*args, "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "Summary",
        "Distribution",
        "People",
        "Scores",
        "Payouts",
        "Actions",
        "Goals",
        "Objectives",
        "Data quality",
        "Row accounting",
        "Notes",
    ]
    payouts = book["Payouts"]
    assert payouts.freeze_panes == "A2"
    assert payouts["A1"].value == "subject" and payouts["A1"].font.b
    frame = _table(payouts, 1)
    assert list(frame.columns) == list(results.payouts.columns)
    assert frame["amount"].sum() == pytest.approx(results.payouts["amount"].sum(), abs=0.005)
    assert set(map(type, frame["capped"])) == {bool}
    rows = [c.value for c in book["Data quality"]["C"][1:]]  # an Int64 column
    assert rows and all(isinstance(v, int) for v in rows if v is not None)


def test_writer_chunks_rows_without_losing_values_or_styles(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 3)
    numbers = pd.Series([float(n) if n % 4 else np.nan for n in range(10)])
    red = xlsx.Style(number_format="0.0", fill="FFC7CE")
    styles = pd.Series([red if n % 3 == 0 else None for n in range(10)], dtype=object)
    column = xlsx.Column("n", numbers, xlsx.Style(number_format="0.0"), styles)
    xlsx.write_workbook(tmp_path / "c.xlsx", [xlsx.Sheet("C", xlsx.Table((column,)))])
    cells = openpyxl.load_workbook(tmp_path / "c.xlsx")["C"]["A"][1:]
    assert [c.value for c in cells] == [n if n % 4 else None for n in range(10)]
    filled = [c.row - 2 for c in cells if c.fill.fill_type == "solid"]
    assert filled == [n for n in range(10) if n % 3 == 0 and n % 4]  # no cell, no fill
    assert {c.number_format for c in cells if c.value is not None} == {"0.0"}


# ------------------------------------------------------------------ print layout


def test_wrapped_lines_break_at_spaces_between_wide_characters_and_inside_long_words():
    assert xlsx.wrapped_lines("ID", 8) == 1
    assert xlsx.wrapped_lines("", 8) == 1
    # "aaaa" is 4 × 1.05 = 4.2 columns: two fit in 9 (8.7 after the padding), not in 8
    assert xlsx.wrapped_lines("aaaa aaaa", 9.5) == 1
    assert xlsx.wrapped_lines("aaaa aaaa", 8) == 2
    assert xlsx.wrapped_lines("aaaa aaaa aaaa", 5) == 3
    # six Chinese characters are 6 × 2.1 = 12.6 columns: one line in 14, two in 10
    assert xlsx.wrapped_lines("销售额销售额", 14) == 1
    assert xlsx.wrapped_lines("销售额销售额", 10) == 2
    # 30 × 1.05 columns, 9 characters a line in 10 (9.7 after the padding): 4 lines
    assert xlsx.wrapped_lines("x" * 30, 10) == 4
    assert xlsx.wrapped_lines("a\nb", 20) == 2


def test_header_rows_are_as_tall_as_their_wrapped_lines(sales, zh_book):
    sheet = sales[0]["Sales representative"]
    headers = [c.value for c in sheet[HEADER_ROW]]
    widths = [_column_width(sheet, n) for n in range(1, len(headers) + 1)]
    lines = max(xlsx.wrapped_lines(h, w, bold=True) for h, w in zip(headers, widths))
    assert lines >= 3  # "Certified training hours, rolling 4 quarters: score (10%)"
    # XlsxWriter keeps a height in whole pixels (0.75 points)
    assert sheet.row_dimensions[HEADER_ROW].height == pytest.approx(lines * 15 + 2, abs=0.75)
    assert sheet.row_dimensions[HEADER_ROW + 1].height is None  # data rows: the default
    summary = sales[0]["Summary"]
    item = _header_row(summary, "Policy")  # "Item", "Value": one line
    assert summary.row_dimensions[item].height == pytest.approx(17, abs=0.75)
    zh = zh_book["门店导购"]
    assert zh.row_dimensions[HEADER_ROW].height >= 2 * 15 + 2


def test_print_setup(sales):
    book, _ = sales
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.page_setup.paperSize == 9, sheet.title  # A4
        assert sheet.oddFooter.left.text == "&A", sheet.title  # the sheet's name
    card = book["Sales representative"]
    # 22 columns are too wide for a legible page: the pages run across at 75%, with the
    # header row and the ID and name columns on each.
    points = sum(int(_column_width(card, n) * 7 + 5) * 0.75 for n in range(1, 23))
    assert points * 0.75 > 842 - 0.8 * 72
    assert card.page_setup.scale == xlsx.MIN_SCALE
    assert card.print_title_rows == "$4:$4"
    assert card.print_title_cols == "$A:$B"
    assert not card.page_setup.fitToWidth or not card.sheet_properties.pageSetUpPr.fitToPage
    assert book["Summary"].print_title_rows is None  # a sheet of tables, kept whole


def test_goals_and_findings_freeze_only_their_header(sales):
    book, _ = sales
    # title, subtitle, blank, caption, header
    assert book["Goals"].freeze_panes == "A6"
    assert book["Data quality"].freeze_panes == "A6"
    assert book["Goals"].print_title_rows == "$5:$5"


def test_objectives_are_on_the_summary(sales, results):
    sheet = sales[0]["Summary"]
    frame = _table(sheet, _header_row(sheet, _caption_starting(sheet, "Objectives")))
    expected = results.objectives.sort_values(["objective", "period"])
    assert list(frame["Objective"]) == list(expected["objective"])
    assert list(frame["Attainment"]) == pytest.approx(list(expected["attainment"]))
    goals = sales[0]["Goals"]
    assert not any(str(c.value).startswith("Objectives") for c in goals["A"])


def test_summary_page_breaks_keep_small_tables_whole(tmp_path):
    """Three tables of 20 rows: one is 15.75 (caption) + 17 (header) + 300 points; a
    landscape A4 page holds 595 − 1.2 × 72 = 508.6 points less 3%, 493: never two."""

    def table(name: str) -> xlsx.Table:
        return xlsx.Table((xlsx.Column("n", pd.Series(np.arange(20.0))),), name)

    sheet = xlsx.Sheet("S", table("c"), context=(table("a"), table("b")), frozen=False)
    xlsx.write_workbook(tmp_path / "s.xlsx", [sheet])
    book = openpyxl.load_workbook(tmp_path / "s.xlsx")["S"]
    captions = [c.row for c in book["A"] if c.value in ("a", "b", "c")]
    assert captions == [1, 24, 47]  # caption, header, 20 rows, blank, caption, …
    # a break after row N starts the next page with row N + 1: the captions of b and c
    assert [b.id + 1 for b in book.row_breaks.brk] == [24, 47]
    assert book.page_setup.scale in (None, 100)  # XlsxWriter leaves out the default
    assert book.print_title_rows is None
