"""Filter, search, sort and window a large frame, vectorised.

The TUI never puts 100,000 rows into a widget: a `TableView` keeps the frame, answers
"which rows, in which order" with numpy (boolean masks, a cached sort order per column,
a vectorised substring search) and hands out one window of rows at a time for the table
on screen to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rich.cells import cell_len

from kpirules.tui.layout import Want


@dataclass(frozen=True)
class Column:
    key: str  # the frame's column
    label: str
    numeric: bool = False
    fmt: Callable[[Any], str] = str  # how a value is shown
    # When the screen is too narrow for every column at its widest (`kpirules.tui.layout`):
    shrink_to: int | None = None  # a text column may shorten to this many cells
    rank: int = 0  # importance: the highest rank is left out first


class TableView:
    """Rows of `frame` that pass the filters and the search, in the chosen order."""

    def __init__(self, frame: pd.DataFrame, columns: list[Column], search: list[str] = ()):
        self.frame = frame.reset_index(drop=True)
        self.columns = columns
        self.filters: dict[str, str] = {}
        self.query = ""
        self.sort_key: str | None = None
        self.descending = False
        self._codes: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._orders: dict[tuple[str, bool], np.ndarray] = {}
        # One lower-cased text per row ("E1001 zhu ming"), searched with a plain substring
        # test: no regular expression from user input, and one vectorised pass.
        if search:
            text = self.frame[search[0]].astype("string").fillna("")
            for column in search[1:]:
                text = text + " " + self.frame[column].astype("string").fillna("")
            self._haystack = text.str.lower()
        else:
            self._haystack = None
        self.rows = np.arange(len(self.frame))
        self._widths: dict[str, int] | None = None

    # ------------------------------------------------------------ state

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> int:
        return len(self.frame)

    def set_filter(self, column: str, value: str | None) -> None:
        if value in (None, ""):
            self.filters.pop(column, None)
        else:
            self.filters[column] = value
        self.refresh()

    def set_filters(self, filters: dict[str, str | None]) -> None:
        self.filters = {k: v for k, v in filters.items() if v not in (None, "")}
        self.refresh()

    def set_query(self, query: str) -> None:
        self.query = query.strip().lower()
        self.refresh()

    def sort_by(self, key: str | None, descending: bool = False) -> None:
        self.sort_key, self.descending = key, descending
        self.refresh()

    def refresh(self) -> None:
        """Recompute the visible rows: one mask, one pass over the cached order."""
        mask = np.ones(len(self.frame), dtype=bool)
        for column, value in self.filters.items():
            codes, uniques = self._factorized(column)
            found = uniques.get_indexer([value])[0]
            mask &= codes == found if found >= 0 else False
        if self.query and self._haystack is not None:
            mask &= self._haystack.str.contains(self.query, regex=False).to_numpy(
                dtype=bool, na_value=False
            )
        order = self._order()
        self.rows = order[mask[order]]

    # ------------------------------------------------------------ reading

    def window(self, start: int, count: int) -> pd.DataFrame:
        """Rows start … start + count - 1 of the view, in view order."""
        return self.frame.iloc[self.rows[start : start + count]]

    def row(self, position: int) -> pd.Series | None:
        if not 0 <= position < len(self.rows):
            return None
        return self.frame.iloc[self.rows[position]]

    def values(self, column: str) -> list[str]:
        """The distinct values of a column, sorted: the choices of its filter."""
        _, uniques = self._factorized(column)
        return sorted(str(u) for u in uniques)

    def widths(self) -> dict[str, int]:
        """Each column's natural width in cells: its widest value or its label (with
        room for the sort arrow). Two cells a CJK character (`rich.cells.cell_len`),
        measured once per distinct non-ASCII text: vectorised for the ASCII rest."""
        if self._widths is None:
            self._widths = {}
            for column in self.columns:
                values = self.frame[column.key]
                if column.numeric:
                    present = values.dropna()
                    shown = (
                        [column.fmt(v) for v in (present.min(), present.max())]
                        if len(present)
                        else []
                    )
                    widest_value = max((cell_len(s) for s in shown), default=1)
                else:
                    text = values.astype("string").fillna("")
                    ascii_ = text.str.isascii().to_numpy(dtype=bool, na_value=True)
                    widest_value = int(text[ascii_].str.len().max()) if ascii_.any() else 1
                    if not ascii_.all():
                        wide = text[~ascii_].unique()
                        widest_value = max(widest_value, max(cell_len(str(t)) for t in wide))
                label = cell_len(column.label) + 1  # room for the sort arrow
                self._widths[column.key] = max(1, widest_value, label)
        return self._widths

    def wants(self) -> list[Want]:
        """What each column asks of `layout.fit`."""
        widths = self.widths()
        return [
            Want(
                c.key,
                widths[c.key],
                None if c.shrink_to is None else min(c.shrink_to, widths[c.key]),
                c.rank,
            )
            for c in self.columns
        ]

    # ------------------------------------------------------------ caches

    def _factorized(self, column: str) -> tuple[np.ndarray, pd.Index]:
        if column not in self._codes:
            codes, uniques = pd.factorize(self.frame[column].astype("string"), sort=False)
            self._codes[column] = (codes, pd.Index(uniques.astype(object)))
        return self._codes[column]

    def _order(self) -> np.ndarray:
        return self.order_of(self.sort_key, self.descending)

    def order_of(self, key: str | None, descending: bool = False) -> np.ndarray:
        """Frame rows in the order of `key` (None: the frame's own), cached per column."""
        if key is None:
            return np.arange(len(self.frame))
        cache = (key, descending)
        if cache not in self._orders:
            values = self.frame[key]
            # Stable, missing values last whichever the direction.
            self._orders[cache] = values.sort_values(
                ascending=not descending, kind="stable", na_position="last"
            ).index.to_numpy()
        return self._orders[cache]
