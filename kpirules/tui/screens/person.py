"""Person: one person's scorecard in the period — every indicator against its curve,
trends, peers, payout and actions; Enter on any line explains it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, LoadingIndicator, Static

from kpirules.tui.format import measure, number, scale_bar, share, sparkline
from kpirules.tui.person import PersonView, person_view
from kpirules.tui.screens.base import ReviewScreen
from kpirules.tui.widgets.fit_table import FitColumn, FitTable
from kpirules.tui.widgets.flow_card import FlowCard
from kpirules.tui.widgets.trace_tree import TraceTree

# On a narrow terminal the highest ranks go first — their values then show under the
# table, for the row under the cursor. Only the indicator's name shortens, and only for
# the columns up to the bar: peers and the curve's points never cost a name its end.
INDICATOR_COLUMNS = (
    FitColumn("label", "Indicator", shrink_to=24, yields_to=5),
    FitColumn("value", "Value", right=True, rank=1),
    FitColumn("bar", "Attainment", rank=5),
    FitColumn("score", "Score", right=True, rank=2),
    FitColumn("weight", "Weight", right=True, rank=4),
    FitColumn("contribution", "Contrib.", right=True, rank=3),
    FitColumn("trend", "Trend", rank=8),
    FitColumn("peer_median", "Peer median", right=True, rank=9),
    FitColumn("percentile", "Pctl", right=True, rank=7),
    FitColumn("threshold", "Threshold", right=True, rank=10),
    FitColumn("target", "Target", right=True, rank=6),
    FitColumn("stretch", "Stretch", right=True, rank=11),
)
OUTCOME_COLUMNS = (
    FitColumn("item", "Outcome", shrink_to=20),
    FitColumn("result", "Result", rank=1),
    FitColumn("note", "Note", shrink_to=12, rank=2),
)
TALL = 36  # terminal rows from which the preview shows


class PersonScreen(ReviewScreen):
    MODE = "people"
    NAME = "Person"
    # A tall terminal has room for the derivation of the highlighted line (the preview).
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (TALL, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.back", "Back"),
        Binding("e", "explain_all", "Explain all"),
        Binding("tab", "app.focus_next", "Other table"),
    ]

    def __init__(self, subject: str, scorecard: str) -> None:
        super().__init__()
        self.subject = subject
        self.scorecard = scorecard
        self.person: PersonView | None = None
        self._previewed: tuple | None = None  # what the preview shows or is fetching

    def body(self) -> ComposeResult:
        # No borders and no outcome header: at 80x24 every line counts (the card, five
        # indicators and eleven outcomes of zh_retail just fit). The outcome rows name
        # themselves ("Total score", "Payout: …").
        with VerticalScroll(id="person"):
            yield FlowCard(id="person-card")
            yield LoadingIndicator(id="person-loading")
            yield Static("", id="person-missing")
            yield FitTable(id="indicators")
            yield Static("", id="indicator-detail", classes="detail")
            yield FitTable(id="outcomes", show_header=False)
        with Vertical(id="preview-panel"):
            yield Static("", id="preview-title")
            yield TraceTree("…", id="preview")

    def on_mount(self) -> None:
        preview = self.query_one("#preview", TraceTree)
        preview.can_focus = False  # Tab stays between the two tables
        preview.display = False
        super().on_mount()

    def show_period(self, period: str) -> None:
        self._loading(True)
        self.load(period)

    def _loading(self, on: bool) -> None:
        self.query_one("#person-loading").display = on
        for selector in ("#indicators", "#outcomes"):
            self.query_one(selector).display = not on
        if on:  # shown again, if anything is left out, once the columns are fitted
            self.query_one("#indicator-detail").display = False

    @work(thread=True, exclusive=True, group="person")
    def load(self, period: str) -> None:
        """Peers need the whole population's comparison: computed once per period, off
        the UI thread."""
        view = person_view(self.session, self.subject, self.scorecard, period)
        self.app.call_from_thread(self._show, view, period)

    def _show(self, view: PersonView | None, period: str) -> None:
        if period != self.app.period:
            return  # the user moved on while this was computed
        self._loading(False)
        self.person = view
        card = self.query_one("#person-card", FlowCard)
        missing = self.query_one("#person-missing", Static)
        if view is None:
            card.show([[("", Text(self.subject, style="bold"))]])
            missing.update(
                Text(
                    f"Not on scorecard {self.scorecard} in {period}: not employed then, or "
                    "no scorecard applied. Switch period with [ and ].",
                    style="yellow",
                )
            )
            missing.display = True
            for selector in ("#indicators", "#outcomes", "#indicator-detail", "#preview"):
                self.query_one(selector).display = False
            self.query_one("#preview-title", Static).update("")
            self._previewed = None
            return
        missing.display = False
        card.show(self._card(view))
        self._fill_indicators(view)
        self._fill_outcomes(view)
        self.query_one("#indicators").focus()
        self._preview()

    # ------------------------------------------------------------ drawing

    def _card(self, view: PersonView) -> list[list[tuple[str, Text]]]:
        """Who, as label–value pairs. How they did (total, rating, payouts, actions) is
        the outcome table's first rows: not twice, so 80x24 has room for all of it."""
        who = view.identity
        session = self.session
        card = session.policy.scorecards[view.scorecard]
        names = session.names
        manager = who["manager"]
        manager_text = "—"
        if isinstance(manager, str) and manager:
            manager_text = f"{names.get(manager, '')} ({manager})".strip()
        name = Text(str(who["name"] or view.subject), style="bold")
        if who["name"]:
            name.append(f" {view.subject}", style="dim")
        return [
            [
                ("", name),
                ("Department", Text(str(who["department"] or "—"))),
                ("Role", Text(str(who["role"] or "—"))),
                ("Manager", Text(manager_text)),
                ("Scorecard", Text(card.label or card.name)),
            ]
        ]

    def _fill_indicators(self, view: PersonView) -> None:
        def right(text: str, style: str = "") -> Text:
            return Text(text, justify="right", style=style, no_wrap=True)

        rows = []
        for row in view.indicators.itertuples(index=False):  # one person: a handful of rows
            unit = row.unit
            score_style = "green" if row.meets_target is True else ""
            cells = {
                "label": Text(str(row.label or row.indicator), overflow="ellipsis", no_wrap=True),
                "value": right(measure(row.value, unit), "bold"),
                "bar": scale_bar(row.value, row.threshold, row.target, row.stretch, row.better),
                "score": right(number(row.score), score_style),
                "weight": right(share(row.weight)),
                "contribution": right(number(row.contribution)),
                "trend": Text(sparkline(row.trend), style="cyan"),
                "peer_median": right(measure(row.peer_median, unit)),
                "percentile": right(
                    "—" if row.percentile != row.percentile else f"{row.percentile:.0f}"
                ),
                "threshold": right(measure(row.threshold, unit), "dim"),
                "target": right(measure(row.target, unit), "dim"),
                "stretch": right(measure(row.stretch, unit), "dim"),
            }
            rows.append((row.indicator, cells))
        self.query_one("#indicators", FitTable).set_content(list(INDICATOR_COLUMNS), rows)

    def _fill_outcomes(self, view: PersonView) -> None:
        styles = {True: "green", False: "yellow", None: "bold"}
        rows = []
        for number_, outcome in enumerate(view.outcomes):
            result = Text(outcome.result, style=styles[outcome.fired])
            if outcome.kind == "total" and len(view.total_trend) > 1:  # the total's history
                result.append("  " + sparkline(view.total_trend), style="cyan")
            cells = {
                "item": Text(outcome.item, overflow="ellipsis", no_wrap=True),
                "result": result,
                "note": Text(outcome.note, style="dim", overflow="ellipsis", no_wrap=True),
            }
            rows.append((str(number_), cells))
        self.query_one("#outcomes", FitTable).set_content(list(OUTCOME_COLUMNS), rows)

    @on(FitTable.Fitted, "#indicators")
    @on(DataTable.RowHighlighted, "#indicators")
    def _detail(self) -> None:
        """What the width keeps out of the indicator table, for the row under the cursor
        — as tall as the tallest row needs, so moving the cursor does not move the rest."""
        table = self.query_one("#indicators", FitTable)
        detail = self.query_one("#indicator-detail", Static)
        lines = [self._detail_line(table.hidden_values(i)) for i in range(table.row_count)]
        width = max(1, table.size.width - 2)  # the line's padding
        tallest = max((len(line.wrap(self.app.console, width)) for line in lines), default=0)
        detail.display = any(line.cell_len for line in lines)
        detail.styles.height = max(1, tallest)
        detail.update(self._detail_line(table.hidden_values()))

    @staticmethod
    def _detail_line(values: list[tuple[str, Text]]) -> Text:
        line = Text()
        for label, cell in values:
            line.append(" · " if line else "")
            line.append(f"{label} ", style="dim")
            line.append(cell.plain.strip() or "—", style=cell.style)
        return line

    # ------------------------------------------------------------ the preview

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._preview()

    def on_descendant_focus(self) -> None:
        self._preview()

    def on_resize(self) -> None:
        self.call_after_refresh(self._preview)  # after the breakpoint class is set

    def _preview(self) -> None:
        """Explain the highlighted line of the focused table below the tables, when the
        terminal is tall enough: the answer to "why" without a keypress."""
        if not self.has_class("-tall") or self.person is None:
            return
        table = self.focused if isinstance(self.focused, FitTable) else None
        if table is None or not table.row_count:
            return
        key = str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        if table.id == "indicators":
            label = self.person.indicators.set_index("indicator")["label"].get(key) or key
            wanted = (self.app.period, key, None, str(label))
        else:
            outcome = self.person.outcomes[int(key)]
            wanted = (self.app.period, None, outcome.focus, outcome.item)
        if wanted == self._previewed:
            return
        self._previewed = wanted
        self.query_one("#preview-title", Static).update(
            Text.assemble(("Why: ", "bold"), wanted[3], ("  ·  Enter opens it in full", "dim"))
        )
        self.explain_preview(*wanted)

    @work(thread=True, exclusive=True, group="preview")
    def explain_preview(self, period: str, indicator: str | None, focus: str | None, _: str):
        try:
            step, problem = self.session.explain(self.subject, period, indicator), ""
        except Exception as exc:  # a preview that cannot be derived must not stop the review
            step, problem = None, f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._show_preview, (period, indicator, focus, _), step, problem)

    def _show_preview(self, wanted: tuple, step, problem: str = "") -> None:
        if wanted != self._previewed:
            return  # the cursor moved on while this was derived
        tree = self.query_one("#preview", TraceTree)
        tree.display = step is not None
        if problem:
            self.query_one("#preview-title", Static).update(
                Text(f"Cannot explain {wanted[3]}: {problem}", style="yellow")
            )
        if step is not None:
            _, indicator, focus, _ = wanted
            tree.show(step, focus)
            if indicator:
                tree.root.expand_all()

    # ------------------------------------------------------------ explaining

    @on(DataTable.RowSelected, "#indicators")
    def _explain_indicator(self, event: DataTable.RowSelected) -> None:
        self._explain(indicator=str(event.row_key.value))

    @on(DataTable.RowSelected, "#outcomes")
    def _explain_outcome(self, event: DataTable.RowSelected) -> None:
        outcome = self.person.outcomes[int(event.row_key.value)]
        self._explain(focus=outcome.focus)

    def action_explain_all(self) -> None:
        if self.person is not None:
            self._explain()

    def _explain(self, indicator: str | None = None, focus: str | None = None) -> None:
        from kpirules.tui.screens.explain import ExplainScreen

        self.app.push_screen(
            ExplainScreen(self.subject, self.app.period, indicator=indicator, focus=focus)
        )
