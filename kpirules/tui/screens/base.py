"""What every review screen shares: header, tabs, footer, and following the period."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from kpirules.tui.widgets.nav_bar import NavBar


class ReviewScreen(Screen):
    """A screen of the review. Subclasses compose `body()` and draw `show_period()`."""

    MODE = ""  # the tab to highlight
    NAME = ""

    def __init__(self) -> None:
        super().__init__()
        self._shown_period: str | None = None

    @property
    def session(self):
        return self.app.session

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield NavBar(self.MODE)
        yield from self.body()
        yield Footer(compact=True)  # every key of the screen fits in 80 columns

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def show_period(self, period: str) -> None:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.watch(self.app, "period", self._period_changed, init=False)
        self._sync()

    def on_screen_resume(self) -> None:
        self._sync()

    def _period_changed(self, _period: str) -> None:
        # Screens in the background catch up when they are shown again (on resume).
        if self.is_current:
            self._sync()

    def _sync(self) -> None:
        period = self.app.period
        self.sub_title = f"{self.NAME} · {period}" if self.NAME else period
        self.query_one(NavBar).show_period(period, self.session.periods)
        if period != self._shown_period:
            self._shown_period = period
            self.show_period(period)
