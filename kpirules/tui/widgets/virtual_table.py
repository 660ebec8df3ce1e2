"""A DataTable that shows a window of a `TableView`: only the rows that fit on screen.

Moving past the first or last visible row slides the window and refills it, so the table
scrolls through 100,000 rows while holding a screenful. Row numbers, the cursor and the
mouse wheel all work on the whole view.
"""

from __future__ import annotations

import pandas as pd
from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable

from kpirules.tui.layout import fit
from kpirules.tui.table_view import TableView

WHEEL_ROWS = 3


class VirtualTable(DataTable):
    class Moved(Message):
        """The window or the cursor moved: for a "rows 21–40 of 100,000" status line."""

        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.view: TableView | None = None
        self.top = 0  # the view position of the first row shown
        self._columns_of: TableView | None = None
        self._fitted_to = 0  # the width the columns were fitted to
        self.hidden: tuple[str, ...] = ()  # columns left out for want of width
        self._sort_marker: tuple[str | None, bool] = (None, False)

    # ------------------------------------------------------------ public

    def show(self, view: TableView, position: int = 0) -> None:
        """Show `view` (after it changed: filters, search, sort) from `position`."""
        if self._columns_of is not view:
            self._set_columns(view)
        self.view = view
        self.top = 0
        self.go_to(position, force=True)

    @property
    def position(self) -> int:
        """The cursor's row in the whole view."""
        return self.top + self.cursor_row

    @property
    def shown(self) -> int:
        return self.row_count

    def hidden_values(self) -> list[tuple[str, str]]:
        """(label, value) of what the width keeps from view in the row under the cursor:
        values shortened with … (whole here), then the columns left out."""
        row = self.current()
        if row is None:
            return []
        widths = {str(key.value): column.width for key, column in self.columns.items()}
        out = []
        for column in self.view.columns:
            text = self._cell(column, row[column.key]).plain
            if column.key in widths and cell_len(text) > widths[column.key]:
                out.append((column.label, text))
        hidden = sorted(
            (c for c in self.view.columns if c.key in self.hidden), key=lambda c: c.rank
        )
        return out + [(c.label, self._cell(c, row[c.key]).plain) for c in hidden]

    def current(self) -> pd.Series | None:
        """The frame row under the cursor."""
        return self.view.row(self.position) if self.view is not None and self.row_count else None

    def go_to(self, position: int, force: bool = False) -> None:
        if self.view is None:
            return
        total, page = len(self.view), self.page
        position = max(0, min(position, total - 1))
        top = self.top
        if position < top:
            top = position
        elif position >= top + page:
            top = position - page + 1
        top = max(0, min(top, max(0, total - page)))
        if force or top != self.top or self.row_count != min(page, total - top):
            self.top = top
            self._fill(position - top)
        else:
            self.move_cursor(row=position - top, scroll=False)
            self.post_message(self.Moved(self))

    @property
    def page(self) -> int:
        """Rows that fit: the height below the header (a screenful before layout)."""
        # The whole height, not the region a scrollbar leaves: a window never overflows,
        # and a scrollbar shown before the columns were fitted must not shorten it.
        height = self.size.height - self.styles.gutter.height
        if height <= 0:
            return 40
        return max(1, height - (self.header_height if self.show_header else 0))

    # ------------------------------------------------------------ filling

    def _available(self) -> int:
        """Cells for the columns; before the first layout, room for all of them."""
        # The whole width, not the region left by a scrollbar: fitted, the columns never
        # need one, and a scrollbar shown while they were too wide must not narrow them.
        width = self.size.width - self.styles.gutter.width
        return width if width > 0 else 10_000

    def _set_columns(self, view: TableView) -> None:
        self.clear(columns=True)
        self._fitted_to = self._available()
        fitted = fit(view.wants(), self._fitted_to, self.cell_padding)
        self.hidden = fitted.hidden
        for column in view.columns:
            if column.key in fitted.widths:
                label = Text(column.label, justify="right" if column.numeric else "left")
                self.add_column(label, width=fitted.widths[column.key], key=column.key)
        self._columns_of = view

    def set_sort_marker(self, key: str | None, descending: bool) -> None:
        """An arrow on the sorted column's header."""
        self._sort_marker = (key, descending)
        if self.view is None:
            return
        for column in self.view.columns:
            arrow = ("▼" if descending else "▲") if column.key == key else ""
            label = column.label + arrow
            table_column = self.columns.get(column.key)  # type: ignore[call-overload]
            if table_column is not None:
                table_column.label = Text(label, justify="right" if column.numeric else "left")
        self._clear_caches()
        self.refresh()

    def _fill(self, cursor_row: int) -> None:
        view = self.view
        scroll_x = self.scroll_x
        self.clear()
        window = view.window(self.top, self.page)
        rows = []
        for record in window.itertuples(index=False):  # one screenful, not the population
            values = dict(zip(window.columns, record))
            rows.append(
                [self._cell(c, values[c.key]) for c in view.columns if c.key not in self.hidden]
            )
        self.add_rows(rows)
        if rows:
            self.move_cursor(row=max(0, min(cursor_row, len(rows) - 1)), scroll=False)
        self.scroll_x = scroll_x
        self.post_message(self.Moved(self))

    @staticmethod
    def _cell(column, value) -> Text:
        shown = "" if value is None or value is pd.NA else column.fmt(value)
        if shown in ("nan", "None", "<NA>"):
            shown = ""
        return Text(
            shown, justify="right" if column.numeric else "left", no_wrap=True, overflow="ellipsis"
        )

    # ------------------------------------------------------------ moving

    def action_cursor_down(self) -> None:
        self.go_to(self.position + 1)

    def action_cursor_up(self) -> None:
        self.go_to(self.position - 1)

    def action_page_down(self) -> None:
        self._scroll_window(self.page)

    def action_page_up(self) -> None:
        self._scroll_window(-self.page)

    def action_scroll_top(self) -> None:
        self.go_to(0)

    def action_scroll_bottom(self) -> None:
        self.go_to(len(self.view) - 1 if self.view is not None else 0)

    def _scroll_window(self, rows: int) -> None:
        """Move the window and the cursor together, keeping the cursor's screen row."""
        if self.view is None:
            return
        total, page = len(self.view), self.page
        cursor = self.cursor_row
        top = max(0, min(self.top + rows, max(0, total - page)))
        if top == self.top:  # at an end: move the cursor to it instead
            self.go_to(self.position + rows)
            return
        self.top = top
        self._fill(min(cursor, total - top - 1))

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.prevent_default()
        event.stop()
        self._scroll_window(WHEEL_ROWS)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.prevent_default()
        event.stop()
        self._scroll_window(-WHEEL_ROWS)

    def _on_resize(self, event: events.Resize) -> None:
        if self.view is not None:
            if self._available() != self._fitted_to:  # columns follow the width
                sort = self._sort_marker
                self._set_columns(self.view)
                self.set_sort_marker(*sort)
            self.go_to(self.position, force=True)
