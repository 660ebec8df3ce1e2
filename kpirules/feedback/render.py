"""Sheets → Markdown or self-contained HTML, through the Jinja2 templates in `templates/`.

Every word comes from the label catalogue, every number from `display.Formatter`. The HTML
environment escapes everything (names and titles come from data); the Markdown one escapes
the characters that would break a table or smuggle in HTML or links.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from kpirules.feedback import charts
from kpirules.feedback.display import Formatter, missing
from kpirules.feedback.labels import Labels
from kpirules.feedback.sheet import ActionLine, AgendaItem, CardSheet, PayoutLine, Sheet, Trend
from kpirules.text import neutralise

FORMATS = ("md", "html")
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_MD_SPECIAL = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "[": "\\[",
        "]": "\\]",
        "`": "\\`",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "\n": " ",
        "\r": " ",
    }
)
# A date or a period label (2027-03-01, 2026-Q4, 2026-12), which must not break at its
# hyphens when a line wraps.
_DATE = re.compile(r"(?<![\w-])\d{4}-(?:\d{2}-\d{2}|\d{2}|[QH]\d)(?![\w-])")
ARROWS = {"improving": "▲", "declining": "▼", "flat": "▶", "n/a": "·"}


@dataclass(frozen=True)
class IndexEntry:
    """One file of an output folder, for the index."""

    file: str
    title: str  # the person or the manager
    period: str
    detail: str  # e.g. total and rating, or the number of sheets in a bundle


def render(
    sheets: Sequence[Sheet],
    output_format: str,
    labels: Labels,
    *,
    manager: str | None = None,
    as_of: str | None = None,
) -> str:
    """One sheet, or a manager's bundle (`manager` set: a team overview, then the sheets)."""
    if output_format not in FORMATS:
        raise ValueError(f"unknown format {output_format!r}")
    template = _environment(output_format).get_template(f"sheets.{output_format}.j2")
    currency = sheets[0].currency if sheets else None
    words = Words(labels, Formatter(labels, currency))
    return template.render(
        sheets=list(sheets),
        manager=manager,
        as_of=as_of,
        L=labels,
        f=words.formatter,
        w=words,
        row=_markdown_row,
    )


def render_index(
    entries: Sequence[IndexEntry],
    output_format: str,
    labels: Labels,
    policy: str,
    *,
    count: int | None = None,
) -> str:
    """The index of an output folder; `count` is the number of sheets (default: one
    per entry; a team's bundle is an entry of its own)."""
    template = _environment(output_format).get_template(f"index.{output_format}.j2")
    return template.render(
        entries=list(entries),
        count=len(entries) if count is None else count,
        L=labels,
        policy=policy,
        row=_markdown_row,
        link=_markdown_link,
    )


