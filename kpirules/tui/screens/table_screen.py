"""A searchable, filterable, sortable list over a large frame (People, Actions)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from kpirules.tui.screens.base import ReviewScreen
from kpirules.tui.screens.filters import FilterField, FilterScreen
from kpirules.tui.table_view import TableView
from kpirules.tui.widgets.virtual_table import VirtualTable


class OpenTable(VirtualTable):
    """The list of a table screen: Enter opens the row, and the footer says so."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]


class TableScreen(ReviewScreen):
    """Subclasses say how to build the view for a period, which columns filter, and what
    opening a row does. Search, filters and sort survive a change of period."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("f", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("x", "clear", "Clear"),
    ]
    FILTERS: tuple[tuple[str, str], ...] = ()  # (column, label)
    SEARCH_HINT = "Search by name or id"
    NOUN = "rows"

    def __init__(self) -> None:
        super().__init__()
        self.view: TableView | None = None
        self.filters: dict[str, str] = {}
        self.query_text = ""
        self.sort: tuple[str | None, bool] = (None, False)

    def build_view(self, period: str) -> TableView:
        raise NotImplementedError

    def open_row(self, row: pd.Series) -> None:
        raise NotImplementedError

    def body(self) -> ComposeResult:
        with Vertical(classes="table-screen"):
            yield Input(placeholder=f"{self.SEARCH_HINT}  ( / )", id="search", compact=True)
            yield Static("", id="status", classes="status")
            yield OpenTable(id="table")
            # The cursor row's columns that the width left out: nothing is out of reach.
            yield Static("", id="detail", classes="detail")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    def show_period(self, period: str) -> None:
        """The period's rows, with the cursor on the same person as before (when they
        are in it), so what changed for them is in view."""
        was = self.table.current() if self.view is not None else None
        self.view = self.session.cached(
            (type(self).__name__, period), lambda: self.build_view(period)
        )
        self._apply()
        if was is not None:
            self.table.go_to(self._position_of(str(was["subject"])))

    def _position_of(self, subject: str) -> int:
        """The first view position of `subject`'s rows (0 when they are not shown)."""
        view = self.view
        found = np.flatnonzero(view.frame["subject"].to_numpy()[view.rows] == subject)
        return int(found[0]) if len(found) else 0

    # ------------------------------------------------------------ state → view

    def _apply(self, position: int = 0) -> None:
        view = self.view
        view.filters = dict(self.filters)
        view.query = self.query_text.strip().lower()
        view.sort_key, view.descending = self.sort
        view.refresh()
        self.table.show(view, position)
        self.table.set_sort_marker(*self.sort)

    def _status(self) -> None:
        view, table = self.view, self.table
        if view is None:
            return
        shown = len(view)
        parts = [f"[b]{shown:,}[/] of {view.total:,} {self.NOUN}"]
        if shown:
            first = table.top + 1
            parts.append(f"rows {first:,}–{table.top + table.shown:,}")
        labels = dict(self.FILTERS)
        for column, value in self.filters.items():
            parts.append(f"{labels.get(column, column)} [b]{value}[/]")
        if self.query_text.strip():
            parts.append(f"matching “{self.query_text.strip()}”")
        key, descending = self.sort
        if key:
            label = next((c.label for c in view.columns if c.key == key), key)
            parts.append(f"sorted by {label} {'▼' if descending else '▲'}")
        self.query_one("#status", Static).update(" · ".join(parts))

    @on(VirtualTable.Moved)
    def _moved(self) -> None:
        self._status()
        self._detail()

    def _detail(self) -> None:
        detail = self.query_one("#detail", Static)
        shown = self.table.hidden_values()
        detail.display = bool(shown)
        line = Text()
        for label, value in shown:
            line.append(" · " if line else "")
            line.append(f"{label} ", style="dim")
            line.append(value or "—")
        detail.update(line)

    # ------------------------------------------------------------ search

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._apply()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def go_back(self) -> bool:
        """Escape in the search box goes back to the table, not to another screen."""
        search = self.query_one("#search", Input)
        if search.has_focus:
            self.table.focus()
            return True
        return False

    # ------------------------------------------------------------ filters and sort

    def action_filter(self) -> None:
        fields = [
            FilterField(column, label, self.view.values(column)) for column, label in self.FILTERS
        ]

        def chosen(filters: dict[str, str] | None) -> None:
            if filters is not None:
                self.filters = filters
                self._apply()

        self.app.push_screen(FilterScreen(fields, self.filters), chosen)

    def action_clear(self) -> None:
        self.filters, self.query_text = {}, ""
        self.query_one("#search", Input).value = ""  # posts Changed, which re-applies
        self._apply()

    def action_sort(self) -> None:
        """Sort by the next column (after the last one: back to the original order),
        skipping any whose order is the one on screen already (the IDs, at first), so
        every press visibly reorders. Numbers sort best (highest) first, text from A."""
        view = self.view
        numeric = {c.key: c.numeric for c in view.columns}
        steps: list[str | None] = [c.key for c in view.columns] + [None]
        key, _ = self.sort
        start = steps.index(key) + 1 if key in steps else 0
        shown = np.zeros(view.total, dtype=bool)
        shown[view.rows] = True
        chosen = steps[start % len(steps)]
        for offset in range(len(steps) - 1):
            candidate = steps[(start + offset) % len(steps)]
            order = view.order_of(candidate, numeric.get(candidate, False))
            if not np.array_equal(order[shown[order]], view.rows):
                chosen = candidate
                break
        self.sort = (chosen, numeric.get(chosen, False))
        self._apply()

    def action_reverse(self) -> None:
        key, descending = self.sort
        if key is not None:
            self.sort = (key, not descending)
            self._apply(self.table.position)

    @on(DataTable.HeaderSelected, "#table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by it; again, reverses. If its usual direction is
        the order on screen already (the IDs, at first), the first click reverses."""
        key = str(event.column_key.value)
        current, descending = self.sort
        view = self.view
        if current == key:
            self.sort = (key, not descending)
        else:
            usual = next((c.numeric for c in view.columns if c.key == key), False)
            order = view.order_of(key, usual)
            shown = np.zeros(view.total, dtype=bool)
            shown[view.rows] = True
            same = np.array_equal(order[shown[order]], view.rows)
            self.sort = (key, not usual if same else usual)
        self._apply()

    @on(DataTable.RowSelected, "#table")
    def _open(self) -> None:
        row = self.table.current()
        if row is not None:
            self.open_row(row)
