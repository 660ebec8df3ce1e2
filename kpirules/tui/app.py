"""The Textual app: a loading screen at once, one evaluation in a worker, then four
screens as modes (Overview, Cascade, People, Actions) sharing one period."""

from __future__ import annotations

import os
import traceback
from datetime import date
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from kpirules.tui.screens.actions import ActionsScreen
from kpirules.tui.screens.cascade import CascadeScreen
from kpirules.tui.screens.error import ErrorScreen
from kpirules.tui.screens.help import HelpScreen
from kpirules.tui.screens.loading import LoadingScreen
from kpirules.tui.screens.overview import OverviewScreen
from kpirules.tui.screens.people import PeopleScreen
from kpirules.tui.session import Session, SessionError, open_session

EXIT_CLEAN, EXIT_FINDINGS, EXIT_INTERNAL = 0, 1, 2
PERIOD = Binding.Group("Period", compact=True)
NEEDS_SESSION = {"show", "previous_period", "next_period", "back", "help"}


class ReviewApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "kpirules"
    MODES: ClassVar[dict[str, type[Screen]]] = {
        "overview": OverviewScreen,
        "cascade": CascadeScreen,
        "people": PeopleScreen,
        "actions": ActionsScreen,
    }
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (130, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1,o", "show('overview')", "Overview", show=False),
        Binding("2,c", "show('cascade')", "Cascade", show=False),
        Binding("3,p", "show('people')", "People", show=False),
        Binding("4,a", "show('actions')", "Actions", show=False),
        # One footer entry for both ("[ ] Period"): room for every screen's keys at 80.
        Binding(
            "left_square_bracket",
            "previous_period",
            "Previous period",
            key_display="[",
            group=PERIOD,
        ),
        Binding(
            "right_square_bracket", "next_period", "Next period", key_display="]", group=PERIOD
        ),
        Binding("escape", "back", "Back", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]
    ENABLE_COMMAND_PALETTE = False

    period: reactive[str] = reactive("")

    def __init__(
        self,
        policy_path: str,
        data_path: str,
        period: str | None = None,
        *,
        as_of: date | None = None,
        session: Session | None = None,
        start: str = "overview",
    ) -> None:
        super().__init__()
        if start not in self.MODES:
            raise ValueError(f"no screen called {start!r}")
        self.start = start
        self.policy_path = policy_path
        self.data_path = data_path
        self.wanted_period = period
        self.as_of = as_of
        self.session: Session | None = None
        self._prepared = session
        self.exit_code = EXIT_CLEAN
        self.history: list[str] = []

    @classmethod
    def from_session(cls, session: Session, start: str = "overview") -> ReviewApp:
        """An app over an evaluation already done (tests, benchmarks)."""
        return cls(session.policy_path, session.data_path, session=session, start=start)

    # ------------------------------------------------------------ start-up

    def get_default_screen(self) -> Screen:
        return LoadingScreen(f"{self.policy_path} with {self.data_path}")

    def on_mount(self) -> None:
        if self._prepared is not None:
            self.ready(self._prepared)
        else:
            self.load()

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        """Check, read and evaluate off the UI thread; the loading screen shows progress."""
        screen = self.screen

        def progress(stage: str, done: int, total: int) -> None:
            if isinstance(screen, LoadingScreen):
                self.call_from_thread(screen.progress, stage, done, total)

        try:
            session = open_session(
                self.policy_path,
                self.data_path,
                self.wanted_period,
                as_of=self.as_of,
                progress=progress,
            )
        except SessionError as exc:
            self.call_from_thread(self.fail, exc.title, exc.text, EXIT_FINDINGS)
            return
        except Exception as exc:  # a bug: say so plainly, exit 2, like the rest of the CLI
            detail = traceback.format_exc() if os.environ.get("KPIRULES_DEBUG") else ""
            self.call_from_thread(
                self.fail,
                f"kpirules: internal error: {type(exc).__name__}: {exc}",
                "Please report this; set KPIRULES_DEBUG=1 for details.\n\n" + detail,
                EXIT_INTERNAL,
            )
            return
        self.call_from_thread(self.ready, session)

    def ready(self, session: Session) -> None:
        self.session = session
        self.title = f"kpirules · {session.policy.name}"
        self.period = session.initial_period
        self.switch_mode(self.start)

    def fail(self, title: str, text: str, code: int) -> None:
        self.exit_code = code
        self.title = "kpirules"
        self.push_screen(ErrorScreen(title, text))

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_SESSION and self.session is None:
            return False
        return not (action.endswith("_period") and len(self.session.periods) < 2)

    def action_show(self, mode: str) -> None:
        if self.current_mode == mode and len(self.screen_stack) == 1:
            return
        if self.current_mode != mode:
            self.history.append(self.current_mode)
            self.switch_mode(mode)
        else:  # the tab of the screen we are on, from a person: back to its list
            while len(self.screen_stack) > 1:
                self.pop_screen()

    def action_previous_period(self) -> None:
        self._step_period(-1)

    def action_next_period(self) -> None:
        self._step_period(1)

    def _step_period(self, step: int) -> None:
        periods = self.session.periods
        index = periods.index(self.period) + step
        if 0 <= index < len(periods):
            self.period = periods[index]
        else:
            self.bell()

    def action_back(self) -> None:
        go_back = getattr(self.screen, "go_back", None)
        if go_back is not None and go_back():
            return
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.history:
            self.switch_mode(self.history.pop())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.exit(return_code=self.exit_code)
