"""Every word the HR workbook writes itself, in English and in Chinese.

The sheet builders in kpirules.report take all their text from here: sheet names, titles,
captions, column headers, and the product's own words that land in cells (Yes/No,
severities, scorecard statuses, action kinds, data-quality checks). What comes from the
policy or the data (scorecard and indicator labels, names, ratings, action titles) is
written as it is. The Chinese is worded as an HR team in China would say it.

Entries with `{placeholders}` are filled by `ReportLabels.format`. Groups of words that
translate a value (`kind_plan`, `severity_error`, …) are looked up by
`ReportLabels.words`, which leaves a value the catalogue does not know as it is. The
English words for values are the values themselves, so an English workbook shows
exactly what the policy and `kpirules eval` call them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kpirules.i18n import Language, check_language

EN: dict[str, str] = {
    # ------------------------------------------------------------ document
    "title": "KPI report: {policy}",
    "summary_subtitle": "{periods} · as of {date}",
    "periods_none": "none",
    "periods_range": "{first} to {last}",
    "yes": "Yes",
    "unit_days": "days",
    "unit_hours": "h",
    "unit_minutes": "min",
    "owner_hr": "HR",
    "no": "No",
    "total_row": "Total",
    # ------------------------------------------------------------ sheet names
    "sheet_summary": "Summary",
    "sheet_actions": "Actions",
    "sheet_goals": "Goals",
    "sheet_quality": "Data quality",
    # ------------------------------------------------------------ summary: the policy
    "caption_policy": "Policy",
    "about_item": "Item",
    "about_value": "Value",
    "about_policy": "Policy",
    "about_version": "Version",
    "about_cadence": "Cadence",
    "about_periods": "Periods",
    "about_as_of": "As of",
    "about_currency": "Currency",
    "about_status": "Status",
    "about_written_by": "Written by",
    "run_evaluated": "evaluated",
    "run_blocked": "stopped: data-quality errors (see the {sheet} sheet)",
    "cadence_monthly": "monthly",
    "cadence_quarterly": "quarterly",
    "cadence_yearly": "yearly",
    # ------------------------------------------------------------ summary: key figures
    "caption_figures": "Key figures",
    "figure_measure": "Measure",
    "figure_value": "Value",
    "figure_people": "People",
    "figure_results": "Scorecard results (person × period × scorecard)",
    "figure_with_total": "With a total",
    "figure_without_total": "Without a total (missing data)",
    "figure_payout_total": "Payout total",
    "figure_actions": "Actions",
    "figure_findings": "Data-quality findings",
    # ------------------------------------------------------------ summary: tables
    "caption_distribution": "Rating distribution against the guidance",
    "caption_by_incentive": "Payouts by incentive",
    "caption_by_scorecard": "Payouts by scorecard (all periods)",
    "caption_by_kind": "Actions by kind",
    "caption_by_severity": "Data-quality findings",
    "caption_accounting": "Row accounting: every row read is used or excluded",
    "guidance_most": "at most {share}",
    "guidance_least": "at least {share}",
    # ------------------------------------------------------------ column headers
    "col_id": "ID",
    "col_name": "Name",
    "col_department": "Department",
    "col_role": "Role",
    "col_manager": "Manager",
    "col_manager_name": "Manager name",
    "col_period": "Period",
    "col_scorecard": "Scorecard",
    "col_rating": "Rating",
    "col_people": "People",
    "col_share": "Share",
    "col_guidance": "Guidance",
    "col_outside_guidance": "Outside guidance",
    "col_incentive": "Incentive",
    "col_people_paid": "People paid",
    "col_gate_failed": "Gate not passed",
    "col_capped": "Capped",
    "col_amount": "Amount",
    "col_kind": "Kind",
    "col_actions": "Actions",
    "col_severity": "Severity",
    "col_findings": "Findings",
    "col_source": "Source",
    "col_file": "File",
    "col_rows_read": "Rows read",
    "col_rows_used": "Rows used",
    "col_rows_excluded": "Rows excluded",
    "col_score": "{indicator}: score ({weight})",
    "col_total": "Total",
    "col_status": "Status",
    "col_payout": "Payout",
    "col_title": "Title",
    "col_owner": "Owner",
    "col_owner_name": "Owner name",
    "col_due": "Due",
    "col_reason": "Reason",
    "col_origin": "From",
    "col_rule": "Rule",
    "col_goal": "Goal",
    "col_label": "Label",
    "col_owner_level": "Owner level",
    "col_indicator": "Indicator",
    "col_value": "Value",
    "col_operator": "Operator",
    "col_target": "Target",
    "col_attainment": "Attainment",
    "col_met": "Met",
    "col_deadline": "Deadline period",
    "col_objective": "Objective",
    "col_goals": "Goals",
    "col_row": "Row",
    "col_column": "Column",
    "col_check": "Check",
    "col_message": "Message",
    # Row accounting: rows excluded by each check, one column per check.
    "excluded_null_key": "Excluded: null key",
    "excluded_type_mismatch": "Excluded: type mismatch",
    "excluded_null_value": "Excluded: null value",
    "excluded_not_allowed": "Excluded: not allowed",
    "excluded_duplicate_key": "Excluded: duplicate key",
    "excluded_unknown_subject": "Excluded: unknown subject",
    "excluded_out_of_range": "Excluded: out of range",
    "excluded_other": "Excluded: {check}",
    # ------------------------------------------------------------ scorecard sheets
    "scorecard_subtitle": (
        "Scorecard {card} · {people} people · {periods} · scores in points, weights after "
        "each score header"
    ),
    "status_join": ", ",
    "status_complete": "complete",
    "status_reweighted": "reweighted",
    "status_filled": "filled",
    "status_incomplete": "incomplete",
    "status_gate failed": "gate failed",
    # ------------------------------------------------------------ actions
    "actions_title": "Actions",
    "actions_subtitle": "{count} actions · due dates are real dates",
    "kind_training": "training",
    "kind_coaching": "coaching",
    "kind_plan": "plan",
    "kind_review": "review",
    "kind_recognize": "recognize",
    "kind_nominate": "nominate",
    "origin": "{block} {name}",
    "block_incentive": "incentive",
    "block_improvement": "improvement",
    # ------------------------------------------------------------ goals
    "goals_title": "Goal attainment",
    "caption_goals": "Goals: attainment at the owner's level",
    "caption_objectives": "Objectives: mean attainment of their goals, each at most 100%",
    "level_company": "company",
    # ------------------------------------------------------------ data quality
    "quality_subtitle": "{count} findings",
    "caption_findings": "Findings (row numbers as in the file, counting the header as row 1)",
    "severity_error": "error",
    "severity_warning": "warning",
    "severity_info": "info",
    "check_missing_column": "missing_column",
    "check_extra_column": "extra_column",
    "check_type_mismatch": "type_mismatch",
    "check_null_value": "null_value",
    "check_not_allowed": "not_allowed",
    "check_null_key": "null_key",
    "check_duplicate_key": "duplicate_key",
    "check_unknown_subject": "unknown_subject",
    "check_out_of_range": "out_of_range",
    "check_stale": "stale",
    "check_empty_source": "empty_source",
    "check_sheet": "sheet",
    "check_merged_cells": "merged_cells",
    "check_totals_row": "totals_row",
}

ZH: dict[str, str] = {
    # ------------------------------------------------------------ document
    "title": "KPI 绩效报告:{policy}",
    "summary_subtitle": "{periods} · 数据截至 {date}",
    "periods_none": "无",
    "periods_range": "{first} 至 {last}",
    "yes": "是",
    "unit_days": "天",
    "unit_hours": "小时",
    "unit_minutes": "分钟",
    "owner_hr": "人力资源部",
    "no": "否",
    "total_row": "合计",
    # ------------------------------------------------------------ sheet names
    "sheet_summary": "汇总",
    "sheet_actions": "行动清单",
    "sheet_goals": "目标达成",
    "sheet_quality": "数据质量",
    # ------------------------------------------------------------ summary: the policy
    "caption_policy": "方案信息",
    "about_item": "项目",
    "about_value": "内容",
    "about_policy": "考核方案",
    "about_version": "版本",
    "about_cadence": "考核周期",
    "about_periods": "考核期",
    "about_as_of": "数据截至",
    "about_currency": "币种",
    "about_status": "状态",
    "about_written_by": "生成工具",
    "run_evaluated": "已完成考核计算",
    "run_blocked": "已中止:数据存在质量错误(详见“{sheet}”表)",
    "cadence_monthly": "月度",
    "cadence_quarterly": "季度",
    "cadence_yearly": "年度",
    # ------------------------------------------------------------ summary: key figures
    "caption_figures": "关键数据",
    "figure_measure": "统计项",
    "figure_value": "数值",
    "figure_people": "考核人数",
    "figure_results": "考核结果数(人 × 考核期 × 考核表)",
    "figure_with_total": "有总分",
    "figure_without_total": "无总分(数据缺失)",
    "figure_payout_total": "奖金总额",
    "figure_actions": "行动数",
    "figure_findings": "数据质量问题数",
    # ------------------------------------------------------------ summary: tables
    "caption_distribution": "评级分布与指导比例对照",
    "caption_by_incentive": "各激励项目奖金",
    "caption_by_scorecard": "各考核表奖金(全部考核期)",
    "caption_by_kind": "各类行动数",
    "caption_by_severity": "数据质量问题(按严重程度)",
    "caption_accounting": "行数核对:读入的每一行均已使用或剔除",
    "guidance_most": "不超过 {share}",
    "guidance_least": "不低于 {share}",
    # ------------------------------------------------------------ column headers
    "col_id": "员工编号",
    "col_name": "姓名",
    "col_department": "部门",
    "col_role": "岗位",
    "col_manager": "直属上级编号",
    "col_manager_name": "直属上级姓名",
    "col_period": "考核期",
    "col_scorecard": "考核表",
    "col_rating": "评级",
    "col_people": "人数",
    "col_share": "占比",
    "col_guidance": "指导比例",
    "col_outside_guidance": "超出指导比例",
    "col_incentive": "激励项目",
    "col_people_paid": "获发人数",
    "col_gate_failed": "未达门槛人数",
    "col_capped": "封顶人数",
    "col_amount": "金额",
    "col_kind": "类型",
    "col_actions": "行动数",
    "col_severity": "严重程度",
    "col_findings": "问题数",
    "col_source": "数据源",
    "col_file": "文件",
    "col_rows_read": "读入行数",
    "col_rows_used": "使用行数",
    "col_rows_excluded": "剔除行数",
    "col_score": "{indicator}:得分(权重 {weight})",
    "col_total": "总分",
    "col_status": "状态",
    "col_payout": "奖金",
    "col_title": "行动内容",
    "col_owner": "负责人",
    "col_owner_name": "负责人姓名",
    "col_due": "完成期限",
    "col_reason": "触发原因",
    "col_origin": "来源",
    "col_rule": "规则位置",
    "col_goal": "目标",
    "col_label": "名称",
    "col_owner_level": "责任层级",
    "col_indicator": "指标",
    "col_value": "实际值",
    "col_operator": "比较方式",
    "col_target": "目标值",
    "col_attainment": "达成率",
    "col_met": "是否达成",
    "col_deadline": "截止考核期",
    "col_objective": "战略目标",
    "col_goals": "目标数",
    "col_row": "行号",
    "col_column": "列",
    "col_check": "检查项",
    "col_message": "说明",
    "excluded_null_key": "剔除:主键为空",
    "excluded_type_mismatch": "剔除:类型不符",
    "excluded_null_value": "剔除:必填项为空",
    "excluded_not_allowed": "剔除:取值不允许",
    "excluded_duplicate_key": "剔除:主键重复",
    "excluded_unknown_subject": "剔除:查无此人",
    "excluded_out_of_range": "剔除:超出范围",
    "excluded_other": "剔除:{check}",
    # ------------------------------------------------------------ scorecard sheets
    "scorecard_subtitle": (
        "考核表 {card} · {people} 人 · {periods} · 得分以分计,权重见各得分列标题"
    ),
    "status_join": ",",
    "status_complete": "数据完整",
    "status_reweighted": "权重已重新分配",
    "status_filled": "缺数据按规则计分",
    "status_incomplete": "数据不完整",
    "status_gate failed": "未通过考核门槛",
    # ------------------------------------------------------------ actions
    "actions_title": "改进与表彰行动",
    "actions_subtitle": "共 {count} 项行动 · 完成期限为日期格式",
    "kind_training": "培训",
    "kind_coaching": "辅导",
    "kind_plan": "改进计划",
    "kind_review": "原因分析",
    "kind_recognize": "表彰",
    "kind_nominate": "提名",
    "origin": "{block}:{name}",
    "block_incentive": "激励方案",
    "block_improvement": "改进方案",
    # ------------------------------------------------------------ goals
    "goals_title": "目标达成情况",
    "caption_goals": "目标:按责任层级的达成情况",
    "caption_objectives": "战略目标:所含目标的平均达成率(每个目标最多按 100% 计)",
    "level_company": "公司",
    # ------------------------------------------------------------ data quality
    "quality_subtitle": "共 {count} 个问题",
    "caption_findings": "问题明细(行号与文件一致,表头算第 1 行)",
    "severity_error": "错误",
    "severity_warning": "警告",
    "severity_info": "提示",
    "check_missing_column": "缺少列",
    "check_extra_column": "多余列",
    "check_type_mismatch": "类型不符",
    "check_null_value": "必填项为空",
    "check_not_allowed": "取值不允许",
    "check_null_key": "主键为空",
    "check_duplicate_key": "主键重复",
    "check_unknown_subject": "查无此人",
    "check_out_of_range": "超出范围",
    "check_stale": "数据未及时更新",
    "check_empty_source": "数据为空",
    "check_sheet": "读取的工作表",
    "check_merged_cells": "合并单元格",
    "check_totals_row": "合计行",
}

REPORT_LABELS: dict[Language, dict[str, str]] = {"en": EN, "zh": ZH}


@dataclass(frozen=True)
class ReportLabels:
    """The workbook's words in one language: `L["col_id"]`, `L.format("title", policy=…)`,
    `L.words("kind", actions["kind"])`."""

    lang: Language

    def __post_init__(self) -> None:
        check_language(self.lang)

    def __getitem__(self, key: str) -> str:
        return REPORT_LABELS[self.lang][key]

    def format(self, key: str, **values: object) -> str:
        return self[key].format(**values)

    def word(self, group: str, value: str) -> str:
        """`value` in this language (the `group_value` entry), or as it is if unknown."""
        return REPORT_LABELS[self.lang].get(f"{group}_{value}", value)

    def words(self, group: str, values: pd.Series) -> pd.Series:
        """`word` for every value of a column, missing values kept missing. Each distinct
        value is looked up once: the columns are long and repetitive."""
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        translated = [self.word(group, str(value)) for value in uniques]
        out = pd.Series([*translated, None], dtype=object).to_numpy()[codes]
        return pd.Series(out, dtype=object)
