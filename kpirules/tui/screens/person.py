"""Person: one person's scorecard in the period — every indicator against its curve,
trends, peers, payout and actions; Enter on any line explains it."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, LoadingIndicator, Static

from kpirules.tui.format import measure, money, number, scale_bar, share, sparkline
from kpirules.tui.person import PersonView, person_view
from kpirules.tui.screens.base import ReviewScreen

LABEL_WIDTH = 28
INDICATOR_COLUMNS = (
    ("Indicator", "label"),
    ("Value", "value"),
    ("Attainment", "bar"),
    ("Score", "score"),
    ("Weight", "weight"),
    ("Contrib.", "contribution"),
    ("Trend", "trend"),
    ("Peer median", "peer_median"),
    ("Pctl", "percentile"),
    ("Threshold", "threshold"),
    ("Target", "target"),
    ("Stretch", "stretch"),
)


class PersonScreen(ReviewScreen):
    MODE = "people"
    NAME = "Person"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.back", "Back"),
        Binding("e", "explain_all", "Explain all"),
        Binding("tab", "app.focus_next", "Next table", show=False),
    ]

    def __init__(self, subject: str, scorecard: str) -> None:
        super().__init__()
        self.subject = subject
        self.scorecard = scorecard
        self.person: PersonView | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll(id="person"):
            yield Static("", id="person-card", classes="panel")
            yield LoadingIndicator(id="person-loading")
            yield Static("", id="person-missing")
            yield DataTable(id="indicators", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="outcomes", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#indicators").border_title = "Indicators · Enter explains"
        self.query_one("#outcomes").border_title = "Total, payout and actions · Enter explains"
        super().on_mount()

    def show_period(self, period: str) -> None:
        self._loading(True)
        self.load(period)

    def _loading(self, on: bool) -> None:
        self.query_one("#person-loading").display = on
        for selector in ("#indicators", "#outcomes"):
            self.query_one(selector).display = not on

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
        card = self.query_one("#person-card", Static)
        missing = self.query_one("#person-missing", Static)
        if view is None:
            card.update(Text(f"{self.subject}", style="bold"))
            missing.update(
                Text(
                    f"Not on scorecard {self.scorecard} in {period}: not employed then, or "
                    "no scorecard applied. Switch period with [ and ].",
                    style="yellow",
                )
            )
            missing.display = True
            for selector in ("#indicators", "#outcomes"):
                self.query_one(selector).display = False
            return
        missing.display = False
        card.update(self._card(view))
        card.border_title = f"{view.identity['name'] or view.subject} · {view.subject}"
        self._fill_indicators(view)
        self._fill_outcomes(view)
        self.query_one("#indicators").focus()

    # ------------------------------------------------------------ drawing

    def _card(self, view: PersonView) -> Table:
        who = view.identity
        session = self.session
        card = session.policy.scorecards[view.scorecard]
        names = session.names
        manager = who["manager"]
        manager_text = "—"
        if isinstance(manager, str) and manager:
            manager_text = f"{names.get(manager, '')} ({manager})".strip()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        paid = float(view.payouts["amount"].fillna(0).sum()) if len(view.payouts) else 0.0
        grid.add_row("Department", str(who["department"] or "—"), "Role", str(who["role"] or "—"))
        grid.add_row("Manager", manager_text, "Scorecard", card.label or card.name)
        total = Text(number(who["total"]), style="bold")
        if len(view.total_trend) > 1:
            total.append("  " + sparkline(view.total_trend), style="cyan")
        grid.add_row("Total", total, "Rating", Text(str(who["rating"] or "—"), style="bold"))
        fired = sum(1 for o in view.outcomes if o.kind == "action" and o.fired)
        grid.add_row("Payout", money(paid, session.currency), "Actions", f"{fired} fired")
        return grid

    def _fill_indicators(self, view: PersonView) -> None:
        table = self.query_one("#indicators", DataTable)
        table.clear(columns=True)
        for label, key in INDICATOR_COLUMNS:
            numeric = key not in ("label", "bar", "trend")
            width = LABEL_WIDTH if key == "label" else None
            table.add_column(
                Text(label, justify="right" if numeric else "left"), key=key, width=width
            )
        for row in view.indicators.itertuples(index=False):  # one person: a handful of rows
            unit = row.unit

            def right(text: str, style: str = "") -> Text:
                return Text(text, justify="right", style=style)

            score_style = "green" if row.meets_target is True else ""
            table.add_row(
                Text(str(row.label or row.indicator), overflow="ellipsis", no_wrap=True),
                right(measure(row.value, unit), "bold"),
                scale_bar(row.value, row.threshold, row.target, row.stretch, row.better),
                right(number(row.score), score_style),
                right(share(row.weight)),
                right(number(row.contribution)),
                Text(sparkline(row.trend), style="cyan"),
                right(measure(row.peer_median, unit)),
                right("—" if row.percentile != row.percentile else f"{row.percentile:.0f}"),
                right(measure(row.threshold, unit), "dim"),
                right(measure(row.target, unit), "dim"),
                right(measure(row.stretch, unit), "dim"),
                key=row.indicator,
            )

    def _fill_outcomes(self, view: PersonView) -> None:
        table = self.query_one("#outcomes", DataTable)
        table.clear(columns=True)
        table.add_columns("", "Result", "Note")
        styles = {True: "green", False: "yellow", None: "bold"}
        for number_, outcome in enumerate(view.outcomes):
            table.add_row(
                outcome.item,
                Text(outcome.result, style=styles[outcome.fired]),
                Text(outcome.note, style="dim"),
                key=str(number_),
            )
        # A known Textual edge: an auto-height table in an auto-height scroll can keep the
        # height it had while empty. The rows, header and border are all one line each.
        table.styles.height = len(view.outcomes) + 3

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
