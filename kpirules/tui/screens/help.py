"""The keys, per screen."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Everywhere", ""),
    ("1  2  3  4", "Overview, Cascade, People, Actions (or o c p a; or click the tabs)"),
    ("[  ]", "previous / next period (or click ◀ ▶)"),
    ("Esc", "back: close a dialog, leave a person, return to the previous screen"),
    ("?", "this help"),
    ("q", "quit"),
    ("People and Actions", ""),
    ("/", "search by name or id (as you type); Enter or Esc returns to the table"),
    ("f", "filter (department, role, rating, manager; owner, kind); Enter applies"),
    ("s  r", "sort by the next column that reorders / reverse; or click a column header"),
    ("x", "clear the search and the filters"),
    ("↑ ↓  PgUp PgDn  Ctrl+Home Ctrl+End", "move through every row"),
    ("Enter", "open the person"),
    ("Person", ""),
    ("Enter", "explain the indicator, total, payout or action under the cursor"),
    ("e", "explain everything (with why-not for actions that did not fire)"),
    ("Tab", "switch between the indicator and outcome tables"),
    ("Cascade", ""),
    ("↑ ↓  ← →  Enter", "move, fold and unfold; an indicator shows its spread"),
    ("Explanation", ""),
    ("Enter  Space", "open or close a step"),
    ("e  c", "expand / collapse all"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, meaning in KEYS:
            if meaning:
                table.add_row(key, meaning)
            else:
                table.add_row("", "")
                table.add_row(f"[b underline]{key}[/]", "")
        with VerticalScroll(id="help-dialog", classes="dialog") as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc closes"
            yield Static(table)