class Words:
    """What the templates print that takes more than a label: composed phrases."""

    def __init__(self, labels: Labels, formatter: Formatter):
        self.L = labels
        self.formatter = formatter

    # ------------------------------------------------------------ people

    def person(self, name: str | None, key: str | None) -> str:
        if key is None:
            return self.L["none"]
        return self.L.format("person", name=name, id=key) if name else key

    def labelled(self, label: str, value: str) -> str:
        return self.L.format("labelled", label=label, value=value)

    def sentences(self, *parts: str) -> str:
        """Sentences joined as the language joins them, each ended once."""
        end = self.L["sentence_end"]
        done = [p if p.endswith((".", "。", "!", "?", "!", "?")) else p + end for p in parts if p]
        return self.L["sentence_join"].join(done)

    def heading(self, sheet: Sheet) -> str:
        person = self.person(sheet.person.name, sheet.person.subject)
        return self.L.format(
            "sheet_heading", title=self.L["sheet_title"], person=person, period=sheet.period
        )

    def card_heading(self, card: CardSheet) -> str:
        key = "card_heading" if card.rating else "card_heading_unrated"
        return self.L.format(key, card=card.label, total=self.total(card), rating=card.rating)

    def outcome(self, card: CardSheet) -> str:
        """Total and rating in a few words, for overviews: `113.9, Exceeds`."""
        if not card.rating:
            return self.total(card)
        return self.L.format("outcome", total=self.total(card), rating=card.rating)

    def benchmark(self, line) -> str:
        peers = line.peers
        if not peers.benchmark:
            return self.L["none"]
        return self.labelled(
            peers.benchmark, self.formatter.value(peers.benchmark_value, line.unit)
        )

    def footer(self, sheet: Sheet, as_of: str | None) -> str:
        made = self.L.format(
            "generated_from",
            policy=sheet.policy,
            version=sheet.version or self.L["none"],
            period=sheet.period,
        )
        dated = self.L.format("as_of", date=as_of) if as_of else ""
        return self.sentences(made, dated, self.L["confidential"])

    def owner(self, action: ActionLine) -> str:
        if action.owner is None:
            return self.L["none"]
        if action.owner_is == "hr":
            return self.L["owner_hr"]
        return self.person(action.owner_name, action.owner)

    def kind(self, kind: str) -> str:
        return self.L.get(f"kind_{kind}", kind)

    def status(self, card: CardSheet) -> str:
        parts = [part.strip() for part in card.status.split(",") if part.strip()]
        return "; ".join(self.L.get(f"status_{part}", part) for part in parts)

    def meeting(self, meeting: str) -> str:
        return self.L.get(f"meeting_{meeting}", meeting.replace("_", " "))

    def every(self, every: str) -> str:
        return self.L.get(f"every_{every}", every)

    # ------------------------------------------------------------ numbers

    def total(self, card: CardSheet) -> str:
        return self.L["no_total"] if missing(card.total) else self.formatter.score(card.total)

    def history(self, card: CardSheet, blocks: bool = False) -> str:
        """The total over the periods: 120.5 → 92.7 → 113.9, with ▇▁▆ for Markdown."""
        shown = [self.formatter.score(v) for v in card.history.values if not missing(v)]
        if not shown:
            return self.L["none"]
        text = " → ".join(shown)
        return f"{text} ({charts.text_sparkline(card.history.values)})" if blocks else text

    def percentile(self, value: float) -> str:
        return self.formatter.percentile(value)

    def payout_notes(self, payout: PayoutLine) -> str:
        notes = []
        if not payout.gate_passed:
            notes.append(self.L["gate_closed"])
        if payout.capped:
            notes.append(self.L["capped"])
        if not missing(payout.prorate_factor) and payout.prorate_factor < 1:
            notes.append(
                self.L.format("prorated", share=self.formatter.share(payout.prorate_factor))
            )
        return "; ".join(notes)

    # ------------------------------------------------------------ trend

    def arrow(self, trend: Trend) -> str:
        return ARROWS.get(trend.direction, "·")

    def direction(self, trend: Trend) -> str:
        words = self.L.get(f"direction_{trend.direction}", trend.direction)
        streak = self.streak(trend)
        return f"{words}{self.L['trend_join']}{streak}" if streak else words

    def streak(self, trend: Trend) -> str:
        if trend.streak >= 2:
            return self.L.format("streak_up", n=trend.streak)
        if trend.streak <= -2:
            return self.L.format("streak_down", n=-trend.streak)
        if trend.streak == 1:
            return self.L["streak_up_one"]
        if trend.streak == -1:
            return self.L["streak_down_one"]
        return ""

    def span(self, trend: Trend, unit: str) -> str:
        """First → last value, with the periods they belong to."""
        known = [(p, v) for p, v in zip(trend.periods, trend.values) if not missing(v)]
        if not known:
            return self.L["none"]
        (p0, v0), (p1, v1) = known[0], known[-1]
        first = f"{self.formatter.value(v0, unit)} ({p0})"
        if len(known) == 1:
            return first
        return f"{first} → {self.formatter.value(v1, unit)} ({p1})"

    def blocks(self, trend: Trend) -> str:
        return charts.text_sparkline(trend.values)

    def sparkline(self, trend: Trend, better: str) -> Markup:
        return Markup(charts.sparkline(trend.values, better))

    def bullet(self, line) -> Markup:
        return Markup(
            charts.bullet(
                line.value, line.threshold, line.target, line.stretch, line.better, line.tone
            )
        )

    # ------------------------------------------------------------ agenda

    def agenda(self, item: AgendaItem) -> str:
        f, L = self.formatter, self.L
        if item.topic == "open":
            card = item.card
            if missing(card.total):
                return L["agenda_open_no_total"]
            return L.format("agenda_open", total=f.score(card.total), rating=card.rating or "—")
        if item.topic in ("keep", "work_on", "watch"):
            line = item.line
            values = {
                "indicator": line.label,
                "value": f.value(line.value, line.unit),
                "target": f.value(line.target, line.unit),
                "gap": f.change(_needed(line.target_gap), line.unit),
                "streak": self.streak(line.trend),
            }
            return L.format(f"agenda_{item.topic}", **values)
        if item.topic in ("recognize", "support"):
            action = item.action
            values = {
                "kind": self.kind(action.kind),
                "title": action.title,
                "owner": self.owner(action),
                "due": action.due or "",
            }
            if item.topic == "support" and not action.due:
                return L.format("agenda_support_undated", **values)
            return L.format(f"agenda_{item.topic}", **values)
        if item.topic == "more_gaps":
            return L.format("agenda_more_gaps", n=item.count)
        if item.topic == "causes":
            return L["agenda_causes"]
        if item.topic == "incentive":
            payout = item.payout
            return L.format(
                "agenda_incentive", incentive=payout.label, amount=f.money(payout.amount)
            )
        if item.cadence is None:
            return L["agenda_next_plain"]
        return L.format(
            "agenda_next",
            meeting=self.meeting(item.cadence.meeting),
            every=self.every(item.cadence.every),
        )

    def needed(self, gap: float, unit: str) -> str:
        """The change that would reach the target, signed: +2, −1.5 days, +3 pp."""
        return self.formatter.change(_needed(gap), unit)


