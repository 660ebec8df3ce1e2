"""A small DataTable (one person's rows) whose columns fit the width it has.

The rows are kept as text; on every resize the columns are fitted again
(`kpirules.tui.layout.fit`): whole when they fit, the least important left out when
they do not — `hidden_values()` gives those for the row under the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from kpirules.tui.layout import Want, fit


@dataclass(frozen=True)
class FitColumn:
    key: str
    label: str
    right: bool = False  # numbers: right-aligned
    shrink_to: int | None = None  # a text column may shorten to this many cells
    rank: int = 0  # importance: the highest rank is left out first
    yields_to: int = 1_000  # shortens only to make room for columns up to this rank


class FitTable(DataTable):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Explain")]

    class Fitted(Message):
        """The columns were fitted again (which are hidden may have changed)."""

        def __init__(self, table: FitTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> FitTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.fit_columns: list[FitColumn] = []
        self.fit_rows: list[tuple[str, dict[str, Text]]] = []  # (row key, cells by column)
        self.hidden: tuple[str, ...] = ()
        self._fitted_to = -1

    def set_content(
        self, columns: list[FitColumn], rows: list[tuple[str, dict[str, Text]]]
    ) -> None:
        self.fit_columns, self.fit_rows = columns, rows
        self._fit(force=True)

    def hidden_values(self, row: int | None = None) -> list[tuple[str, Text]]:
        """(label, cell) of what the width keeps from view in `row` (the cursor's):
        cells shortened with … (whole here), then the columns left out, the most
        important first."""
        if not self.fit_rows:
            return []
        row = self.cursor_row if row is None else row
        _, cells = self.fit_rows[min(max(row, 0), len(self.fit_rows) - 1)]
        widths = {str(key.value): column.width for key, column in self.columns.items()}
        cut = [
            (c.label, cells[c.key])
            for c in self.fit_columns
            if c.key in widths and cells[c.key].cell_len > widths[c.key]
        ]
        hidden = sorted((c for c in self.fit_columns if c.key in self.hidden), key=lambda c: c.rank)
        return cut + [(c.label, cells[c.key]) for c in hidden]

    def _available(self) -> int:
        # The whole width, not the region left by a scrollbar: fitted, the columns never
        # need one, and a scrollbar shown while they were too wide must not narrow them.
        width = self.size.width - self.styles.gutter.width
        return width if width > 0 else 10_000  # before the first layout: room for all

    def _fit(self, force: bool = False) -> None:
        width = self._available()
        if not self.fit_columns or (width == self._fitted_to and not force):
            return
        self._fitted_to = width
        wants = []
        for column in self.fit_columns:
            natural = max(
                [
                    Text(column.label).cell_len,
                    *(cells[column.key].cell_len for _, cells in self.fit_rows),
                ]
            )
            shrink = None if column.shrink_to is None else min(column.shrink_to, natural)
            wants.append(Want(column.key, natural, shrink, column.rank, column.yields_to))
        fitted = fit(wants, width, self.cell_padding)
        cursor = self.cursor_row
        self.clear(columns=True)
        for column in self.fit_columns:
            if column.key in fitted.widths:
                label = Text(column.label, justify="right" if column.right else "left")
                self.add_column(label, width=fitted.widths[column.key], key=column.key)
        for key, cells in self.fit_rows:
            self.add_row(*(cells[k] for k in fitted.widths), key=key)
        self.hidden = fitted.hidden
        # A known Textual edge: an auto-height table in an auto-height scroll can keep the
        # height it had while empty. Rows and the header are one line each.
        self.styles.height = len(self.fit_rows) + (1 if self.show_header else 0)
        if self.fit_rows:
            self.move_cursor(row=min(max(cursor, 0), len(self.fit_rows) - 1), scroll=False)
        self.post_message(self.Fitted(self))

    def _on_resize(self, event: events.Resize) -> None:
        super()._on_resize(event)
        # After the refresh: a parent's scrollbar that comes or goes changes the region
        # without a second resize of this table.
        self.call_after_refresh(self._fit)
