"""Overview: the cycle, its population, ratings against the guidance, payout, actions,
data-quality findings and the policy's lint findings."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, LoadingIndicator, Static

from kpirules.tui import figures
from kpirules.tui.format import money
from kpirules.tui.screens.base import ReviewScreen
from kpirules.tui.table_view import Column, TableView
from kpirules.tui.widgets.rating_chart import RatingChart
from kpirules.tui.widgets.virtual_table import VirtualTable

QUALITY_COLUMNS = [  # on a narrow screen the row and column go first, the message shortens
    Column("severity", "Severity", rank=1),
    Column("source", "Source", rank=2),
    Column("row", "Row", numeric=True, fmt=lambda v: f"{int(v)}", rank=3),
    Column("column", "Column", rank=4),
    Column("check", "Check", rank=1),
    Column("message", "Message", shrink_to=20),
]


class OverviewScreen(ReviewScreen):
    MODE = "overview"
    NAME = "Overview"

    def body(self) -> ComposeResult:
        with VerticalScroll(id="overview"):
            with Horizontal(id="overview-top"):
                yield Static("", id="cycle", classes="panel")
                yield RatingChart("", id="ratings", classes="panel")
            with Vertical(id="quality-panel", classes="panel"):
                yield VirtualTable(id="quality")
                # The highlighted finding's text that the width shortens or leaves out.
                yield Static("", id="quality-detail", classes="detail")
            with Vertical(id="lint-panel", classes="panel"):
                yield LoadingIndicator(id="lint-loading")
                yield DataTable(id="lint", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#cycle").border_title = "Cycle"
        self.query_one("#ratings").border_title = "Rating distribution vs guidance"
        self.query_one("#lint").display = False
        super().on_mount()
        self._show_quality()
        # Lint after the first paint: the overview must not wait for a second parse.
        self.call_after_refresh(self.run_lint)

    def show_period(self, period: str) -> None:
        session = self.session
        results = session.results
        distribution = session.cached("distribution", results.distribution)
        summary = figures.overview(results, period, distribution)
        self.query_one("#cycle", Static).update(self._cycle_table(summary))
        self.query_one(RatingChart).show(session.policy, summary.distribution)
        # What changes with the period is at the top (the findings below do not): show it.
        self.query_one("#overview", VerticalScroll).scroll_home(animate=False)

    def _cycle_table(self, summary: figures.Overview) -> Table:
        session = self.session
        policy, header = session.policy, session.policy.header
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        version = f" {header.version}" if header.version else ""
        grid.add_row("Policy", Text(f"{policy.name}{version}", style="bold"))
        periods = session.periods
        grid.add_row(
            "Cycle",
            f"{summary.period}  ({header.cadence}, "
            f"{periods.index(summary.period) + 1} of {len(periods)})",
        )
        incomplete = (
            Text(f"  {summary.incomplete:,} incomplete", style="yellow")
            if summary.incomplete
            else Text("")
        )
        grid.add_row(
            "People",
            Text(f"{summary.people:,} evaluated") + incomplete,
        )
        grid.add_row(
            "Payout",
            Text(money(summary.payout, session.currency), style="bold")
            + Text(f"  to {summary.paid_people:,} people", style="dim"),
        )
        actions = sum(summary.actions.values())
        kinds = " · ".join(f"{kind} {count:,}" for kind, count in summary.actions.items())
        grid.add_row("Actions", f"{actions:,}" + (f"  ({kinds})" if kinds else ""))
        findings = session.results.quality
        errors = int((findings["severity"] == "error").sum()) if len(findings) else 0
        grid.add_row(
            "Data quality",
            f"{len(findings):,} finding{'s' * (len(findings) != 1)}"
            + (f", {errors:,} errors" if errors else ""),
        )
        if session.as_of:
            grid.add_row("As of", session.as_of.isoformat())
        return grid

    # ------------------------------------------------------------ findings

    def _show_quality(self) -> None:
        findings = self.session.results.quality
        panel = self.query_one("#quality-panel")
        panel.border_title = f"Data-quality findings ({len(findings):,})"
        table = self.query_one("#quality", VirtualTable)
        if len(findings):
            table.show(TableView(findings, QUALITY_COLUMNS))
        else:
            panel.display = False

    @on(VirtualTable.Moved, "#quality")
    def _quality_detail(self) -> None:
        detail = self.query_one("#quality-detail", Static)
        shown = self.query_one("#quality", VirtualTable).hidden_values()
        line = Text()
        for label, value in shown:
            line.append(" · " if line else "")
            line.append(f"{label} ", style="dim")
            line.append(value or "—")
        detail.display = bool(shown)
        detail.update(line)

    @work(thread=True, exclusive=True, group="lint")
    def run_lint(self) -> None:
        """Lint is a second pass over the policy: off the UI thread, cached per session."""
        session = self.session

        def lint():
            from kpirules.lint import lint as run
            from kpirules.loader import discover

            # The results of this session feed the data rules: no second evaluation.
            units, _ = discover([session.policy_path])
            return run([Path(u) for u in units], results=session.results).diagnostics

        try:
            found = session.cached("lint", lint)
        except Exception as exc:  # a broken lint config must not take the review down
            self.app.call_from_thread(self._lint_failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show_lint, found)

    def _show_lint(self, diagnostics) -> None:
        self.query_one("#lint-loading").display = False
        panel = self.query_one("#lint-panel")
        panel.border_title = f"Lint findings ({len(diagnostics)})"
        table = self.query_one("#lint", DataTable)
        table.display = True
        table.clear(columns=True)
        table.add_columns("Severity", "Code", "Where", "Message")
        colours = {"ERROR": "red", "WARNING": "yellow", "INFO": "blue"}
        for d in diagnostics:
            name = d.severity.name
            table.add_row(
                Text(name.lower(), style=colours.get(name, "")),
                d.code,
                f"{d.span.file}:{d.span.line}",
                d.message,
            )
        if not diagnostics:
            table.add_row(Text("none", style="green"), "", "", "the policy lints clean")

    def _lint_failed(self, message: str) -> None:
        self.query_one("#lint-loading").display = False
        panel = self.query_one("#lint-panel")
        panel.border_title = "Lint findings"
        panel.mount(Static(Text(f"lint could not run: {message}", style="red")))