def _needed(gap: float) -> float:
    return math.nan if missing(gap) else -gap


class _Raw(str):
    """Markdown already escaped (a table row) or built from safe parts (a link to a file
    name from `files.safe_name`): the finalizer lets it through."""


def _markdown_row(cells: Sequence) -> _Raw:
    return _Raw("| " + " | ".join(_markdown_text(c) for c in cells) + " |")


def _markdown_link(file: str) -> _Raw:
    return _Raw(f"[{_markdown_text(file)}]({file})")


def _markdown_text(value) -> str:
    """Finalize for Markdown: every printed value is escaped (None prints nothing)."""
    if value is None:
        return ""
    if isinstance(value, _Raw):
        return value
    return neutralise(str(value).translate(_MD_SPECIAL))


def _html_text(value):
    """Finalize for HTML (escaped afterwards by autoescape): control characters and bidi
    overrides from data shown as escapes, so a name cannot reorder the page's text."""
    if isinstance(value, Markup):
        return Markup(neutralise(str(value)))
    return neutralise(value) if isinstance(value, str) else value


def _keep_dates(value) -> Markup:
    """HTML text with each date and period in a span that does not wrap (the print
    style sheet's `.date`). The text is escaped first, so only the spans are markup."""
    text = str(escape(neutralise(str(value))))
    return Markup(_DATE.sub(lambda m: f'<span class="date">{m.group(0)}</span>', text))


@cache
def _environment(output_format: str) -> jinja2.Environment:
    html = output_format == "html"
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=html,
        finalize=_html_text if html else _markdown_text,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["keep_dates"] = _keep_dates
    return environment
