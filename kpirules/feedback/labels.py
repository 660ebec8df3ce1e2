"""Every word a feedback sheet prints, in English and in Chinese.

Templates and the renderer take all their text from here, so a sheet is never half in one
language. Chinese labels are written as an HR team in China would say them, not translated
word by word. Entries with `{placeholders}` are filled by `Labels.format`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The language choice is shared with the HR workbook; re-exported here for callers that
# import it with the feedback labels.
from kpirules.i18n import LANGUAGES, check_language, language_for

__all__ = ["CATALOGUE", "LANGUAGES", "Labels", "language_for"]

# key → (English, Chinese)
CATALOGUE: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------ document
    "sheet_title": ("One-on-one feedback sheet", "绩效反馈面谈表"),
    "bundle_title": ("Team feedback sheets — {manager}", "团队绩效反馈表 —— {manager}"),
    "index_title": ("Feedback sheets — {policy}", "绩效反馈表 —— {policy}"),
    "team_overview": ("Team overview", "团队概览"),
    "generated_from": (
        "Prepared from policy “{policy}” (version {version}), period {period}.",
        "依据方案《{policy}》(版本 {version})生成,考核期 {period}。",
    ),
    "as_of": ("Data as of {date}.", "数据截至 {date}。"),
    "confidential": (
        "Confidential: for the employee and their manager.",
        "保密:仅供员工本人及其上级使用。",
    ),
    "files_col": ("File", "文件"),
    "sheet_heading": ("{title} — {person}, {period}", "{title} —— {person},{period}"),
    "card_heading": ("{card} — total {total}, {rating}", "{card} —— 总分 {total},评级 {rating}"),
    "card_heading_unrated": ("{card} — total {total}", "{card} —— 总分 {total}"),
    "person": ("{name} ({id})", "{name}({id})"),
    "outcome": ("{total}, {rating}", "{total},{rating}"),
    "labelled": ("{label}: {value}", "{label}:{value}"),
    "sentence_end": (".", "。"),
    "sentence_join": (" ", ""),
    "sheets_count": ("{count} sheets", "共 {count} 份"),
    "sheets_count_one": ("1 sheet", "共 1 份"),
    # ------------------------------------------------------------ header
    "employee": ("Employee", "员工"),
    "id": ("ID", "工号"),
    "name": ("Name", "姓名"),
    "department": ("Department", "部门"),
    "role": ("Role", "岗位"),
    "manager": ("Manager", "直属上级"),
    "scorecard": ("Scorecard", "考核表"),
    "period": ("Period", "考核期"),
    "total": ("Total score", "总分"),
    "rating": ("Rating", "评级"),
    "status": ("Status", "状态"),
    "history": ("Score history", "历期得分"),
    "previous_total": ("previous period {total}", "上期 {total}"),
    "no_total": ("no total (incomplete data)", "无总分(数据不完整)"),
    "none": ("—", "—"),
    # ------------------------------------------------------------ status words
    "status_complete": ("complete", "数据完整"),
    "status_reweighted": (
        "reweighted (an indicator had no data)",
        "已按权重重新分配(有指标缺数据)",
    ),
    "status_filled": ("filled (a missing indicator scored by rule)", "缺数据指标按规则计分"),
    "status_incomplete": ("incomplete", "数据不完整"),
    "status_gate failed": ("a scorecard gate was not met", "未通过考核门槛"),
    # ------------------------------------------------------------ sections
    "strengths": ("Strengths", "优势"),
    "strengths_intro": (
        "Indicators at or beyond target — what to keep doing.",
        "达到或超过目标的指标 —— 值得继续保持。",
    ),
    "gaps": ("Gaps", "差距"),
    "gaps_intro": (
        "Indicators below target, largest lost points first.",
        "未达目标的指标,按损失分数从大到小排列。",
    ),
    "no_target_section": ("Other indicators", "其他指标"),
    "no_target_intro": (
        "Indicators whose scoring has no target point.",
        "评分规则中没有设定目标值的指标。",
    ),
    "missing_section": ("No data this period", "本期无数据"),
    "missing_intro": (
        "Indicators without a value; the scorecard's missing-data rule applied.",
        "以下指标本期没有数值,已按考核表的缺数据规则处理。",
    ),
    "no_strengths": ("No indicator reached its target this period.", "本期没有指标达到目标。"),
    "no_gaps": ("No indicator is below its target.", "没有低于目标的指标。"),
    "trend": ("Trend", "趋势"),
    "trend_intro": ("Each indicator over the periods up to this one.", "各指标截至本期的走势。"),
    "peers": ("Peer comparison", "同岗对比"),
    "peers_intro": (
        "Against everyone on the same scorecard this period; percentile 100 is the best.",
        "与本期同一考核表的所有人对比;百分位 100 为最好。",
    ),
    "actions": ("Improvement actions", "改进行动"),
    "actions_intro": (
        "Triggered by the policy this period: the support offered.",
        "本期按方案触发的改进措施,即公司提供的支持。",
    ),
    "no_actions": ("No improvement action was triggered.", "本期未触发改进行动。"),
    "recognition": ("Recognition", "表彰与认可"),
    "incentives": ("Incentives", "激励"),
    "no_incentives": ("No incentive applies this period.", "本期不适用激励。"),
    "cadence": ("Feedback cadence", "反馈节奏"),
    "no_cadence": (
        "The policy sets no feedback cadence for this scorecard.",
        "方案未给该考核表设定反馈节奏。",
    ),
    "agenda": ("Suggested agenda", "面谈建议议程"),
    "agenda_intro": (
        "Constructive and specific: what went well, what to work on, what support is offered.",
        "具体、建设性:肯定做得好的,明确要改进的,说明能提供的支持。",
    ),
    # ------------------------------------------------------------ columns
    "indicator": ("Indicator", "指标"),
    "value": ("Value", "实际值"),
    "threshold": ("Threshold", "门槛值"),
    "target": ("Target", "目标值"),
    "stretch": ("Stretch", "挑战值"),
    "score": ("Score", "得分"),
    "weight": ("Weight", "权重"),
    "contribution": ("Points", "计分"),
    "gap_to_target": ("Gap to target", "距目标"),
    "lost_points": ("Points lost vs target", "较目标少得"),
    "chart": ("Chart", "图示"),
    "change": ("Change", "较上期"),
    "direction": ("Direction", "方向"),
    "values": ("Values", "各期数值"),
    "peer_count": ("Peers", "同岗人数"),
    "peer_median": ("Peer median", "同岗中位数"),
    "percentile": ("Percentile", "百分位"),
    "department_median": ("Department median", "部门中位数"),
    "benchmark": ("Benchmark", "外部基准"),
    "kind": ("Kind", "类型"),
    "title": ("Action", "措施"),
    "owner": ("Owner", "负责人"),
    "due": ("Due", "完成期限"),
    "reason": ("Why", "触发原因"),
    "incentive": ("Incentive", "激励项目"),
    "amount": ("Amount", "金额"),
    "before_limits": ("Before limits", "封顶/折算前"),
    "notes": ("Notes", "说明"),
    "meeting": ("Meeting", "沟通形式"),
    "frequency": ("How often", "频率"),
    "sheets": ("Sheets", "反馈表"),
    "team_gaps": ("Gaps", "差距项"),
    "team_actions": ("Actions", "改进行动"),
    "team_payout": ("Incentive", "激励金额"),
    # ------------------------------------------------------------ trend words
    "direction_improving": ("improving overall", "整体向好"),
    "direction_declining": ("declining overall", "整体下滑"),
    "direction_flat": ("flat overall", "整体持平"),
    "direction_n/a": ("not enough data for a trend", "数据不足,无法判断趋势"),
    "trend_join": ("; ", ";"),
    "streak_up": ("better {n} periods in a row", "连续 {n} 期改善"),
    "streak_down": ("worse {n} periods in a row", "连续 {n} 期下滑"),
    "streak_up_one": ("better than last period", "较上期改善"),
    "streak_down_one": ("worse than last period", "较上期下滑"),
    # ------------------------------------------------------------ payouts
    "gate_closed": ("gate not passed: no payout", "未达发放门槛,本期不发放"),
    "capped": ("capped", "已封顶"),
    "prorated": ("prorated to {share} of the period", "按在岗时间折算 {share}"),
    # ------------------------------------------------------------ action kinds
    "kind_training": ("Training", "培训"),
    "kind_coaching": ("Coaching", "辅导"),
    "kind_plan": ("Improvement plan", "改进计划"),
    "kind_review": ("Review", "原因分析"),
    "kind_recognize": ("Recognition", "表彰"),
    "kind_nominate": ("Nomination", "提名"),
    "owner_hr": ("HR", "人力资源部"),
    "owner_employee": ("the employee", "员工本人"),
    "owner_manager": ("the manager", "直属上级"),
    # ------------------------------------------------------------ cadence
    "meeting_check_in": ("Check-in", "日常跟进"),
    "meeting_one_on_one": ("One-on-one", "一对一面谈"),
    "meeting_review": ("Formal review", "正式评估"),
    "meeting_calibration": ("Calibration", "校准会"),
    "every_weekly": ("weekly", "每周"),
    "every_biweekly": ("every two weeks", "每两周"),
    "every_monthly": ("monthly", "每月"),
    "every_quarterly": ("quarterly", "每季度"),
    "every_yearly": ("yearly", "每年"),
    # ------------------------------------------------------------ units
    "unit_days": ("{n} days", "{n} 天"),
    "unit_day": ("{n} day", "{n} 天"),
    "unit_hours": ("{n} h", "{n} 小时"),
    "unit_minutes": ("{n} min", "{n} 分钟"),
    "unit_points": ("{n} pts", "{n} 分"),
    "unit_pp": ("{n} pp", "{n} 个百分点"),
    "money": ("{currency} {n}", "{n} {currency}"),
    "currency_CNY": ("CNY", "元"),
    # ------------------------------------------------------------ agenda
    "agenda_open": (
        "Open: the period in brief — total {total}, rating {rating}.",
        "开场:回顾本期整体表现 —— 总分 {total},评级 {rating}。",
    ),
    "agenda_open_no_total": (
        "Open: the period in brief — no total score, the data is incomplete; agree how to "
        "fix the data.",
        "开场:回顾本期整体表现 —— 数据不完整,暂无总分;商定补齐数据的办法。",
    ),
    "agenda_keep": (
        "Keep doing: {indicator} — {value} against a target of {target}.",
        "继续保持:{indicator} —— 实际 {value},目标 {target}。",
    ),
    "agenda_work_on": (
        "Work on: {indicator} — {value} against a target of {target} ({gap} to reach it).",
        "重点改进:{indicator} —— 实际 {value},目标 {target}(距目标 {gap})。",
    ),
    "agenda_more_gaps": (
        "The other {n} gaps: see the table of gaps; agree which to tackle first.",
        "其余 {n} 项差距见差距表;商定先改进哪一项。",
    ),
    "agenda_more_gaps_one": (
        "One more gap: see the table of gaps; agree when to tackle it.",
        "另有 1 项差距见差距表;商定何时改进。",
    ),
    "agenda_causes": (
        "For each gap, find the cause together before agreeing a step: skill, or resources, "
        "market and process? Agree one concrete next step per gap.",
        "针对每项差距,先一起分析原因再定措施:是技能不足,还是资源、市场或流程问题?"
        "每项差距约定一个具体的下一步。",
    ),
    "agenda_watch": (
        "Watch: {indicator} is on target but {streak}.",
        "关注:{indicator}虽已达标,但{streak}。",
    ),
    "agenda_support": (
        "Support offered: {kind} “{title}”, owner {owner}, due {due}.",
        "提供支持:{kind}「{title}」,负责人 {owner},{due} 前完成。",
    ),
    "agenda_support_undated": (
        "Support offered: {kind} “{title}”, owner {owner}.",
        "提供支持:{kind}「{title}」,负责人 {owner}。",
    ),
    "agenda_recognize": ("Recognise: {kind} “{title}”.", "表彰认可:{kind}「{title}」。"),
    "agenda_incentive": (
        "Incentive earned: {incentive} {amount}.",
        "本期激励:{incentive} {amount}。",
    ),
    "agenda_next": (
        "Agree next steps and the next meeting: {meeting} {every}.",
        "约定下一步行动和下次沟通:{meeting}({every})。",
    ),
    "agenda_next_plain": (
        "Agree next steps and the date of the next meeting.",
        "约定下一步行动和下次沟通时间。",
    ),
}


@dataclass(frozen=True)
class Labels:
    """The catalogue in one language: `labels["gaps"]`, `labels.format("streak_up", n=3)`."""

    lang: str

    def __post_init__(self) -> None:
        check_language(self.lang)

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.lang == "zh" else "en"

    def __getitem__(self, key: str) -> str:
        return CATALOGUE[key][LANGUAGES.index(self.lang)]

    def get(self, key: str, default: str) -> str:
        """The label, or `default` for keys the catalogue does not know (a status or a
        meeting kind added to the language later)."""
        return self[key] if key in CATALOGUE else default

    def format(self, key: str, **values: object) -> str:
        """The text with `values` filled in; a count of exactly one takes the key's
        `_one` form where there is one ("1 sheet", not "1 sheets")."""
        count = values.get("count", values.get("n"))
        if count == 1 and f"{key}_one" in CATALOGUE:
            key = f"{key}_one"
        return self[key].format(**values)
