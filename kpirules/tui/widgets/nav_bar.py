"""The line under the header: the screens as clickable tabs, and the period switcher."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

SCREENS = (("overview", "1", "Overview"), ("cascade", "2", "Cascade"), ("people", "3", "People"))
SCREENS += (("actions", "4", "Actions"),)


class NavBar(Horizontal):
    """`1 Overview  2 Cascade  3 People  4 Actions` … `◀ 2026-Q3 ▶`; every part clickable."""

    def __init__(self, active: str) -> None:
        super().__init__(classes="nav-bar")
        self.active = active

    def compose(self) -> ComposeResult:
        tabs = []
        for mode, key, label in SCREENS:
            if mode == self.active:
                tabs.append(f"[b reverse] {key} {label} [/]")
            else:
                tabs.append(f"[@click=app.show('{mode}')] [dim]{key}[/] {label} [/]")
        yield Static(" ".join(tabs), id="nav-tabs")
        yield Static("", id="nav-period")

    def show_period(self, period: str, periods: list[str]) -> None:
        """`◀ 2026-Q3 ▶` with arrows that switch; nothing to switch with one period."""
        if len(periods) < 2:
            text = f" {period} "
        else:
            index = periods.index(period) if period in periods else 0
            back = "[@click=app.previous_period]◀[/]" if index > 0 else "[dim]◀[/]"
            forward = "[@click=app.next_period]▶[/]" if index < len(periods) - 1 else "[dim]▶[/]"
            text = f"{back} [b]{period}[/] {forward} [dim]{index + 1}/{len(periods)}[/] "
        self.query_one("#nav-period", Static).update(text)
