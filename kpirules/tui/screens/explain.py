"""The explanation of a number: the trace from data rows to the result, as a tree."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, LoadingIndicator, Static

from kpirules.tui.widgets.trace_tree import TraceTree


class ExplainScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("e", "expand_all", "Expand all"),
        Binding("c", "collapse_all", "Collapse all", show=False),
    ]

    def __init__(
        self,
        subject: str,
        period: str,
        *,
        indicator: str | None = None,
        focus: str | None = None,
    ) -> None:
        super().__init__()
        self.subject = subject
        self.period = period
        self.indicator = indicator
        self.focus_on = focus

    def compose(self) -> ComposeResult:
        what = f"indicator {self.indicator}" if self.indicator else "everything"
        with Vertical(id="explain-dialog", classes="dialog"):
            yield Label(
                f"[b]Why[/] — {self.subject}, {self.period}, {what}  "
                "[dim]Enter/Space opens a step · e expands all · Esc closes[/]",
                id="explain-title",
            )
            yield LoadingIndicator(id="explain-loading")
            yield Static("", id="explain-problem")
            yield TraceTree("…", id="trace")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#trace").display = False
        self.query_one("#explain-problem").display = False
        self.trace()

    @work(thread=True, exclusive=True, group="explain")
    def trace(self) -> None:
        """Re-deriving one person's numbers reads their rows again: off the UI thread."""
        from kpirules.trace import ExplainError

        try:
            step = self.app.session.explain(self.subject, self.period, self.indicator)
        except ExplainError as exc:
            self.app.call_from_thread(self._problem, str(exc))
            return
        self.app.call_from_thread(self._show, step)

    def _show(self, step) -> None:
        self.query_one("#explain-loading").display = False
        tree = self.query_one(TraceTree)
        tree.display = True
        tree.show(step, self.focus_on)
        if self.indicator:
            tree.root.expand_all()
        tree.focus()

    def _problem(self, message: str) -> None:
        self.query_one("#explain-loading").display = False
        problem = self.query_one("#explain-problem", Static)
        problem.update(message)
        problem.display = True

    def action_expand_all(self) -> None:
        self.query_one(TraceTree).root.expand_all()

    def action_collapse_all(self) -> None:
        tree = self.query_one(TraceTree)
        for child in tree.root.children:
            child.collapse_all()
