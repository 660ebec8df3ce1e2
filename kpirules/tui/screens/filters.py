"""The filter dialog: one choice per column; a long list (managers) becomes a text box
with completion instead of a menu of thousands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

MENU_LIMIT = 200  # above this many values, type instead of scrolling a menu


@dataclass(frozen=True)
class FilterField:
    column: str
    label: str
    values: list[str]


class FilterScreen(ModalScreen[dict[str, str] | None]):
    """Returns the chosen filters (column → value), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Before the focused widget sees it: Enter on a closed menu applies rather than
        # opening the menu again (an open menu and the buttons keep their Enter).
        Binding("enter", "submit", "Apply", priority=True, show=False),
        Binding("ctrl+s", "apply", "Apply"),
        Binding("ctrl+r", "reset", "Clear all"),
    ]

    def __init__(self, fields: list[FilterField], current: dict[str, str]) -> None:
        super().__init__()
        self.fields = fields
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-dialog", classes="dialog"):
            yield Label("[b]Filter[/]")
            # Its own line, wrapping: the whole hint in a 70-column dialog.
            yield Static(
                "[dim]Enter applies · Space opens a menu · Ctrl+R clears all · Esc cancels[/]",
                id="filter-hint",
            )
            for field in self.fields:
                with Horizontal(classes="filter-row"):
                    yield Label(field.label, classes="filter-label")
                    value = self.current.get(field.column)
                    if len(field.values) <= MENU_LIMIT:
                        yield Select(
                            [(v, v) for v in field.values],
                            prompt=f"any {field.label.lower()}",
                            value=value if value in field.values else Select.NULL,
                            id=f"filter-{field.column}",
                            compact=True,
                        )
                    else:
                        yield Input(
                            value=value or "",
                            placeholder=f"any {field.label.lower()} (type to complete)",
                            suggester=SuggestFromList(field.values, case_sensitive=False),
                            id=f"filter-{field.column}",
                            compact=True,
                        )
            yield Label("", id="filter-problem")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all", id="reset")
                yield Button("Cancel", id="cancel")

    def _chosen(self) -> dict[str, str] | None:
        chosen: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#filter-{field.column}")
            if isinstance(widget, Select):
                if widget.value is not Select.NULL:
                    chosen[field.column] = str(widget.value)
                continue
            typed = widget.value.strip()
            if not typed:
                continue
            match = next((v for v in field.values if v.lower() == typed.lower()), None)
            if match is None:  # a unique partial match is what people mean
                partial = [v for v in field.values if typed.lower() in v.lower()]
                match = partial[0] if len(partial) == 1 else None
            if match is None:
                self.query_one("#filter-problem", Label).update(
                    f"[red]no single {field.label.lower()} matches “{typed}”[/]"
                )
                widget.focus()
                return None
            chosen[field.column] = match
        return chosen

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit" and self.focused is not None:
            menu_open = any(select.expanded for select in self.query(Select))
            if menu_open or isinstance(self.focused, Button):
                return False  # Enter picks the menu's choice, or presses the button
        return True

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def action_apply(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self.dismiss(chosen)

    def action_submit(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#reset")
    def action_reset(self) -> None:
        self.dismiss({})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
