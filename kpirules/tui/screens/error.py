"""A bad policy or bad data: the diagnostics, in full, instead of a traceback."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static


class ErrorScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,escape", "app.quit", "Quit")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label(Text(self.title_text, style="bold"), id="error-title")
        with VerticalScroll(id="error-body"):
            # Text, not markup: diagnostics quote policy text, brackets and all.
            yield Static(Text(self.text), id="error-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#error-body").focus()
